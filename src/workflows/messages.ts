// Messages defined once, imported by the workflow and by the client.
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import type { Decision, GateStatus, UpgradeStatus } from '../shared/types';

/** Approve the waiting gate. Rejected by the validator when that gate is not waiting. */
export const approveUpdate = defineUpdate<GateStatus, [Decision]>('approveGate');
/** Reject the waiting gate: the upgrade stops before touching that stage. */
export const rejectUpdate = defineUpdate<GateStatus, [Decision]>('rejectGate');
/** Same meaning as the updates, for `temporal workflow signal --name approve|reject`; ignored when no gate waits. */
export const approveSignal = defineSignal<[Decision]>('approve');
export const rejectSignal = defineSignal<[Decision]>('reject');
export const statusQuery = defineQuery<UpgradeStatus>('status');

/** A fixed update id per gate and decision, so a retried approve is deduplicated by the server. */
export function decisionUpdateId(gate: string, decision: 'approve' | 'reject'): string {
  return `${decision}-${gate}`;
}
