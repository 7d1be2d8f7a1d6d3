// Messages defined once, imported by the workflows and by the client.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { AbortRequest, AbortStatus, Decision, GateStatus, InstanceStatus, PauseDecision, PauseStatus, UpgradeStatus } from '../shared/types';

/** Approve the waiting gate. Rejected by the validator when that gate is not waiting. */
export const approveUpdate = defineUpdate<GateStatus, [Decision]>('approveGate');
/** Reject the waiting gate: the upgrade stops before touching that stage. */
export const rejectUpdate = defineUpdate<GateStatus, [Decision]>('rejectGate');
/** Same meaning as the updates, for `temporal workflow signal --name approve|reject`; ignored when no gate waits. */
export const approveSignal = defineSignal<[Decision]>('approve');
export const rejectSignal = defineSignal<[Decision]>('reject');
/** A paused fleet: retry the failed instances, continue without them, or roll back everything this run changed. */
export const resolvePauseUpdate = defineUpdate<PauseStatus, [PauseDecision]>('resolvePause');
export const resolvePauseSignal = defineSignal<[PauseDecision]>('resolvePause');
/** Stop at the next safe point (a batch under way finishes first) and roll back everything this run changed. */
export const abortWithRollbackUpdate = defineUpdate<AbortStatus, [AbortRequest]>('abortWithRollback');
export const statusQuery = defineQuery<UpgradeStatus>('status');
/** A batch child's live view of its instances; the client overlays it on the parent's status. */
export const batchStatusQuery = defineQuery<InstanceStatus[]>('batchStatus');

/**
 * A fixed update id per gate, decision, person and approvals already given, so a retried call is deduplicated by
 * the server, a second approver (four-eyes) is a decision of its own, and the same person asking again after
 * being counted reaches the validator and is refused.
 */
export function decisionUpdateId(gate: string, decision: 'approve' | 'reject', by?: string, approvalsSoFar = 0): string {
  return by ? `${decision}-${gate}-${by}-${approvalsSoFar}` : `${decision}-${gate}`;
}

/** One abort per run: a retried call is the same request. */
export const ABORT_UPDATE_ID = 'abort-with-rollback';

/** One id per pause and choice: a retried call is deduplicated, a later pause is a new decision. */
export function pauseUpdateId(pauseNumber: number, choice: string): string {
  return `pause-${pauseNumber}-${choice}`;
}
