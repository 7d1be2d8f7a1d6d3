// Signed decisions (docs/approvals.md): with approvers: in the plan, each decision may carry a statement signed by
// an approver's SSH key, and with requireSignatures: it must. The workflow verifies it itself (pure code, the
// workflow's clock), so a person with write access to Temporal cannot approve in someone else's name. Plain
// functions of the status, as the other rules are (test/gate-rules.test.ts). Plans without approvers: nothing here
// runs, so their histories replay as before.
import { ApplicationFailure } from '@temporalio/workflow';
import {
  checkSigned,
  DEFAULT_SIGNATURE_MAX_AGE_MS,
  SignatureRefusal,
  type Approver,
  type Expected,
  type VerifiedSignature,
} from '../../shared/signed-decisions';
import { signatureId } from '../../shared/sshsig';
import { contentHash, type Signed, type Statement, type StatementDecision, type StatementSubject } from '../../shared/statement';
import type { AbortRequest, Decision, GateName, PauseDecision, RefusedDecision, UpgradeInput, UpgradeStatus } from '../../shared/types';

export interface SignatureRules {
  approvers: Approver[];
  /** Every decision must be signed; otherwise an unsigned one is taken as before (a name is a claim). */
  required: boolean;
  maxAgeMs: number;
}

/** Undefined when the plan has no approvers: decisions are names, as before 0.4. */
export function signatureRules(input: UpgradeInput): SignatureRules | undefined {
  if (!input.approvers?.length) return undefined;
  return { approvers: input.approvers, required: !!input.requireSignatures, maxAgeMs: input.signatureMaxAgeMs ?? DEFAULT_SIGNATURE_MAX_AGE_MS };
}

/** Where and when a decision is checked: the workflow's id and clock. */
export interface SigningContext {
  workflowId: string;
  now: number;
}

export interface Verified {
  signer: VerifiedSignature;
  statement: Statement;
}

/** The decision's signature checked; undefined for an unsigned decision the plan allows. Throws the refusal. */
function verify(
  status: UpgradeStatus,
  rules: SignatureRules | undefined,
  signed: Signed | undefined,
  expected: Omit<Expected, 'workflowId' | 'upgradeId'>,
  ctx: SigningContext,
): Verified | undefined {
  if (!rules || (!signed && !rules.required)) return undefined;
  const r = checkSigned(
    signed,
    { workflowId: ctx.workflowId, upgradeId: status.upgradeId, ...expected },
    { approvers: rules.approvers, now: ctx.now, maxAgeMs: rules.maxAgeMs, used: (status.signatures ?? []).map((s) => signatureId(s.signature)) },
  );
  if (!r.ok) throw ApplicationFailure.nonRetryable(r.message, r.type);
  return { signer: r.signer, statement: r.statement };
}

const fields = (by: string | undefined, comment: string | undefined) => ({
  ...(by !== undefined ? { name: by } : {}),
  ...(comment !== undefined ? { comment } : {}),
});

/**
 * A gate decision's signature. The gate is the one named, else the waiting one (validateDecision has checked it
 * waits). A signed reject says itself whether it rolls back; a `rollback` given beside it must agree.
 */
export function verifyGateDecision(
  status: UpgradeStatus,
  rules: SignatureRules | undefined,
  d: Decision,
  decision: 'approve' | 'reject',
  ctx: SigningContext,
): Verified | undefined {
  const gate = d.gate ?? (status.gates.find((g) => g.state === 'waiting')?.gate as GateName);
  const decisions: StatementDecision[] =
    decision === 'approve' ? ['approve'] : d.rollback === undefined ? ['reject', 'reject-rollback'] : [d.rollback ? 'reject-rollback' : 'reject'];
  return verify(status, rules, d.signed, { subject: { kind: 'gate', gate }, decisions, ...fields(d.by, d.comment) }, ctx);
}

export function verifyPauseDecision(status: UpgradeStatus, rules: SignatureRules | undefined, d: PauseDecision, ctx: SigningContext): Verified | undefined {
  const subject: StatementSubject = { kind: 'pause', number: status.pause?.number ?? 0 };
  return verify(status, rules, d.signed, { subject, decisions: [d.choice], ...fields(d.by, d.comment) }, ctx);
}

export function verifyAbort(status: UpgradeStatus, rules: SignatureRules | undefined, r: AbortRequest, ctx: SigningContext): Verified | undefined {
  return verify(status, rules, r.signed, { subject: { kind: 'abort' }, decisions: ['abort-rollback'], ...fields(r.by, r.reason) }, ctx);
}

/**
 * The start, when the plan requires signatures (or the start is signed): the statement must sign exactly this
 * plan (its hash, without the signature itself) in the starter's name, no older than the plan allows when the start
 * was asked for. Throws the refusal; the run then ends before it changes anything.
 */
export function verifyStart(status: UpgradeStatus, input: UpgradeInput, ctx: SigningContext): VerifiedSignature | undefined {
  const rules = signatureRules(input);
  const { startSigned, ...plan } = input;
  if (!rules || (!startSigned && !rules.required)) return undefined;
  const r = checkSigned(
    startSigned,
    { workflowId: ctx.workflowId, planHash: contentHash(plan), subject: { kind: 'start' }, decisions: ['start'], ...fields(input.startedBy, undefined) },
    { approvers: rules.approvers, now: ctx.now, maxAgeMs: rules.maxAgeMs, used: [] },
  );
  if (!r.ok) {
    const why =
      r.type === SignatureRefusal.unsigned
        ? 'the plan requires signed decisions and the start is not signed: start it with `tyk-upgrade start --sign-key KEY`'
        : r.message;
    throw ApplicationFailure.nonRetryable(`the start is refused: ${why}`, r.type);
  }
  recordSignature(status, r.signer);
  status.startSigner = r.signer;
  return r.signer;
}

/** What a signed decision says, taken from its statement: the name and comment as signed. */
export function asSigned<T extends { by?: string; comment?: string }>(d: T, v: Verified | undefined): T {
  if (!v) return d;
  return { ...d, by: v.signer.name, comment: v.statement.comment || undefined };
}

/** Every accepted signature, in order: none counts twice, and the report lists them for an auditor. */
export function recordSignature(status: UpgradeStatus, signer: VerifiedSignature | undefined): void {
  if (signer) status.signatures = [...(status.signatures ?? []), signer];
}

/** A Signal cannot be refused to its sender: what it asked and why it was not taken are kept in the status. */
export function recordRefusal(status: UpgradeStatus, asked: string, err: unknown, at: string): void {
  const e = err instanceof ApplicationFailure ? err : undefined;
  const refusal: RefusedDecision = { at, asked, type: e?.type ?? 'Refused', message: e?.message ?? String(err) };
  status.refused = [...(status.refused ?? []), refusal];
}
