// The upgrade of one Tyk stack: preflight → backup → pull → gate → gateways → gate → pump → verify.
// Deterministic workflow code: no Node modules, no I/O; every side effect is an activity.
import {
  ApplicationFailure,
  CancelledFailure,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
  type ActivityOptions,
} from '@temporalio/workflow';
import type { RetryPolicy } from '@temporalio/common';
import type { createActivities } from '../activities';
import { NON_RETRYABLE } from '../shared/errors';
import { SA_STAGE } from '../shared/names';
import {
  GATES,
  STAGES,
  type BackupResult,
  type Decision,
  type GateName,
  type GateStatus,
  type InstancePlan,
  type InstanceStatus,
  type Outcome,
  type StageName,
  type UpgradeInput,
  type UpgradeStatus,
} from '../shared/types';
import { approveSignal, approveUpdate, rejectSignal, rejectUpdate, statusQuery } from './messages';
import { renderDetails } from './details';

type Activities = ReturnType<typeof createActivities>;

const retry = (maximumAttempts: number): RetryPolicy => ({
  maximumAttempts,
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '10s',
  nonRetryableErrorTypes: NON_RETRYABLE,
});

// Heartbeats let a dead worker be noticed in seconds rather than at the start-to-close timeout.
const SHORT: ActivityOptions = { startToCloseTimeout: '2m', heartbeatTimeout: '10s', retry: retry(5) };
const PULL: ActivityOptions = { startToCloseTimeout: '30m', heartbeatTimeout: '10s', retry: retry(4) };
const DOCKER_CHANGE: ActivityOptions = { startToCloseTimeout: '10m', heartbeatTimeout: '10s', retry: retry(10) };

function acts(options: ActivityOptions, summary?: string): Activities {
  return proxyActivities<Activities>(summary ? { ...options, summary } : options);
}

/** Ends the run early on purpose: a reject, a timed-out gate. */
class Abort extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
  ) {
    super(message);
  }
}

