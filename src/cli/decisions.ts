// What the CLI says about a decision it has just had recorded: exactly what the workflow answered, no more (a
// four-eyes approval that leaves the gate waiting says so), with the signer and "signature verified" when signed.
import { signedBy, type VerifiedSignature } from '../shared/signed-decisions';
import type { AbortStatus, GateStatus, PauseStatus } from '../shared/types';
import { clock } from './table';

/** "alice (key SHA256:…, signature verified)", or the bare name when unsigned. */
export function whoSigned(by: string | undefined, signer: VerifiedSignature | undefined): string {
  return signer ? signedBy(signer) : (by ?? 'unknown');
}

const quoted = (comment?: string) => (comment ? `: "${comment}"` : '');

export function describeGateDecision(decision: 'approve' | 'reject', workflowId: string, g: GateStatus, rollback?: boolean): string {
  const approvals = g.approvals ?? [];
  if (decision === 'approve' && g.state === 'waiting' && g.required) {
    // Four-eyes: this approval counted, the gate still waits for others.
    const mine = approvals[approvals.length - 1];
    const left = g.required - approvals.length;
    return `Gate ${g.gate} of ${workflowId}: approval ${approvals.length} of ${g.required} recorded (${whoSigned(mine?.by, mine?.signer)}${mine?.comment ? `, "${mine.comment}"` : ''}); waiting for ${left} more`;
  }
  const verb = g.state === 'approved' ? 'Approved' : g.state === 'rejected' ? 'Rejected' : `Gate is ${g.state}:`;
  const signers = [...approvals.map((a) => a.signer), g.signer].filter((s): s is VerifiedSignature => !!s);
  const who = signers.length ? signers.map((s) => whoSigned(s.name, s)).join(', ') : (g.by ?? 'unknown');
  return (
    `${verb} gate ${g.gate} of ${workflowId} (by ${who} at ${clock(g.at)}${quoted(g.comment)})` +
    (g.state === 'rejected' && rollback ? '; everything this run changed is being rolled back' : '')
  );
}

export function describePauseDecision(workflowId: string, p: PauseStatus): string {
  return `Pause ${p.number} of ${workflowId}: ${p.choice} (by ${whoSigned(p.by, p.signer)} at ${clock(p.at)}${quoted(p.comment)})`;
}

export function describeAbort(workflowId: string, a: AbortStatus): string {
  return (
    `Cancellation with rollback of ${workflowId} requested by ${whoSigned(a.by, a.signer)}${quoted(a.reason)}: it stops at the next safe point and rolls back everything it changed; ` +
    `follow it with \`tyk-upgrade watch ${workflowId}\``
  );
}
