// The upgrade of one Tyk stack on one host or a fleet of hosts:
// preflight → backup → pull (each host on its own worker, in parallel) → gate → gateways batch by batch (a child
// workflow per batch) → [gate after the canary] → gate → pumps → verify.
// A failure past the plan's budget rolls back everything this run changed on every host, or pauses for a person.
// Deterministic workflow code: no Node modules, no I/O; every side effect is an activity on the right host.
import {
  ApplicationFailure,
  CancelledFailure,
  CancellationScope,
  condition,
  executeChild,
  isCancellation,
  setCurrentDetails,
  setHandler,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import { failureBudget, planBatches } from '../shared/batches';
import { parseWindow, windowState, type WindowSpec } from '../shared/window';
import { BATCH_WORKFLOW_TYPE, childWorkflowId, instanceKey, ROLLBACK_WORKFLOW_TYPE, SA_STAGE } from '../shared/names';
import {
  GATES,
  PAUSE_CHOICES,
  STAGES,
  type BatchStatus,
  type Decision,
  type GateName,
  type GateStatus,
  type HostBackup,
  type InstancePlan,
  type InstanceStatus,
  type NotifyEventName,
  type Outcome,
  type PauseChoice,
  type PauseDecision,
  type PauseStatus,
  type StageName,
  type UpgradeInput,
  type UpgradeStatus,
  type WindowStatus,
} from '../shared/types';
import type { LoadBalancerInput } from '../activities/load-balancer/types';
import { pendingStatus, type BatchInput, type BatchResult, type RollbackBatchInput, type RollbackBatchResult } from './batch';
import { lbGateway } from './load-balancer';
import { renderDetails } from './details';
import {
  abortWithRollbackUpdate,
  approveSignal,
  approveUpdate,
  rejectSignal,
  rejectUpdate,
  resolvePauseSignal,
  resolvePauseUpdate,
  statusQuery,
} from './messages';
import { createNotifier } from './notifications';
import { byHost, explainNoWorker, failureMessage, firstContact, on, PULL, SHORT } from './routing';

/** Ends the run early on purpose: a reject, a timed-out gate, a cancel; with rollback when a person asked for it. */
class Abort extends Error {
  constructor(
    readonly outcome: Outcome,
    message: string,
    readonly rollback = false,
  ) {
    super(message);
  }
}

/** Too many instances failed, and the plan (or a person) says roll back. */
class FleetFailure extends Error {}

export async function upgradeFleet(input: UpgradeInput): Promise<UpgradeStatus> {
  // The plan was checked by the CLI; a window that does not parse here would be a bug, so it is not skipped silently.
  const windowSpecs: WindowSpec[] = (input.window ?? []).map((w) => {
    const r = parseWindow(w);
    if (!r.ok) throw ApplicationFailure.nonRetryable(`invalid maintenance window: ${r.message}`, 'InvalidPlan');
    return r.spec;
  });
  const hosts = [...new Set([...input.gateways, ...input.pumps].map((t) => t.host).filter((h): h is string => !!h))].sort();
  const status: UpgradeStatus = {
    stack: input.stack,
    outcome: 'running',
    stage: 'preflight',
    stages: STAGES.map((name) => ({ name, state: 'pending' })),
    instances: [],
    gates: GATES.map((gate) => ({ gate, state: input.gates.includes(gate) ? 'not-reached' : 'skipped' })),
    hosts,
    batches: [],
    failures: { count: 0, budget: 0 },
    backups: [],
    errors: [],
    ...(input.window ? { window: windowNow(windowSpecs, input.window) } : {}),
  };
  const parentId = workflowInfo().workflowId;
  const now = () => new Date().toISOString();
  const gateOf = (name: GateName) => status.gates.find((g) => g.gate === name) as GateStatus;
  const stageOf = (name: StageName) => status.stages.find((s) => s.name === name);
  const publish = () => setCurrentDetails(renderDetails(status, workflowInfo().namespace));

  function enterStage(name: StageName): void {
    const s = stageOf(name);
    if (!s) return;
    s.state = 'running';
    s.startedAt = now();
    status.stage = name;
    upsertSearchAttributes([{ key: SA_STAGE, value: name }]);
    publish();
  }
  function endStage(name: StageName, state: 'done' | 'failed' | 'skipped' = 'done'): void {
    const s = stageOf(name);
    if (!s) return;
    s.state = state;
    s.endedAt = now();
    publish();
  }

  // The worker knows the webhooks; the workflow only says what happened, and never waits on it.
  const { notify, notifying, notificationsSent, waitReminding } = createNotifier(input, status, publish);
  const approvalsSoFar = (g: GateStatus) =>
    g.required ? ` (${g.approvals?.length ?? 0} of ${g.required} approvals${g.approvals?.length ? `: ${g.approvals.map((a) => a.by).join(', ')}` : ''})` : '';

  // --- approvals: an Update (validated) and a Signal (best effort) with the same meaning ---
  function waitingGate(requested?: GateName): GateStatus | undefined {
    const waiting = status.gates.find((g) => g.state === 'waiting');
    if (!waiting || (requested && requested !== waiting.gate)) return undefined;
    return waiting;
  }
  const required = Math.max(1, input.approvals ?? 1);
  const fourEyes = required > 1 || !!input.approverMustDifferFromStarter;
  /** Who may still approve: the four-eyes rules, said in words for the person who was refused. */
  function validateApprover(d: Decision): void {
    if (!fourEyes) return;
    const g = waitingGate(d.gate) as GateStatus;
    const have = g.approvals ?? [];
    const who = `${have.length} of ${required} approvals so far${have.length ? ` (${have.map((a) => a.by).join(', ')})` : ''}`;
    if (!d.by) throw ApplicationFailure.nonRetryable(`this plan needs named approvers: give --by (or "by" in the update); ${who}`, 'ApproverRequired');
    if (have.some((a) => a.by === d.by)) {
      throw ApplicationFailure.nonRetryable(
        `${d.by} has already approved gate "${g.gate}"; ${who}: the next approval must come from someone else`,
        'ApproverRepeated',
      );
    }
    if (input.approverMustDifferFromStarter && d.by === input.startedBy) {
      throw ApplicationFailure.nonRetryable(
        `${d.by} started this upgrade and may not approve it; ${who}: someone other than ${d.by} must approve`,
        'ApproverIsStarter',
      );
    }
  }
  function validate(d: Decision): void {
    if (d.gate && !(GATES as readonly string[]).includes(d.gate)) {
      throw ApplicationFailure.nonRetryable(`unknown gate "${d.gate}"; gates are ${GATES.join(', ')}`, 'InvalidGate');
    }
    if (!waitingGate(d.gate)) {
      const asked = d.gate ? gateOf(d.gate) : undefined;
      const waiting = status.gates.find((g) => g.state === 'waiting');
      const why = asked ? `gate "${asked.gate}" is ${asked.state}${asked.by ? ` (by ${asked.by})` : ''}` : 'no gate is waiting';
      throw ApplicationFailure.nonRetryable(
        `${why}; ${waiting ? `the waiting gate is "${waiting.gate}"` : `the upgrade is at stage "${status.stage}"`}`,
        'GateNotWaiting',
      );
    }
  }
  let rejectedWithRollback = false;
  function approve(d: Decision): GateStatus {
    if (!fourEyes) return decide(d, 'approved');
    const g = waitingGate(d.gate) as GateStatus;
    g.approvals = [...(g.approvals ?? []), { by: d.by as string, at: now(), ...(d.comment ? { comment: d.comment } : {}) }];
    if (g.approvals.length < required) {
      publish();
      return { ...g };
    }
    return decide(
      {
        ...d,
        by: g.approvals.map((a) => a.by).join(', '),
        comment:
          g.approvals
            .map((a) => a.comment)
            .filter(Boolean)
            .join('; ') || undefined,
      },
      'approved',
    );
  }
  function decide(d: Decision, state: 'approved' | 'rejected'): GateStatus {
    const g = waitingGate(d.gate) as GateStatus;
    if (state === 'rejected' && d.rollback) rejectedWithRollback = true;
    g.state = state;
    g.by = d.by || 'unknown';
    g.at = now();
    if (d.comment) g.comment = d.comment;
    publish();
    return { ...g };
  }
  // The Web UI sends no argument when its Data box is left empty: a missing payload is read as {}.
  setHandler(approveUpdate, (d) => approve(d ?? {}), {
    validator: (d) => {
      validate(d ?? {});
      validateApprover(d ?? {});
    },
    description: 'Approve the waiting gate: {"gate": "before-gateways", "by": "alice", "comment": "CHG-1234"}',
  });
  setHandler(rejectUpdate, (d) => decide(d ?? {}, 'rejected'), {
    validator: (d) => validate(d ?? {}),
    description: 'Reject the waiting gate: {"gate": "before-pump", "by": "alice", "comment": "why"}',
  });
  setHandler(
    approveSignal,
    (given) => {
      const d = given ?? {};
      if (!waitingGate(d.gate)) return;
      try {
        validateApprover(d);
      } catch {
        return; // a signal cannot be refused; one that breaks the four-eyes rules does not count
      }
      approve(d);
    },
    { description: 'Approve the waiting gate (ignored when none waits, or when the four-eyes rules refuse it)' },
  );
  setHandler(rejectSignal, (d) => void (waitingGate(d?.gate) && decide(d ?? {}, 'rejected')), {
    description: 'Reject the waiting gate (ignored when none waits)',
  });

  // --- a paused fleet: retry, continue or roll back, with the gates' discipline ---
  function validatePause(d: PauseDecision | undefined): void {
    if (!d || !(PAUSE_CHOICES as readonly string[]).includes(d.choice)) {
      throw ApplicationFailure.nonRetryable(
        `${d?.choice === undefined ? 'no "choice" given' : `unknown choice "${d.choice}"`}; choose ${PAUSE_CHOICES.join(', ')}`,
        'InvalidChoice',
      );
    }
    if (status.pause?.state !== 'waiting') {
      throw ApplicationFailure.nonRetryable(`the upgrade is not paused (stage "${status.stage}", outcome ${status.outcome})`, 'NotPaused');
    }
    if (status.pause.kind === 'window' && d.choice === 'retry') {
      throw ApplicationFailure.nonRetryable(
        `the upgrade waits for its maintenance window (the next opens at ${status.pause.opensAt ?? 'no known time'}), not on failed instances: choose continue (go on now, outside the window) or rollback`,
        'InvalidChoice',
      );
    }
  }
  function resolvePause(d: PauseDecision): PauseStatus {
    const p = status.pause as PauseStatus;
    p.state = 'decided';
    p.choice = d.choice;
    p.by = d.by || 'unknown';
    p.at = now();
    if (d.comment) p.comment = d.comment;
    publish();
    return { ...p };
  }
  setHandler(resolvePauseUpdate, resolvePause, {
    validator: validatePause,
    description: 'Resolve a paused fleet: {"choice": "retry" | "continue" | "rollback", "by": "alice"}',
  });
  setHandler(
    resolvePauseSignal,
    (d) => {
      if (d && status.pause?.state === 'waiting' && (PAUSE_CHOICES as readonly string[]).includes(d.choice)) resolvePause(d);
    },
    { description: 'Resolve a paused fleet (ignored when not paused or the choice is unknown)' },
  );
  setHandler(statusQuery, () => status, { description: 'Stages, hosts, batches, instances, gates and backups of this upgrade' });
  setHandler(
    abortWithRollbackUpdate,
    (r) => {
      status.abort ??= { ...(r?.by ? { by: r.by } : {}), ...(r?.reason ? { reason: r.reason } : {}), at: now(), rollback: true };
      publish();
      return status.abort;
    },
    {
      validator: (_request) => {
        if (status.outcome !== 'running') throw ApplicationFailure.nonRetryable(`the upgrade has already ended (${status.outcome})`, 'NotRunning');
      },
      description: 'Stop at the next safe point and roll back everything this run changed: {"by": "alice", "reason": "CHG-1234 withdrawn"}',
    },
  );
  const abortMessage = () =>
    `cancelled by ${status.abort?.by ?? 'unknown'}${status.abort?.reason ? `: ${status.abort.reason}` : ''}; everything this run changed is rolled back`;
  function abortIfAsked(): void {
    if (status.abort) throw new Abort('cancelled', abortMessage(), true);
  }

  async function gate(name: GateName): Promise<void> {
    const g = gateOf(name);
    if (g.state === 'skipped') {
      endStage(name as StageName, 'skipped');
      return;
    }
    enterStage(name as StageName);
    g.state = 'waiting';
    g.waitingSince = now();
    if (fourEyes) {
      g.required = required;
      g.approvals = [];
    }
    publish();
    const isDecided = () => g.state !== 'waiting' || !!status.abort;
    let decided: boolean;
    if (notifying) {
      notify('gate.waiting', `Gate ${name} of ${input.stack} is waiting for approval${approvalsSoFar(g)}`, { gate: { ...g } });
      decided = await waitReminding(isDecided, input.approvalTimeoutMs, () =>
        notify('gate.reminder', `Still waiting: gate ${name} of ${input.stack}, since ${g.waitingSince}${approvalsSoFar(g)}`, { gate: { ...g } }),
      );
      if (g.state !== 'waiting' || !decided) {
        const how = decided ? `${g.state} by ${g.by}${g.comment ? `: ${g.comment}` : ''}` : `timed out after ${(input.approvalTimeoutMs as number) / 1000} s`;
        notify('gate.decided', `Gate ${name} of ${input.stack} ${how}`, { gate: { ...g, ...(decided ? {} : { state: 'timed-out' as const }) } });
      }
    } else {
      decided = input.approvalTimeoutMs ? await condition(isDecided, input.approvalTimeoutMs) : (await condition(isDecided), true);
    }
    if (g.state === 'waiting' && status.abort) {
      g.state = 'not-reached';
      endStage(name as StageName, 'failed');
      abortIfAsked();
    }
    if (!decided) {
      g.state = 'timed-out';
      g.at = now();
      endStage(name as StageName, 'failed');
      throw new Abort('timed-out', `approval gate "${name}" timed out after ${input.approvalTimeoutMs} ms; upgrade aborted`);
    }
    if ((g.state as GateStatus['state']) === 'rejected') {
      endStage(name as StageName, 'failed');
      const rollback = rejectedWithRollback;
      throw new Abort(
        'rejected',
        `gate "${name}" rejected by ${g.by}${g.comment ? `: ${g.comment}` : ''}${rollback ? '; everything this run changed is rolled back' : ''}`,
        rollback,
      );
    }
    endStage(name as StageName);
  }

  // --- what this run changed: the instances, their batches, their failures ---
  let plan: InstancePlan[] = [];
  const manifests: Record<string, string> = {};
  const planOf = (key: string) => plan.find((p) => instanceKey(p) === key) as InstancePlan;
  const statusOf = (key: string) => status.instances.find((i) => instanceKey(i) === key) as InstanceStatus;
  /** Upgraded instances in the order their batches ran, for rollback newest first. */
  const changed: { batch: string; keys: string[] }[] = [];
  /** Failed instances (rolled back on their own) a person chose to go on without. */
  let accepted = 0;
  let pauses = 0;

  function failedKeys(): string[] {
    return status.instances.filter((i) => i.state === 'rolled-back' || i.state === 'failed').map(instanceKey);
  }

  async function runBatch(name: string, keys: string[], batch: BatchStatus): Promise<void> {
    batch.state = 'running';
    batch.workflowId = childWorkflowId(parentId, `batch-${name}`);
    for (const k of keys) statusOf(k).state = 'recreating';
    publish();
    const args: BatchInput = {
      stack: input.stack,
      name,
      instances: keys.map(planOf),
      manifests,
      drainTimeoutSec: input.drainTimeoutSec,
      healthTimeoutMs: input.healthTimeoutMs,
      soakMs: input.soakMs,
      failuresAllowed: Math.max(0, status.failures.budget + accepted - failedKeys().filter((k) => !keys.includes(k)).length),
      ...(input.loadBalancer ? { loadBalancer: input.loadBalancer } : {}),
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
      changed.push({ batch: name, keys });
      batch.state = 'failed';
      throw err;
    }
    for (const k of result.upgraded) {
      statusOf(k).state = 'upgraded';
      statusOf(k).detail = undefined;
    }
    for (const f of result.failed) {
      statusOf(f.key).state = f.rolledBack ? 'rolled-back' : 'failed';
      statusOf(f.key).detail = f.reason;
    }
    if (result.upgraded.length) changed.push({ batch: name, keys: result.upgraded });
    // A failure whose own rollback failed is still this run's change: the rollback of all tries it again.
    const stuck = result.failed.filter((f) => !f.rolledBack).map((f) => f.key);
    if (stuck.length) changed.push({ batch: `${name}-failed`, keys: stuck });
    status.failures.count = failedKeys().length;
    batch.state = result.failed.length ? 'failed' : 'done';
    publish();
  }

  /** Over the budget: roll back (FleetFailure) or, when the plan says pause, ask a person. Returns when it may go on. */
  async function withinBudget(): Promise<void> {
    let retries = 0;
    while (failedKeys().length > status.failures.budget + accepted) {
      const failed = failedKeys();
      const reason = `${failed.length} instance${failed.length === 1 ? '' : 's'} failed (budget ${status.failures.budget}): ${failed.map((k) => `${k}: ${statusOf(k).detail ?? statusOf(k).state}`).join('; ')}`;
      if (input.onFailure !== 'pause') throw new FleetFailure(reason);
      const choice = await pause(reason, failed);
      if (choice === 'rollback') throw new FleetFailure(`${status.pause?.by} chose to roll back: ${reason}`);
      if (choice === 'continue') {
        accepted = failed.length - status.failures.budget;
        status.errors.push(`warning: ${status.pause?.by} chose to continue without ${failed.join(', ')} (back on the old version)`);
        return;
      }
      retries += 1;
      const name = `retry-${pauses}`;
      const again = failed.filter((k) => statusOf(k).state === 'rolled-back');
      const batch: BatchStatus = { name, instances: again, state: 'pending' };
      status.batches.push(batch);
      await awaitWindow();
      await runBatch(name, again, batch);
      if (retries > 100) throw new FleetFailure(`gave up after ${retries} retries: ${reason}`);
    }
  }

  async function pause(reason: string, failed: string[]): Promise<PauseChoice> {
    pauses += 1;
    status.pause = { number: pauses, state: 'waiting', since: now(), reason, failed };
    upsertSearchAttributes([{ key: SA_STAGE, value: 'paused' }]);
    publish();
    notify('upgrade.paused', `Upgrade of ${input.stack} paused: ${reason}`, { pause: { ...status.pause } });
    const p = status.pause;
    const settled = () => p.state !== 'waiting' || !!status.abort;
    const decided = input.pauseTimeoutMs ? await condition(settled, input.pauseTimeoutMs) : (await condition(settled), true);
    abortIfAsked();
    upsertSearchAttributes([{ key: SA_STAGE, value: status.stage }]);
    if (!decided) {
      p.state = 'timed-out';
      p.at = now();
      publish();
      throw new FleetFailure(`the pause was not resolved within ${(input.pauseTimeoutMs as number) / 1000} s, so everything is rolled back: ${reason}`);
    }
    return p.choice as PauseChoice;
  }

  /** Undo everything this run changed, newest batch first, each batch in parallel across its hosts. */
  async function rollbackAll(): Promise<void> {
    for (const c of [...changed].reverse()) {
      const batch = status.batches.find((b) => b.name === c.batch);
      if (batch) batch.state = 'rolling-back';
      for (const k of c.keys) statusOf(k).state = 'rolling-back';
      publish();
      const args: RollbackBatchInput = {
        stack: input.stack,
        name: c.batch,
        instances: c.keys.map(planOf),
        manifests,
        healthTimeoutMs: input.healthTimeoutMs,
        ...(input.loadBalancer ? { loadBalancer: input.loadBalancer } : {}),
      };
      const result = await executeChild<(i: RollbackBatchInput) => Promise<RollbackBatchResult>>(ROLLBACK_WORKFLOW_TYPE, {
        workflowId: childWorkflowId(parentId, `rollback-${c.batch}`),
        args: [args],
        staticSummary: `Roll back batch ${c.batch} of ${input.stack}`,
      });
      for (const k of result.rolledBack) statusOf(k).state = 'rolled-back';
      for (const f of result.failed) {
        statusOf(f.key).state = 'failed';
        statusOf(f.key).detail = f.reason;
        status.errors.push(`${f.key}: ${f.reason}`);
      }
      if (batch) batch.state = result.failed.length ? 'failed' : 'rolled-back';
      publish();
    }
  }

  /** Old containers go once their replacements are accepted, or stay under a name with their version. */
  async function retireOld(keep: boolean): Promise<void> {
    const upgraded = plan.filter((p) => status.instances.some((i) => instanceKey(i) === instanceKey(p) && i.state === 'upgraded'));
    await Promise.all(
      byHost(upgraded).map(async ([host, list]) => {
        try {
          const r = await on(host, SHORT, `${keep ? 'Keep' : 'Remove'} old containers${host ? ` on ${host}` : ''}`).retireOldContainers({
            containers: list.map((p) => ({ container: p.container, fromImage: p.fromImage })),
            keep,
          });
          status.errors.push(...r.warnings.map((w) => `warning: ${host ? `${host}: ` : ''}${w}`));
        } catch (err) {
          // The upgrade itself stands: a leftover old container is worth a warning, not a rollback.
          status.errors.push(`warning: old containers${host ? ` on ${host}` : ''} not ${keep ? 'renamed' : 'removed'}: ${failureMessage(err)}`);
        }
      }),
    );
  }

  /** Every gateway has its server in the load balancer, asked from each gateway's host: refused before anything changes. */
  async function checkLoadBalancer(lb: LoadBalancerInput, gateways: InstancePlan[]): Promise<void> {
    const checks = await onEveryHost(gateways, (host) =>
      on(host, SHORT, `Find the gateways in the load balancer${host ? ` on ${host}` : ''}`).lbCheck({
        lb,
        gateways: gateways.filter((p) => p.host === host).map((p) => lbGateway(p, input.stack)),
      }),
    );
    for (const [host, r] of checks) {
      for (const s of r.servers) {
        // MAINT or DOWN now: lbReady will put it into rotation once its gateway is upgraded.
        if (!['UP', 'no check', 'hooks'].includes(s.state))
          status.errors.push(
            `warning: ${host ? `${host}: ` : ''}load-balancer server ${s.server} (${s.container}) is ${s.state} now; it is put back into rotation once its gateway is upgraded`,
          );
      }
    }
  }

  // --- maintenance windows: no container is stopped outside them; the batch in hand always finishes ---
  /**
   * Before a batch stops anything: inside a window, go on; outside, wait as a pause until the next window opens
   * (it then goes on by itself) or a person decides (continue now, outside the window; or roll back).
   */
  async function awaitWindow(): Promise<void> {
    const w = status.window;
    if (!w || w.state === 'overridden') return;
    for (;;) {
      const s = windowState(windowSpecs, new Date());
      if (s.open) {
        Object.assign(w, { state: 'open', closesAt: s.closesAt?.toISOString(), opensAt: undefined });
        publish();
        return;
      }
      const opensAt = s.opensAt?.toISOString();
      Object.assign(w, { state: 'closed', closesAt: undefined, opensAt });
      pauses += 1;
      status.pause = {
        number: pauses,
        kind: 'window',
        state: 'waiting',
        since: now(),
        reason: `outside the maintenance window (${w.windows.join('; ')}); ${opensAt ? `the next opens at ${opensAt}` : 'no window opens in the coming week'}`,
        failed: [],
        ...(opensAt ? { opensAt } : {}),
      };
      upsertSearchAttributes([{ key: SA_STAGE, value: 'waiting-for-window' }]);
      publish();
      notify('upgrade.waiting-for-window', `Upgrade of ${input.stack} waits for its maintenance window: ${status.pause.reason}`, {
        pause: { ...status.pause },
      });
      const p = status.pause;
      const settled = () => p.state !== 'waiting' || !!status.abort;
      // A second past the opening, so the clock the workflow wakes with is inside the window.
      if (s.opensAt) await condition(settled, Math.max(1000, s.opensAt.getTime() - Date.now() + 1000));
      else await condition(settled);
      abortIfAsked();
      upsertSearchAttributes([{ key: SA_STAGE, value: status.stage }]);
      if (p.state === 'waiting') {
        Object.assign(p, { state: 'decided', choice: 'continue', by: 'maintenance window', at: now() });
        continue;
      }
      if (p.choice === 'rollback')
        throw new Abort(
          'cancelled',
          `${p.by} chose to stop while the upgrade waited for its maintenance window; everything this run changed is rolled back`,
          true,
        );
      Object.assign(w, { state: 'overridden', overriddenBy: p.by, overriddenAt: p.at, opensAt: undefined });
      status.errors.push(`warning: ${p.by} chose to go on outside the maintenance window`);
      publish();
      return;
    }
  }

  /** Between batches is where a cancel may stop the run: never while one is half replaced. */
  function safePoint(): void {
    abortIfAsked();
    if (CancellationScope.current().consideredCancelled) throw new CancelledFailure('cancelled by request');
  }

  /** The same step on every host at once; the first failure (with its host named) fails the stage. */
  async function onEveryHost<T>(targets: { host?: string }[], step: (host: string | undefined) => Promise<T>): Promise<[string | undefined, T][]> {
    const hostsHere = byHost(targets).map(([h]) => h);
    const results = await Promise.allSettled(hostsHere.map(step));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      const err = (results[failed] as PromiseRejectedResult).reason;
      const host = hostsHere[failed];
      if (!host) throw err;
      throw ApplicationFailure.create({ type: 'HostFailed', nonRetryable: true, message: `host ${host}: ${failureMessage(err)}` });
    }
    return hostsHere.map((h, i) => [h, (results[i] as PromiseFulfilledResult<T>).value]);
  }

  upsertSearchAttributes([{ key: SA_STAGE, value: 'preflight' }]);
  try {
    enterStage('preflight');
    const targets = [...input.gateways, ...input.pumps];
    const preflights = await onEveryHost(targets, async (host) => {
      const mine = <T extends { host?: string }>(list: T[]) => list.filter((t) => t.host === host);
      try {
        return await firstContact(host, SHORT, `Preflight ${input.stack}${host ? ` on ${host}` : ''}`).preflight({
          ...input,
          gateways: mine(input.gateways),
          pumps: mine(input.pumps),
        });
      } catch (err) {
        throw explainNoWorker(err, host);
      }
    });
    // The plan's order, whatever order the hosts answered in.
    const found = preflights.flatMap(([, r]) => r.instances);
    plan = targets.map((t) => found.find((p) => p.container === t.container && p.host === t.host) as InstancePlan);
    status.instances = pendingStatus(plan);
    for (const [host, r] of preflights) status.errors.push(...r.warnings.map((w) => `warning: ${host ? `${host}: ` : ''}${w}`));
    status.failures.budget = failureBudget(input.maxFailures, plan.length);
    const gateways = plan.filter((p) => p.role === 'gateway');
    const batches = planBatches(
      gateways.map((p) => ({ key: instanceKey(p), pool: p.pool, host: p.host })),
      input.batchSize,
      input.maxUnavailable,
    );
    status.batches = batches.map((keys, i) => ({ name: String(i + 1), instances: keys, state: 'pending' }));
    batches.forEach((keys, i) => keys.forEach((k) => (statusOf(k).batch = i + 1)));
    const pumps = plan.filter((p) => p.role === 'pump');
    if (pumps.length) {
      status.batches.push({ name: 'pumps', instances: pumps.map(instanceKey), state: 'pending' });
      pumps.forEach((p) => (statusOf(instanceKey(p)).batch = 0));
    }
    if (batches.length < 2 && gateOf('after-canary').state !== 'skipped') gateOf('after-canary').state = 'skipped';
    if (input.loadBalancer) await checkLoadBalancer(input.loadBalancer, gateways);
    endStage('preflight');

    enterStage('backup');
    const backups = await onEveryHost(plan, (host) =>
      on(host, SHORT, `Back up ${plan.filter((p) => p.host === host).length} containers${host ? ` on ${host}` : ''}`).backupStack({
        stack: input.stack,
        ...(host ? { host } : {}),
        runId: workflowInfo().runId,
        backupDir: input.backupDir,
        instances: plan.filter((p) => p.host === host),
      }),
    );
    for (const [host, b] of backups) {
      manifests[host ?? ''] = b.manifest;
      const hb: HostBackup = {
        dir: b.dir,
        manifest: b.manifest,
        ...(b.manifestSha256 ? { manifestSha256: b.manifestSha256 } : {}),
        files: b.entries.reduce((n, e) => n + e.files, 0),
        redis: b.redis,
      };
      status.backups.push(host ? { host, ...hb } : hb);
    }
    endStage('backup');

    enterStage('pull');
    const pulls = await onEveryHost(plan, (host) => {
      const images = [...new Set(plan.filter((p) => p.host === host).map((p) => p.toImage))];
      return on(host, PULL, `Pull ${images.join(', ')}${host ? ` on ${host}` : ''}`).pullImages({ images });
    });
    status.pull = pulls.map(([host, r]) => `${host ? `${host}: ` : ''}${r.summary}`).join('; ');
    endStage('pull');

    await gate('before-gateways');
    enterStage('gateways');
    for (let i = 0; i < batches.length; i++) {
      safePoint();
      await awaitWindow();
      await runBatch(String(i + 1), batches[i], status.batches[i]);
      await withinBudget();
      if (i === 0 && batches.length > 1) await gate('after-canary');
    }
    endStage('gateways');

    if (pumps.length) {
      await gate('before-pump');
      safePoint();
      await awaitWindow();
      enterStage('pump');
      await runBatch('pumps', pumps.map(instanceKey), status.batches.find((b) => b.name === 'pumps') as BatchStatus);
      await withinBudget();
      endStage('pump');
    } else {
      endStage('before-pump', 'skipped');
      endStage('pump', 'skipped');
    }

    safePoint();
    enterStage('verify');
    const upgraded = plan.filter((p) => statusOf(instanceKey(p)).state === 'upgraded');
    await onEveryHost(upgraded, (host) =>
      on(host, SHORT, `Verify ${input.stack}${host ? ` on ${host}` : ''}`).verifyStack({ instances: upgraded.filter((p) => p.host === host) }),
    );
    await retireOld(input.keepOldContainers);
    endStage('verify');
    const left = failedKeys();
    status.outcome = left.length ? 'partial' : 'succeeded';
    status.stage = 'done';
    upsertSearchAttributes([{ key: SA_STAGE, value: status.outcome }]);
    if (left.length) {
      // Not a success to show in green: the run ends failed, with everything it did recorded.
      status.reason = `${left.length} of ${plan.length} instances are back on their old version: ${left.join(', ')}`;
      await announceEnd();
      publish();
      throw ApplicationFailure.create({ type: FAILURE_TYPE.partial, message: status.reason, details: [status], nonRetryable: true });
    }
    await announceEnd();
    publish();
    return status;
  } catch (err) {
    if (status.outcome === 'partial') throw err;
    return await CancellationScope.nonCancellable(() => finishFailed(err));
  }

  /** The outcome, to every webhook that wants it; waits for every notification of the run to have left. */
  async function announceEnd(): Promise<void> {
    if (!notifying) return;
    const target = `gateway ${input.gatewayVersion}${input.pumps.length && input.pumpVersion ? `, pump ${input.pumpVersion}` : ''}`;
    const said = status.outcome === 'succeeded' ? 'succeeded' : `ended ${status.outcome}`;
    notify(
      `upgrade.${status.outcome}` as NotifyEventName,
      `Upgrade of ${input.stack} to ${target} ${said}${status.reason ? `: ${status.reason}` : ''}`,
      status.reason ? { reason: status.reason } : {},
    );
    await notificationsSent();
  }

  async function finishFailed(err: unknown): Promise<never> {
    const running = status.stages.find((s) => s.state === 'running');
    if (running) endStage(running.name, 'failed');
    if (err instanceof Abort && err.rollback) {
      // A person stopped it and asked for the old versions back: the same path as a failed health check.
      status.reason = err.message;
      await rollbackAll();
      const allBack = status.instances.every((i) => i.state === 'pending' || i.state === 'rolled-back');
      status.outcome = allBack ? err.outcome : 'failed';
      if (!allBack) status.reason = `${err.message}, but not every instance came back: ${status.errors.join('; ')}`;
    } else if (err instanceof Abort || isCancellation(err)) {
      // A person stopped it: what was upgraded stays (it passed its health check); the old containers are kept.
      status.outcome = err instanceof Abort ? err.outcome : 'cancelled';
      status.reason = err instanceof Abort ? err.message : 'cancelled by request';
      await retireOld(true);
    } else {
      status.reason = failureMessage(err);
      status.errors.push(status.reason);
      const touched = changed.length > 0 || failedKeys().length > 0;
      if (touched) {
        await rollbackAll();
        const allBack = status.instances.every((i) => i.state === 'pending' || i.state === 'rolled-back');
        status.outcome = allBack ? 'rolled-back' : 'failed';
        if (allBack) status.reason = `rolled back: ${status.reason}`;
      } else {
        status.outcome = 'failed';
      }
    }
    upsertSearchAttributes([{ key: SA_STAGE, value: status.outcome }]);
    await announceEnd();
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

/** Where the run stands against its windows before it waits for any. */
function windowNow(specs: WindowSpec[], windows: string[]): WindowStatus {
  const s = windowState(specs, new Date());
  return s.open
    ? { windows, state: 'open', closesAt: s.closesAt?.toISOString() }
    : { windows, state: 'closed', ...(s.opensAt ? { opensAt: s.opensAt.toISOString() } : {}) };
}

const FAILURE_TYPE: Record<Outcome, string> = {
  running: 'UpgradeFailed',
  succeeded: 'UpgradeFailed',
  partial: 'UpgradePartial',
  failed: 'UpgradeFailed',
  'rolled-back': 'UpgradeRolledBack',
  rejected: 'UpgradeRejected',
  'timed-out': 'UpgradeApprovalTimedOut',
  cancelled: 'UpgradeCancelled',
};
