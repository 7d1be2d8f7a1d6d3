// The parent's side of the batch children: start one, take in what it did; roll back everything this run
// changed, newest batch first. A child per batch keeps the parent's history small. Deterministic workflow code.
import { CancellationScope, executeChild } from '@temporalio/workflow';
import { BATCH_WORKFLOW_TYPE, childWorkflowId, ROLLBACK_WORKFLOW_TYPE } from '../../shared/names';
import type { BatchStatus } from '../../shared/types';
import type { BatchInput, BatchResult, RollbackBatchInput, RollbackBatchResult } from '../batch';
import { keepPrepared } from './ahead';
import type { FleetRun } from './run';

/**
 * One batch as a child workflow: every instance ends healthy or rolled back, and the status says which. `ahead`:
 * the instances whose replacements it makes during its soak (fleet/ahead.ts).
 */
export async function runBatch(run: FleetRun, name: string, keys: string[], batch: BatchStatus, ahead: string[] = []): Promise<void> {
  const { input, status } = run;
  batch.state = 'running';
  batch.workflowId = childWorkflowId(run.workflowId, `batch-${name}`);
  for (const k of keys) run.statusOf(k).state = 'recreating';
  run.publish();
  const prepared = Object.fromEntries(keys.filter((k) => run.prepared[k]).map((k) => [k, run.prepared[k]]));
  const args: BatchInput = {
    stack: input.stack,
    name,
    instances: keys.map((k) => run.planOf(k)),
    manifests: run.manifests,
    drainTimeoutSec: input.drainTimeoutSec,
    healthTimeoutMs: input.healthTimeoutMs,
    soakMs: input.soakMs,
    failuresAllowed: Math.max(0, status.failures.budget + run.accepted - run.failedKeys().filter((k) => !keys.includes(k)).length),
    ...(input.loadBalancer ? { loadBalancer: input.loadBalancer } : {}),
    ...(input.inventory !== undefined ? { inventory: input.inventory } : {}),
    ...(input.smoke ? { smoke: input.smoke } : {}),
    ...(input.analysis ? { analysis: input.analysis } : {}),
    ...(ahead.length ? { next: ahead.map((k) => run.planOf(k)) } : {}),
    ...(Object.keys(prepared).length ? { prepared } : {}),
  };
  let result: BatchResult;
  try {
    // Once a batch is under way it finishes (healthy, or rolled back) even when the upgrade is cancelled.
    result = await CancellationScope.nonCancellable(() =>
      executeChild<(i: BatchInput) => Promise<BatchResult>>(BATCH_WORKFLOW_TYPE, {
        workflowId: batch.workflowId,
        args: [args],
        staticSummary: `Batch ${name} of ${input.stack}: ${keys.join(', ')}`,
      }),
    );
  } catch (err) {
    // The child ended without a result (terminated, say): any of its instances may have changed.
    run.changed.push({ batch: name, keys });
    batch.state = 'failed';
    throw err;
  }
  for (const k of result.upgraded) {
    run.statusOf(k).state = 'upgraded';
    run.statusOf(k).detail = undefined;
    if (result.serving?.[k]) run.statusOf(k).serving = result.serving[k];
  }
  for (const f of result.failed) {
    run.statusOf(f.key).state = f.rolledBack ? 'rolled-back' : 'failed';
    run.statusOf(f.key).detail = f.reason;
  }
  if (result.upgraded.length) run.changed.push({ batch: name, keys: result.upgraded });
  keepPrepared(run, result.upgraded, result.prepared);
  // A failure whose own rollback failed is still this run's change: the rollback of all tries it again.
  const stuck = result.failed.filter((f) => !f.rolledBack).map((f) => f.key);
  if (stuck.length) run.changed.push({ batch: `${name}-failed`, keys: stuck });
  status.failures.count = run.failedKeys().length;
  batch.state = result.failed.length ? 'failed' : 'done';
  run.publish();
}

/** Undo everything this run changed, newest batch first, each batch in parallel across its hosts. */
export async function rollbackAll(run: FleetRun): Promise<void> {
  const { input, status } = run;
  for (const c of [...run.changed].reverse()) {
    const batch = status.batches.find((b) => b.name === c.batch);
    if (batch) batch.state = 'rolling-back';
    for (const k of c.keys) run.statusOf(k).state = 'rolling-back';
    run.publish();
    const args: RollbackBatchInput = {
      stack: input.stack,
      name: c.batch,
      instances: c.keys.map((k) => run.planOf(k)),
      manifests: run.manifests,
      healthTimeoutMs: input.healthTimeoutMs,
      ...(input.loadBalancer ? { loadBalancer: input.loadBalancer } : {}),
    };
    const result = await executeChild<(i: RollbackBatchInput) => Promise<RollbackBatchResult>>(ROLLBACK_WORKFLOW_TYPE, {
      workflowId: childWorkflowId(run.workflowId, `rollback-${c.batch}`),
      args: [args],
      staticSummary: `Roll back batch ${c.batch} of ${input.stack}`,
    });
    for (const k of result.rolledBack) run.statusOf(k).state = 'rolled-back';
    for (const f of result.failed) {
      run.statusOf(f.key).state = 'failed';
      run.statusOf(f.key).detail = f.reason;
      status.errors.push(`${f.key}: ${f.reason}`);
    }
    if (batch) batch.state = result.failed.length ? 'failed' : 'rolled-back';
    run.publish();
  }
}
