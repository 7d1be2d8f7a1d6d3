// Where each activity runs. An activity that touches a host's containers, files or Redis runs on that host's own
// task queue, so only the worker on that host ever talks to its Docker engine; a plan without hosts keeps the
// single-host behaviour (the workflow's own queue). How each retries: ./activity-options.ts. Deterministic.
import { proxyActivities, workflowInfo, type ActivityOptions } from '@temporalio/workflow';
import type { Activities } from '../activities';
import { hostTaskQueue } from '../shared/names';
import { FIRST_CONTACT_MS } from './activity-options';

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

/** Group items by host, keeping the order in which hosts first appear. */
export function byHost<T extends { host?: string }>(items: T[]): [string | undefined, T[]][] {
  const groups = new Map<string | undefined, T[]>();
  for (const i of items) groups.set(i.host, [...(groups.get(i.host) ?? []), i]);
  return [...groups];
}
