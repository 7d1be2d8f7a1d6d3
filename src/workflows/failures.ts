// What a failure says to a person: its innermost message, and a host without a worker named as such.
// Deterministic: workflow code only.
import { ActivityFailure, ApplicationFailure, TimeoutFailure, TimeoutType } from '@temporalio/common';
import { ErrorType } from '../shared/errors';
import { FIRST_CONTACT_MS } from './activity-options';
import { queueFor } from './routing';

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