export async function upgradeStack(input: UpgradeInput): Promise<UpgradeStatus> {
  const status: UpgradeStatus = {
    stack: input.stack,
    outcome: 'running',
    stage: 'preflight',
    stages: STAGES.map((name) => ({ name, state: 'pending' })),
    instances: [],
    gates: GATES.map((gate) => ({ gate, state: input.gates.includes(gate) ? 'not-reached' : 'skipped' })),
    errors: [],
  };
  const now = () => new Date().toISOString();
  const gateOf = (name: GateName) => status.gates.find((g) => g.gate === name) as GateStatus;
  const stageOf = (name: StageName) => status.stages.find((s) => s.name === name)!;
  const publish = () => setCurrentDetails(renderDetails(status));

  function enterStage(name: StageName): void {
    const s = stageOf(name);
    s.state = 'running';
    s.startedAt = now();
    status.stage = name;
    upsertSearchAttributes([{ key: SA_STAGE, value: name }]);
    publish();
  }
  function endStage(name: StageName, state: 'done' | 'failed' | 'skipped' = 'done'): void {
    const s = stageOf(name);
    s.state = state;
    s.endedAt = now();
    publish();
  }

  // --- approvals: an Update (validated) and a Signal (best effort) with the same meaning ---
  function waitingGate(requested?: GateName): GateStatus | undefined {
    const waiting = status.gates.find((g) => g.state === 'waiting');
    if (!waiting || (requested && requested !== waiting.gate)) return undefined;
    return waiting;
  }
  function validate(d: Decision): void {
    if (d.gate && !(GATES as readonly string[]).includes(d.gate)) {
      throw ApplicationFailure.nonRetryable(`unknown gate "${d.gate}"; gates are ${GATES.join(', ')}`, 'InvalidGate');
    }
    if (!waitingGate(d.gate)) {
      const asked = d.gate ? gateOf(d.gate) : undefined;
      const waiting = status.gates.find((g) => g.state === 'waiting');
      const why = asked
        ? `gate "${asked.gate}" is ${asked.state}${asked.by ? ` (by ${asked.by})` : ''}`
        : 'no gate is waiting';
      throw ApplicationFailure.nonRetryable(
        `${why}; ${waiting ? `the waiting gate is "${waiting.gate}"` : `the upgrade is at stage "${status.stage}"`}`,
        'GateNotWaiting',
      );
    }
  }
  function decide(d: Decision, state: 'approved' | 'rejected'): GateStatus {
    const g = waitingGate(d.gate) as GateStatus;
    g.state = state;
    g.by = d.by || 'unknown';
    g.at = now();
    if (d.comment) g.comment = d.comment;
    publish();
    return { ...g };
  }
  setHandler(approveUpdate, (d) => decide(d, 'approved'), { validator: validate });
  setHandler(rejectUpdate, (d) => decide(d, 'rejected'), { validator: validate });
  setHandler(approveSignal, (d) => {
    if (waitingGate(d.gate)) decide(d, 'approved');
  });
  setHandler(rejectSignal, (d) => {
    if (waitingGate(d.gate)) decide(d, 'rejected');
  });
  setHandler(statusQuery, () => status);

  async function gate(name: GateName): Promise<void> {
    const g = gateOf(name);
    if (g.state === 'skipped') {
      endStage(name, 'skipped');
      return;
    }
    enterStage(name);
    g.state = 'waiting';
    g.waitingSince = now();
    publish();
    const isDecided = () => g.state !== 'waiting';
    const decided = input.approvalTimeoutMs ? await condition(isDecided, input.approvalTimeoutMs) : (await condition(isDecided), true);
    if (!decided) {
      g.state = 'timed-out';
      g.at = now();
      endStage(name, 'failed');
      throw new Abort('timed-out', `approval gate "${name}" timed out after ${input.approvalTimeoutMs} ms; upgrade aborted`);
    }
    if ((g.state as GateStatus['state']) === 'rejected') {
      endStage(name, 'failed');
      throw new Abort('rejected', `gate "${name}" rejected by ${g.by}${g.comment ? `: ${g.comment}` : ''}`);
    }
    endStage(name);
  }

  // --- per-instance recreate with health gate; what this run changed, for rollback and clean-up ---
  const changed: InstancePlan[] = [];
  let backup: BackupResult | undefined;

  const statusOf = (p: InstancePlan) => status.instances.find((i) => i.container === p.container) as InstanceStatus;

  async function upgradeInstance(p: InstancePlan): Promise<void> {
    const st = statusOf(p);
    st.state = 'recreating';
    publish();
    changed.push(p);
    await acts(DOCKER_CHANGE, `Recreate ${p.container} → ${p.toImage}`).recreateContainer({
      container: p.container,
      toImage: p.toImage,
      drainTimeoutSec: input.drainTimeoutSec,
    });
    st.state = 'health-check';
    publish();
    try {
      await acts(SHORT, `Health check ${p.container} for ${p.toVersion}`).checkHealth({
        instance: p,
        version: p.toVersion,
        timeoutMs: input.healthTimeoutMs,
      });
    } catch (err) {
      st.state = 'failed';
      st.detail = failureMessage(err);
      publish();
      throw err;
    }
    st.state = 'upgraded';
    publish();
  }

  /** Watch a healthy batch for soakMs before the next one goes; a failure here rolls back like any other. */
  async function soak(batch: InstancePlan[]): Promise<void> {
    if (!input.soakMs) return;
    const names = batch.map((p) => p.container).join(', ');
    try {
      await acts({ ...SHORT, startToCloseTimeout: input.soakMs + 120_000 }, `Soak ${names} for ${input.soakMs / 1000} s`).soakHealth({
        instances: batch,
        durationMs: input.soakMs,
      });
    } catch (err) {
      if (isCancellation(err)) throw err;
      for (const p of batch) {
        const st = statusOf(p);
        st.state = 'failed';
        st.detail = failureMessage(err);
      }
      publish();
      throw err;
    }
  }

  /** Undo everything this run changed, newest first, and say what came back. */
  async function rollbackAll(): Promise<void> {
    for (const p of [...changed].reverse()) {
      const st = statusOf(p);
      const failedDetail = st.state === 'failed' ? st.detail : undefined;
      st.state = 'rolling-back';
      publish();
      try {
        await acts(DOCKER_CHANGE, `Roll back ${p.container} → ${p.fromImage}`).rollbackContainer({
          instance: p,
          backupManifest: backup?.manifest,
          healthTimeoutMs: input.healthTimeoutMs,
        });
        st.state = 'rolled-back';
        st.detail = failedDetail;
      } catch (err) {
        st.state = 'failed';
        st.detail = `rollback failed: ${failureMessage(err)}`;
        status.errors.push(`${p.container}: ${st.detail}`);
      }
      publish();
    }
  }

  /** Old containers are removed once their replacements are accepted, or kept under a name with their version. */
  async function retireOld(keep: boolean): Promise<void> {
    for (const p of changed) {
      if (statusOf(p).state !== 'upgraded') continue;
      try {
        await acts(SHORT, `${keep ? 'Keep' : 'Remove'} old ${p.container}`).retireOldContainer({
          container: p.container,
          fromImage: p.fromImage,
          keep,
        });
      } catch (err) {
        // The upgrade itself stands: a leftover old container is worth a warning, not a rollback.
        status.errors.push(`warning: old container of ${p.container} not ${keep ? 'renamed' : 'removed'}: ${failureMessage(err)}`);
      }
    }
  }

  /** Between containers is where a cancel may stop the run: never while one is half replaced. */
  function safePoint(): void {
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled by request');
  }

  upsertSearchAttributes([{ key: SA_STAGE, value: 'preflight' }]);
  try {
    enterStage('preflight');
    const plan = await acts(SHORT, `Preflight ${input.stack}`).preflight(input);
    status.instances = plan.instances.map((p) => ({
      role: p.role,
      container: p.container,
      fromVersion: p.fromVersion,
      toVersion: p.toVersion,
      state: 'pending',
    }));
    status.errors.push(...plan.warnings.map((w) => `warning: ${w}`));
    endStage('preflight');

    enterStage('backup');
    backup = await acts(SHORT, `Back up ${plan.instances.length} containers`).backupStack({
      stack: input.stack,
      runId: workflowInfo().runId,
      backupDir: input.backupDir,
      instances: plan.instances,
    });
    status.backup = {
      dir: backup.dir,
      manifest: backup.manifest,
      files: backup.entries.reduce((n, e) => n + e.files, 0),
      redis: backup.redis,
    };
    endStage('backup');

    enterStage('pull');
    const pulled = await acts(PULL, `Pull ${plan.images.join(', ')}`).pullImages({ images: plan.images });
    status.pull = pulled.summary;
    endStage('pull');

    await gate('before-gateways');
    enterStage('gateways');
    const gateways = plan.instances.filter((p) => p.role === 'gateway');
    for (let i = 0; i < gateways.length; i += input.batchSize) {
      safePoint();
      const batch = gateways.slice(i, i + input.batchSize);
      // Once a container is being replaced, finish it (healthy or rolled back) even if cancelled.
      await CancellationScope.nonCancellable(() => Promise.all(batch.map(upgradeInstance)));
      await soak(batch);
    }
    endStage('gateways');

    const pump = plan.instances.find((p) => p.role === 'pump');
    if (pump) {
      await gate('before-pump');
      safePoint();
      enterStage('pump');
      await CancellationScope.nonCancellable(() => upgradeInstance(pump));
      await soak([pump]);
      endStage('pump');
    } else {
      endStage('before-pump', 'skipped');
      endStage('pump', 'skipped');
    }

    safePoint();
    enterStage('verify');
    await acts(SHORT, `Verify ${input.stack}`).verifyStack({ instances: plan.instances });
    await retireOld(input.keepOldContainers);
    endStage('verify');
    status.outcome = 'succeeded';
    status.stage = 'done';
    upsertSearchAttributes([{ key: SA_STAGE, value: 'succeeded' }]);
    publish();
    return status;
  } catch (err) {
    return await CancellationScope.nonCancellable(() => finishFailed(err));
  }

  async function finishFailed(err: unknown): Promise<never> {
    const running = status.stages.find((s) => s.state === 'running');
    if (running) endStage(running.name, 'failed');
    if (err instanceof Abort || isCancellation(err)) {
      // A person stopped it: what was upgraded stays (it passed its health check); the old containers are kept.
      status.outcome = err instanceof Abort ? err.outcome : 'cancelled';
      status.reason = err instanceof Abort ? err.message : 'cancelled by request';
      await retireOld(true);
    } else {
      status.reason = failureMessage(err);
      status.errors.push(status.reason);
      if (changed.length > 0) {
        await rollbackAll();
        const allBack = changed.every((p) => statusOf(p).state === 'rolled-back');
        status.outcome = allBack ? 'rolled-back' : 'failed';
        if (allBack) status.reason = `rolled back: ${status.reason}`;
      } else {
        status.outcome = 'failed';
      }
    }
    upsertSearchAttributes([{ key: SA_STAGE, value: status.outcome }]);
    publish();
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      type: FAILURE_TYPE[status.outcome],
      message: status.reason,
      details: [status],
      nonRetryable: true,
    });
  }
}

const FAILURE_TYPE: Record<Outcome, string> = {
  running: 'UpgradeFailed',
  succeeded: 'UpgradeFailed',
  failed: 'UpgradeFailed',
  'rolled-back': 'UpgradeRolledBack',
  rejected: 'UpgradeRejected',
  'timed-out': 'UpgradeApprovalTimedOut',
  cancelled: 'UpgradeCancelled',
};

/** The innermost message of a failure chain (ActivityFailure → ApplicationFailure → ...). */
export function failureMessage(err: unknown): string {
  let e: unknown = err;
  while (e instanceof Error && (e as { cause?: unknown }).cause instanceof Error) e = (e as { cause: unknown }).cause;
  return e instanceof Error ? e.message : String(e);
}
