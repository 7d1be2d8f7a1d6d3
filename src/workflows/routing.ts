// Where each activity runs and how it retries. An activity that touches a host's containers, files or Redis runs
// on that host's own task queue, so only the worker on that host ever talks to its Docker engine; a plan without
// hosts keeps today's single-host behaviour (the workflow's own queue). Deterministic: workflow code only.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, TimeoutType, type RetryPolicy } from '@temporalio/common';
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { ErrorType, NON_RETRYABLE } from '../shared/errors';
import { hostTaskQueue } from '../shared/names';

export const retry = (maximumAttempts: number): RetryPolicy => ({
  maximumAttempts,
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  nonRetryableErrorTypes: NON_RETRYABLE,
});

// Heartbeats let a dead worker be noticed in seconds rather than at the start-to-close timeout.
export const SHORT: ActivityOptions = { startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry: retry(5) };
export const PULL: ActivityOptions = { startToCloseTimeout: '30m', heartbeatTimeout: '10s', retry: retry(4) };
export const DOCKER_CHANGE: ActivityOptions = { startToCloseTimeout: '10m', heartbeatTimeout: '10s', retry: retry(10) };
/**
 * Notifications run on the workflow's own queue (in a fleet, every host's worker serves it). The activity
 * retries each webhook itself within its deadline; these attempts only cover a worker that died mid-send. A
 * queue where no worker takes it (an old worker) costs a warning after a minute, never a run that cannot end.
 */
export const NOTIFY: ActivityOptions = { scheduleToStartTimeout: '1m', startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry: retry(3) };
/**
 * The first call to a host: when no worker takes it within this time, the host has no worker polling, and the
 * run stops before anything changed rather than waiting for one forever.
 */
export const FIRST_CONTACT_MS = 30_000;

export function queueFor(host: string | undefined): string {
  return host ? hostTaskQueue(host) : workflowInfo().taskQueue;
}

/** Activities on the worker of `host` (or of this workflow when the plan has no hosts). */
export function on(host: string | undefined, options: ActivityOptions, summary?: string): Activities {
  return proxyActivities<Activities>({ ...options, taskQueue: queueFor(host), ...(summary ? { summary } : {}) });
}

/** The same, for a first contact: a host with no worker polling fails fast with its name. */
export function firstContact(host: string | undefined, options: ActivityOptions, summary?: string): Activities {
  return on(host, { ...options, scheduleToStartTimeout: FIRST_CONTACT_MS }, summary);
}

/** A schedule-to-start timeout means nobody polls the queue: say which host and how to fix it. */
export function explainNoWorker(err: unknown, host: string | undefined): unknown {
  if (err instanceof ActivityFailure && err.cause instanceof TimeoutFailure && err.cause.timeoutType === TimeoutType.SCHEDULE_TO_START) {
    const queue = queueFor(host);
    return ApplicationFailure.create({
      type: ErrorType.NoWorker,
      nonRetryable: true,
      message: host
        ? `no worker polls host "${host}" (task queue ${queue}) within ${FIRST_CONTACT_MS / 1000} s; start \`tyk-upgrade worker --host ${host}\` on that machine`
        : `no worker with Docker access polls task queue ${queue} within ${FIRST_CONTACT_MS / 1000} s; start \`tyk-upgrade worker\` (or \`tyk-upgrade dev\`) where the containers run`,
    });
  }
  return err;
}

/** The innermost message of a failure chain (ActivityFailure → ApplicationFailure → ...). */
export function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}

/** The type of the ApplicationFailure inside a failure chain, if there is one. */
export function failureType(err: unknown): string | undefined {
  let e: unknown = err;
  while (e instanceof Error) {
    if (e instanceof ApplicationFailure) return e.type ?? undefined;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}

/** Group items by host, keeping the order in which hosts first appear. */
export function byHost<T extends { host?: string }>(items: T[]): [string | undefined, T[]][] {
  const groups = new Map<string | undefined, T[]>();
  for (const i of items) groups.set(i.host, [...(groups.get(i.host) ?? []), i]);
  return [...groups];
}
