// Approval gates: where the run waits for people, and the rules a decision must pass. The validators and the
// appliers are plain functions of the status, so they are tested without a worker (test/gate-rules.test.ts);
// the workflow registers them as an Update's validator and handler, and a Signal with the same meaning.
import { ApplicationFailure } from '@temporalio/workflow';
import { ErrorType } from '../../shared/errors';
import { GATES, type Decision, type GateName, type GateStatus, type StageName, type UpgradeInput, type UpgradeStatus } from '../../shared/types';
import { now, type FleetRun } from './run';
import { Abort, abortIfAsked, waitUntil } from './stops';

/** Four-eyes as the plan says it: how many distinct people approve each gate, and whether the starter may. */
export interface ApprovalRules {
  required: number;
  /** Approvals are counted by name (more than one required, or the starter excluded). */
  fourEyes: boolean;
  mustDifferFromStarter: boolean;
  startedBy?: string;
}

export function approvalRules(input: UpgradeInput): ApprovalRules {
  const required = Math.max(1, input.approvals ?? 1);
  return {
    required,
    fourEyes: required > 1 || !!input.approverMustDifferFromStarter,
    mustDifferFromStarter: !!input.approverMustDifferFromStarter,
    ...(input.startedBy ? { startedBy: input.startedBy } : {}),
  };
}

/** The gate that waits now, when it is the one asked for (or none was named). */
export function waitingGate(status: UpgradeStatus, requested?: GateName): GateStatus | undefined {
  const waiting = status.gates.find((g) => g.state === 'waiting');
  if (!waiting || (requested && requested !== waiting.gate)) return undefined;
  return waiting;
}

/** A decision is only taken for a known gate that waits. */
export function validateDecision(status: UpgradeStatus, d: Decision): void {
  if (d.gate && !(GATES as readonly string[]).includes(d.gate)) {
    throw ApplicationFailure.nonRetryable(`unknown gate "${d.gate}"; gates are ${GATES.join(', ')}`, ErrorType.InvalidGate);
  }
  if (!waitingGate(status, d.gate)) {
    const asked = d.gate ? status.gates.find((g) => g.gate === d.gate) : undefined;
    const waiting = status.gates.find((g) => g.state === 'waiting');
    const why = asked ? `gate "${asked.gate}" is ${asked.state}${asked.by ? ` (by ${asked.by})` : ''}` : 'no gate is waiting';
    throw ApplicationFailure.nonRetryable(
      `${why}; ${waiting ? `the waiting gate is "${waiting.gate}"` : `the upgrade is at stage "${status.stage}"`}`,
      ErrorType.GateNotWaiting,
    );
  }
}

/** Who may still approve the waiting gate: the four-eyes rules, said in words for the person who was refused. */
export function validateApprover(status: UpgradeStatus, rules: ApprovalRules, d: Decision): void {
  if (!rules.fourEyes) return;
  const g = waitingGate(status, d.gate) as GateStatus;
  const have = g.approvals ?? [];
  const who = `${have.length} of ${rules.required} approvals so far${have.length ? ` (${have.map((a) => a.by).join(', ')})` : ''}`;
  if (!d.by) throw ApplicationFailure.nonRetryable(`this plan needs named approvers: give --by (or "by" in the update); ${who}`, ErrorType.ApproverRequired);
  if (have.some((a) => a.by === d.by)) {
    throw ApplicationFailure.nonRetryable(
      `${d.by} has already approved gate "${g.gate}"; ${who}: the next approval must come from someone else`,
      ErrorType.ApproverRepeated,
    );
  }
  if (rules.mustDifferFromStarter && d.by === rules.startedBy) {
    throw ApplicationFailure.nonRetryable(
      `${d.by} started this upgrade and may not approve it; ${who}: someone other than ${d.by} must approve`,
      ErrorType.ApproverIsStarter,
    );
  }
}

