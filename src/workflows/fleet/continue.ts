// Continue-as-new between gateway batches: each batch adds some twenty events to the parent's history, so a
// fleet of hundreds of gateways in small batches would grow it without end. Past the plan's limit the run hands
// its whole state to a new run of the same workflow id (status, report, gates and the Web UI follow the id), at
// a safe point between batches. Deterministic workflow code.
import { allHandlersFinished, ContinueAsNew, condition, makeContinueAsNewFunc, patched, workflowInfo } from '@temporalio/workflow';
import type { upgradeFleet } from '../fleet';
import type { FleetRun } from './run';

export const DEFAULT_MAX_HISTORY_EVENTS = 1000;

/**
 * Whether this run should hand over before the next batch: its history is past the plan's limit (or the server
 * suggests it). Runs recorded before 0.4 never continue as new (their replay says so through the patch).
 */
export function timeToContinue(run: FleetRun): boolean {
  const info = workflowInfo();
  const long = info.historyLength >= (run.input.maxHistoryEvents ?? DEFAULT_MAX_HISTORY_EVENTS) || info.continueAsNewSuggested;
  return long && patched('continue-as-new');
}

/** Hand the upgrade to a new run that starts with gateway batch `nextBatch`; never returns. */
export async function continueUpgrade(run: FleetRun, nextBatch: number): Promise<never> {
  // A notification in flight would be abandoned with this run: let it land first.
  await run.notifier.notificationsSent();
  await condition(allHandlersFinished);
  const info = workflowInfo();
  const next = makeContinueAsNewFunc<typeof upgradeFleet>({ memo: info.memo, typedSearchAttributes: info.typedSearchAttributes });
  return next({ ...run.input, continued: run.carry(nextBatch) });
}

/** The error continueAsNew ends a run with: not a failure, so nothing may roll back for it. */
export function isContinueAsNew(err: unknown): boolean {
  return err instanceof ContinueAsNew;
}
