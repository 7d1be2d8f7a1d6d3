// Checks a signed decision against the plan's approvers and the decision it is meant for. Pure and deterministic
// (the caller passes the time), so the workflow's validators and signal handlers use it as they are, and the CLI
// uses the same code to refuse early what the workflow would refuse.
import { ErrorType } from './errors';
import { parsePublicKey, parseSignature, SshFormatError, signatureId, verifySignature, type PublicKey, type SshSignature } from './sshsig';
import {
  parseStatement,
  SIGNATURE_NAMESPACE,
  StatementError,
  subjectText,
  type Signed,
  type Statement,
  type StatementDecision,
  type StatementSubject,
} from './statement';

/** An approver as the plan lists them: a name and an OpenSSH public key line. */
export interface Approver {
  name: string;
  key: string;
}

export const DEFAULT_SIGNATURE_MAX_AGE_MS = 15 * 60_000;
/** How far ahead of the workflow's clock a signer's clock may be. */
export const CLOCK_SKEW_MS = 5 * 60_000;

/** The refusals, each its own failure type (src/shared/errors.ts), so a script can tell them apart. */
export const SignatureRefusal = {
  unsigned: ErrorType.SignatureRequired,
  malformed: ErrorType.SignatureMalformed,
  unknownKey: ErrorType.SignerUnknown,
  invalid: ErrorType.SignatureInvalid,
  otherUpgrade: ErrorType.StatementOtherUpgrade,
  otherDecision: ErrorType.StatementOtherDecision,
  mismatch: ErrorType.StatementMismatch,
  reused: ErrorType.StatementReused,
  expired: ErrorType.StatementExpired,
} as const;
export type SignatureRefusalType = (typeof SignatureRefusal)[keyof typeof SignatureRefusal];

/** A signature that verified, as it is recorded and shown. */
export interface VerifiedSignature {
  /** The approver's name from the plan. */
  name: string;
  fingerprint: string;
  keyType: string;
  verified: true;
  signedAt: string;
  /** The exact statement and armored signature, for an auditor to re-check with `ssh-keygen -Y verify`. */
  statement: string;
  signature: string;
}

/** What the decision at hand must be, and the fields it came with outside the statement. */
export interface Expected {
  workflowId: string;
  /** The upgrade's identity; a start statement binds the plan's hash instead. */
  upgradeId?: string;
  planHash?: string;
  subject: StatementSubject;
  /** The decisions this message may carry (an approve update takes approve only). */
  decisions: readonly StatementDecision[];
  /** Given next to the statement: each, when present, must equal the signed value. */
  name?: string;
  comment?: string;
}

export interface CheckContext {
  approvers: Approver[];
  /** The workflow's clock (ms since the epoch). */
  now: number;
  maxAgeMs: number;
  /** Ids (signatureId) of the signatures already used in this upgrade. */
  used: readonly string[];
}

export type CheckResult = { ok: true; statement: Statement; signer: VerifiedSignature } | { ok: false; type: SignatureRefusalType; message: string };

const refuse = (type: SignatureRefusalType, message: string): CheckResult => ({ ok: false, type, message });

/** The plan's approvers with their parsed keys; the plan schema has checked every key already. */
export function approverKeys(approvers: Approver[]): { name: string; key: PublicKey }[] {
  return approvers.map((a) => ({ name: a.name, key: parsePublicKey(a.key) }));
}

/** Whose key signed: the approver with that key, if any. */
export function approverOf(approvers: Approver[], key: PublicKey): string | undefined {
  return approverKeys(approvers).find((a) => a.key.fingerprint === key.fingerprint)?.name;
}