/** An approval (validated): one of several under four-eyes, or the gate's decision. Returns the gate as it stands. */
export function applyApproval(status: UpgradeStatus, rules: ApprovalRules, d: Decision): GateStatus {
  if (!rules.fourEyes) return applyDecision(status, d, 'approved');
  const g = waitingGate(status, d.gate) as GateStatus;
  g.approvals = [...(g.approvals ?? []), { by: d.by as string, at: now(), ...(d.comment ? { comment: d.comment } : {}) }];
  if (g.approvals.length < rules.required) return { ...g };
  const comments = g.approvals.map((a) => a.comment).filter(Boolean);
  return applyDecision(status, { ...d, by: g.approvals.map((a) => a.by).join(', '), comment: comments.join('; ') || undefined }, 'approved');
}

/** The waiting gate decided: approved (by all its approvers) or rejected. */
export function applyDecision(status: UpgradeStatus, d: Decision, state: 'approved' | 'rejected'): GateStatus {
  const g = waitingGate(status, d.gate) as GateStatus;
  g.state = state;
  g.by = d.by || 'unknown';
  g.at = now();
  if (d.comment) g.comment = d.comment;
  return { ...g };
}

/** " (1 of 2 approvals: alice)" under four-eyes, for one-line summaries; empty otherwise. */
function approvalsSoFar(g: GateStatus): string {
  return g.required
    ? ` (${g.approvals?.length ?? 0} of ${g.required} approvals${g.approvals?.length ? `: ${g.approvals.map((a) => a.by).join(', ')}` : ''})`
    : '';
}

/**
 * Wait at a gate until a person decides, the approval timeout passes (the run aborts: it never proceeds by
 * itself) or a cancel with rollback is asked. Returns when approved; throws Abort otherwise.
 */
export async function awaitGate(run: FleetRun, name: GateName): Promise<void> {
  const { input, status, notifier } = run;
  const stage = name as StageName;
  const g = run.gateOf(name);
  if (g.state === 'skipped') {
    run.endStage(stage, 'skipped');
    return;
  }
  run.enterStage(stage);
  g.state = 'waiting';
  g.waitingSince = now();
  const rules = approvalRules(input);
  if (rules.fourEyes) {
    g.required = rules.required;
    g.approvals = [];
  }
  run.publish();
  const isDecided = () => g.state !== 'waiting' || !!status.abort;
  let decided: boolean;
  if (notifier.notifying) {
    notifier.notify('gate.waiting', `Gate ${name} of ${input.stack} is waiting for approval${approvalsSoFar(g)}`, { gate: { ...g } });
    decided = await notifier.waitReminding(isDecided, input.approvalTimeoutMs, () =>
      notifier.notify('gate.reminder', `Still waiting: gate ${name} of ${input.stack}, since ${g.waitingSince}${approvalsSoFar(g)}`, { gate: { ...g } }),
    );
    if (g.state !== 'waiting' || !decided) {
      const how = decided ? `${g.state} by ${g.by}${g.comment ? `: ${g.comment}` : ''}` : `timed out after ${(input.approvalTimeoutMs as number) / 1000} s`;
      notifier.notify('gate.decided', `Gate ${name} of ${input.stack} ${how}`, { gate: { ...g, ...(decided ? {} : { state: 'timed-out' as const }) } });
    }
  } else {
    decided = await waitUntil(isDecided, input.approvalTimeoutMs);
  }
  if (g.state === 'waiting' && status.abort) {
    g.state = 'not-reached';
    run.endStage(stage, 'failed');
    abortIfAsked(run);
  }
  if (!decided) {
    g.state = 'timed-out';
    g.at = now();
    run.endStage(stage, 'failed');
    throw new Abort('timed-out', `approval gate "${name}" timed out after ${input.approvalTimeoutMs} ms; upgrade aborted`);
  }
  if ((g.state as GateStatus['state']) === 'rejected') {
    run.endStage(stage, 'failed');
    const rollback = run.rejectedWithRollback;
    throw new Abort(
      'rejected',
      `gate "${name}" rejected by ${g.by}${g.comment ? `: ${g.comment}` : ''}${rollback ? '; everything this run changed is rolled back' : ''}`,
      rollback,
    );
  }
  run.endStage(stage);
}
