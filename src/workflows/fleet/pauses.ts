// The failure budget and the pause: past the plan's budget the run rolls everything back, or (onFailure: pause)
// waits for a person to retry the failed instances, continue without them, or roll back. The validator and the
// applier are plain functions of the status (test/gate-rules.test.ts). Deterministic workflow code.
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorType } from '../../shared/errors';
import { PAUSE_CHOICES, type BatchStatus, type PauseChoice, type PauseDecision, type PauseStatus, type UpgradeStatus } from '../../shared/types';
import { runBatch } from './batches';
import { now, type FleetRun } from './run';
import { abortIfAsked, FleetFailure, waitUntil } from './stops';
import { awaitWindow } from './windows';

/** A pause decision is only taken while the run is paused, and `retry` only when instances failed. */
export function validatePauseDecision(status: UpgradeStatus, d: PauseDecision | undefined): void {
  if (!d || !(PAUSE_CHOICES as readonly string[]).includes(d.choice)) {
    throw ApplicationFailure.nonRetryable(
      `${d?.choice === undefined ? 'no "choice" given' : `unknown choice "${d.choice}"`}; choose ${PAUSE_CHOICES.join(', ')}`,
      ErrorType.InvalidChoice,
    );
  }
  if (status.pause?.state !== 'waiting') {
    throw ApplicationFailure.nonRetryable(`the upgrade is not paused (stage "${status.stage}", outcome ${status.outcome})`, ErrorType.NotPaused);
  }
  if (status.pause.kind === 'window' && d.choice === 'retry') {
    throw ApplicationFailure.nonRetryable(
      `the upgrade waits for its maintenance window (the next opens at ${status.pause.opensAt ?? 'no known time'}), not on failed instances: choose continue (go on now, outside the window) or rollback`,
      ErrorType.InvalidChoice,
    );
  }
}

/** Whether a Signal's decision may be taken (a Signal cannot be refused: anything else is ignored). */
export function pauseDecisionFits(status: UpgradeStatus, d: PauseDecision | undefined): d is PauseDecision {
  return !!d && status.pause?.state === 'waiting' && (PAUSE_CHOICES as readonly string[]).includes(d.choice);
}

export function applyPauseDecision(status: UpgradeStatus, d: PauseDecision): PauseStatus {
  const p = status.pause as PauseStatus;
  p.state = 'decided';
  p.choice = d.choice;
  p.by = d.by || 'unknown';
  p.at = now();
  if (d.comment) p.comment = d.comment;
  return { ...p };
}

/** Over the budget: roll back (FleetFailure) or, when the plan says pause, ask a person. Returns when it may go on. */
export async function withinBudget(run: FleetRun): Promise<void> {
  const { input, status } = run;
  let retries = 0;
  while (run.failedKeys().length > status.failures.budget + run.accepted) {
    const failed = run.failedKeys();
    const reason = `${failed.length} instance${failed.length === 1 ? '' : 's'} failed (budget ${status.failures.budget}): ${failed.map((k) => `${k}: ${run.statusOf(k).detail ?? run.statusOf(k).state}`).join('; ')}`;
    if (input.onFailure !== 'pause') throw new FleetFailure(reason);
    const choice = await pause(run, reason, failed);
    if (choice === 'rollback') throw new FleetFailure(`${status.pause?.by} chose to roll back: ${reason}`);
    if (choice === 'continue') {
      run.accepted = failed.length - status.failures.budget;
      status.errors.push(`warning: ${status.pause?.by} chose to continue without ${failed.join(', ')} (back on the old version)`);
      return;
    }
    retries += 1;
    const name = `retry-${run.pauses}`;
    const again = failed.filter((k) => run.statusOf(k).state === 'rolled-back');
    const batch: BatchStatus = { name, instances: again, state: 'pending' };
    status.batches.push(batch);
    await awaitWindow(run);
    await runBatch(run, name, again, batch);
    if (retries > 100) throw new FleetFailure(`gave up after ${retries} retries: ${reason}`);
  }
}

/** Wait for a person's choice; a pause left undecided past the plan's pauseTimeout rolls back (never proceeds by itself). */
async function pause(run: FleetRun, reason: string, failed: string[]): Promise<PauseChoice> {
  const { input, status } = run;
  run.pauses += 1;
  status.pause = { number: run.pauses, state: 'waiting', since: now(), reason, failed };
  run.setStage('paused');
  run.publish();
  run.notifier.notify('upgrade.paused', `Upgrade of ${input.stack} paused: ${reason}`, { pause: { ...status.pause } });
  const p = status.pause;
  const settled = () => p.state !== 'waiting' || !!status.abort;
  const decided = await waitUntil(settled, input.pauseTimeoutMs);
  abortIfAsked(run);
  run.setStage(status.stage);
  if (!decided) {
    p.state = 'timed-out';
    p.at = now();
    run.publish();
    throw new FleetFailure(`the pause was not resolved within ${(input.pauseTimeoutMs as number) / 1000} s, so everything is rolled back: ${reason}`);
  }
  return p.choice as PauseChoice;
}