export function checkSigned(signed: Signed | undefined, expected: Expected, ctx: CheckContext): CheckResult {
  const what = `${subjectText(expected.subject)} of ${expected.workflowId}`;
  if (!signed || typeof signed.statement !== 'string' || typeof signed.signature !== 'string') {
    return refuse(
      SignatureRefusal.unsigned,
      `this upgrade requires signed decisions and this one is not signed: sign it with \`--sign-key ~/.ssh/id_ed25519\` (or paste the payload \`tyk-upgrade sign\` prints); ${what} is unchanged`,
    );
  }
  let sig: SshSignature;
  let statement: Statement;
  try {
    sig = parseSignature(signed.signature);
    statement = parseStatement(signed.statement);
  } catch (err) {
    if (err instanceof SshFormatError || err instanceof StatementError)
      return refuse(SignatureRefusal.malformed, `the signed decision is malformed: ${err.message}`);
    throw err;
  }
  if (sig.namespace !== SIGNATURE_NAMESPACE) {
    return refuse(
      SignatureRefusal.malformed,
      `the signature was made for namespace "${sig.namespace}"; sign with \`ssh-keygen -Y sign -n ${SIGNATURE_NAMESPACE}\``,
    );
  }
  const name = approverOf(ctx.approvers, sig.publicKey);
  if (name === undefined) {
    const known = approverKeys(ctx.approvers)
      .map((a) => `${a.name} ${a.key.fingerprint}`)
      .join(', ');
    return refuse(
      SignatureRefusal.unknownKey,
      `signed with key ${sig.publicKey.fingerprint}, which is not an approver of this upgrade (the plan's approvers: ${known})`,
    );
  }
  if (!verifySignature(sig, signed.statement, SIGNATURE_NAMESPACE)) {
    return refuse(
      SignatureRefusal.invalid,
      `the signature of ${name}'s key ${sig.publicKey.fingerprint} does not verify over this statement: it was changed after it was signed, or the signature is of other text`,
    );
  }
  const identity = expected.subject.kind === 'start' ? expected.planHash : expected.upgradeId;
  const signedIdentity = statement.subject.kind === 'start' ? statement.planHash : statement.upgradeId;
  if (
    statement.workflowId !== expected.workflowId ||
    (expected.subject.kind === 'start') !== (statement.subject.kind === 'start') ||
    signedIdentity !== identity
  ) {
    const was = `${statement.workflowId} (${statement.subject.kind === 'start' ? `plan ${statement.planHash}` : `upgrade ${statement.upgradeId}`})`;
    const is = `${expected.workflowId} (${expected.subject.kind === 'start' ? `plan ${expected.planHash}` : `upgrade ${expected.upgradeId}`})`;
    return refuse(SignatureRefusal.otherUpgrade, `the statement was signed for ${was}, not for this one, ${is}; sign a new statement for this upgrade`);
  }
  if (subjectText(statement.subject) !== subjectText(expected.subject) || !expected.decisions.includes(statement.decision)) {
    return refuse(
      SignatureRefusal.otherDecision,
      `the statement decides "${statement.decision}" for ${subjectText(statement.subject)}, but this is ${expected.decisions.join(' or ')} for ${subjectText(expected.subject)}; sign a statement for this decision`,
    );
  }
  if (statement.name !== name) {
    return refuse(
      SignatureRefusal.mismatch,
      `the statement is signed as "${statement.name}" but the key ${sig.publicKey.fingerprint} is ${name}'s in the plan`,
    );
  }
  for (const [field, given, signedValue] of [
    ['name', expected.name, statement.name],
    ['comment', expected.comment, statement.comment],
  ] as const) {
    if (given !== undefined && given !== signedValue) {
      return refuse(
        SignatureRefusal.mismatch,
        `the decision's ${field} ${JSON.stringify(given)} differs from the signed statement's ${JSON.stringify(signedValue)}`,
      );
    }
  }
  const id = signatureId(signed.signature);
  if (ctx.used.includes(id))
    return refuse(SignatureRefusal.reused, `this signed statement of ${name} was already used in this upgrade; sign a new one for each decision`);
  const at = Date.parse(statement.time);
  const age = ctx.now - at;
  if (age > ctx.maxAgeMs) {
    return refuse(
      SignatureRefusal.expired,
      `the statement was signed at ${statement.time}, ${Math.round(age / 1000)} s ago; the plan accepts statements up to ${ctx.maxAgeMs / 1000} s old: sign a new one`,
    );
  }
  if (-age > CLOCK_SKEW_MS) {
    return refuse(
      SignatureRefusal.expired,
      `the statement is dated ${statement.time}, ${Math.round(-age / 1000)} s ahead of the workflow's clock; check the signer's clock and sign again`,
    );
  }
  return {
    ok: true,
    statement,
    signer: {
      name,
      fingerprint: sig.publicKey.fingerprint,
      keyType: sig.publicKey.type,
      verified: true,
      signedAt: statement.time,
      statement: signed.statement,
      signature: signed.signature,
    },
  };
}

/** The plan's approvers as people read them (plan, report, Web UI): name, key type, fingerprint. */
export function approverRows(approvers: Approver[] | undefined): [string, string, string][] {
  return approverKeys(approvers ?? []).map((a) => [a.name, a.key.type, a.key.fingerprint]);
}

/** What the plan's signatures mean, in one sentence. */
export function signaturePolicy(input: {
  approvers?: Approver[];
  requireSignatures?: boolean;
  signatureMaxAgeMs?: number;
  approvals?: number;
  approverMustDifferFromStarter?: boolean;
}): string {
  if (!input.approvers?.length) return 'none: approvals carry names, which are claims (docs/approvals.md)';
  const age = `${Math.round((input.signatureMaxAgeMs ?? DEFAULT_SIGNATURE_MAX_AGE_MS) / 60_000)} min`;
  const eyes = [
    ...((input.approvals ?? 1) > 1 ? [`${input.approvals} different approvers' keys per gate`] : []),
    ...(input.approverMustDifferFromStarter ? ["the starter's key may not approve"] : []),
  ];
  return (
    (input.requireSignatures
      ? 'required: the start and every gate, pause and rollback decision must be signed by an approver below'
      : 'verified when given: a signed decision must come from an approver below; unsigned ones are accepted as names') +
    `; a statement is accepted up to ${age} after it was signed${eyes.length ? `; ${eyes.join('; ')}` : ''}`
  );
}

/** "alice (ssh-ed25519 key SHA256:…, signature verified)": how a verified signer is shown everywhere. */
export function signedBy(s: VerifiedSignature): string {
  return `${s.name} (${s.keyType} key ${s.fingerprint}, signature verified)`;
}

/** What a verified statement decided, in words: "approve gate before-gateways", "retry pause 1", "start". */
export function signedDecision(s: VerifiedSignature): string {
  try {
    const st = parseStatement(s.statement);
    return st.subject.kind === 'start' ? 'start' : `${st.decision} ${subjectText(st.subject)}`;
  } catch {
    return 'decision'; // it verified when it was recorded, so it parses; this is only for display
  }
}
