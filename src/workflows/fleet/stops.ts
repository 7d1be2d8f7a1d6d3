// How a run stops early on purpose, and the safe points where it may. Deterministic workflow code.
import { CancelledFailure, CancellationScope, condition } from '@temporalio/workflow';
import type { Outcome } from '../../shared/types';
import type { FleetRun } from './run';

/** Ends the run early on purpose: a reject, a timed-out gate, a cancel; with rollback when a person asked for it. */
export class Abort extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
    readonly rollback = false,
  ) {
    super(message);
  }
}

/** Too many instances failed, and the plan (or a person) says roll back. */
export class FleetFailure extends Error {}

/** `cancel --rollback` was asked: stop here and roll back everything this run changed. */
export function abortIfAsked(run: FleetRun): void {
  const a = run.status.abort;
  if (a) throw new Abort('cancelled', `cancelled by ${a.by ?? 'unknown'}${a.reason ? `: ${a.reason}` : ''}; everything this run changed is rolled back`, true);
}

/** Between batches is where a cancel may stop the run: never while one is half replaced. */
export function safePoint(run: FleetRun): void {
  abortIfAsked(run);
  if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled by request');
}

/** Wait until `done`, or `timeoutMs` when there is one: true when done, false when the time ran out. */
export async function waitUntil(done: () => boolean, timeoutMs: number | undefined): Promise<boolean> {
  if (timeoutMs) return condition(done, timeoutMs);
  await condition(done);
  return true;
}
