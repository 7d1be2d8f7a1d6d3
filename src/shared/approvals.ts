// How far a four-eyes gate is: "1 of 2 approvals (alice)". One wording for the workflow's messages, the Web UI,
// notifications and the CLI. Pure.
import { signedBy } from './signed-decisions';
import type { GateStatus } from './types';

type Approval = NonNullable<GateStatus['approvals']>[number];

/** The approver as people should read them: the signer's name and key when the approval was signed. */
export function approverName(a: Approval): string {
  return a.signer ? signedBy(a.signer) : a.by;
}

/**
 * "1 of 2 approvals (alice)", by name only, signed or not (each approval's key is shown where it is listed);
 * `soFar` says "so far", `names: false` leaves the names out, `count` counts the first
 * n approvals only (for the news that the n-th came in).
 */
export function approvalCount(g: Pick<GateStatus, 'approvals' | 'required'>, opts: { soFar?: boolean; names?: boolean; count?: number } = {}): string {
  const have = (g.approvals ?? []).slice(0, opts.count);
  const names = opts.names !== false && have.length ? ` (${have.map((a) => a.by).join(', ')})` : '';
  return `${have.length} of ${g.required ?? 1} approvals${opts.soFar ? ' so far' : ''}${names}`;
}
