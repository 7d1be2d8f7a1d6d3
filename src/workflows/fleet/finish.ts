// How a run ends: succeeded, partial (some instances back on their old version), or a failure, a person's stop or
// a cancel, with the rollback of everything this run changed where the plan or the person asks for it. Every
// end but success is an ApplicationFailure carrying the status, typed by its outcome (src/shared/errors.ts).
// Deterministic workflow code.
import { ApplicationFailure, isCancellation } from '@temporalio/workflow';
import { OUTCOME_FAILURE } from '../../shared/errors';
import type { NotifyEventName, UpgradeStatus } from '../../shared/types';
import { failureMessage } from '../failures';
import { discardUnused } from './ahead';
import { rollbackAll } from './batches';
import { restoreCompose, settleCompose } from './compose';
import { retireOld } from './hosts';
import type { FleetRun } from './run';
import { Abort } from './stops';

/** After verify: succeeded, or partial (ended failed, with everything it did recorded). */
export async function finish(run: FleetRun): Promise<UpgradeStatus> {
  const { status } = run;
  await discardUnused(run);
  const left = run.failedKeys();
  status.outcome = left.length ? 'partial' : 'succeeded';
  status.stage = 'done';
  run.setStage(status.outcome);
  if (left.length) {
    // Not a success to show in green.
    status.reason = `${left.length} of ${run.plan.length} instances are back on their old version: ${left.join(', ')}`;
    await announceEnd(run);
    run.publish();
    throw ApplicationFailure.create({ type: OUTCOME_FAILURE.partial, message: status.reason, details: [status], nonRetryable: true });
  }
  await announceEnd(run);
  run.publish();
  return status;
}

/** Any other end: roll back what the run changed when that is what the failure or the person asks for. */
export async function finishFailed(run: FleetRun, err: unknown): Promise<never> {
  const { status } = run;
  // Backup and pull run at once: both may be under way.
  for (const running of status.stages.filter((s) => s.state === 'running')) run.endStage(running.name, 'failed');
  if (err instanceof Abort && err.rollback) {
    // A person stopped it and asked for the old versions back: the same path as a failed health check.
    status.reason = err.message;
    await rollbackAll(run);
    await restoreCompose(run);
    const allBack = run.allBack();
    status.outcome = allBack ? err.outcome : 'failed';
    if (!allBack) status.reason = `${err.message}, but not every instance came back: ${status.errors.join('; ')}`;
  } else if (err instanceof Abort || isCancellation(err)) {
    // A person stopped it: what was upgraded stays (it passed its health check); the old containers are kept.
    status.outcome = err instanceof Abort ? err.outcome : 'cancelled';
    status.reason = err instanceof Abort ? err.message : 'cancelled by request';
    await settleCompose(run, 'all');
    await retireOld(run, true);
  } else {
    status.reason = failureMessage(err);
    status.errors.push(status.reason);
    const touched = run.changed.length > 0 || run.failedKeys().length > 0;
    if (touched) {
      await rollbackAll(run);
      await restoreCompose(run);
      const allBack = run.allBack();
      status.outcome = allBack ? 'rolled-back' : 'failed';
      if (allBack) status.reason = `rolled back: ${status.reason}`;
    } else {
      status.outcome = 'failed';
    }
  }
  await discardUnused(run);
  run.setStage(status.outcome);
  await announceEnd(run);
  run.publish();
  if (isCancellation(err)) throw err;
  throw ApplicationFailure.create({ type: OUTCOME_FAILURE[status.outcome], message: status.reason, details: [status], nonRetryable: true });
}

/** The outcome, to every webhook that wants it; waits for every notification of the run to have left. */
async function announceEnd(run: FleetRun): Promise<void> {
  const { input, status, notifier } = run;
  if (!notifier.notifying) return;
  const target = `gateway ${input.gatewayVersion}${input.pumps.length && input.pumpVersion ? `, pump ${input.pumpVersion}` : ''}`;
  const said = status.outcome === 'succeeded' ? 'succeeded' : `ended ${status.outcome}`;
  notifier.notify(
    `upgrade.${status.outcome}` as NotifyEventName,
    `Upgrade of ${input.stack} to ${target} ${said}${status.reason ? `: ${status.reason}` : ''}`,
    status.reason ? { reason: status.reason } : {},
  );
  await notifier.notificationsSent();
}
