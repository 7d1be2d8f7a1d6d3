// The text an approver signs: one decision about one upgrade, in a fixed line format that a person can read and
// `ssh-keygen -Y verify` can check (docs/approvals.md). It is bound to the upgrade's identity (the first run's id,
// which continue-as-new keeps), to the gate or pause it decides, and to the time it was signed.
import { sha256 } from '@noble/hashes/sha2';
import { GATES, PAUSE_CHOICES, type GateName, type PauseChoice } from './types';

/** The SSHSIG namespace: a signature made for anything else (git commits, files) never counts here. */
export const SIGNATURE_NAMESPACE = 'tyk-upgrade';
const HEADER = 'tyk-upgrade statement v1';

/** What a statement decides. */
export type StatementSubject = { kind: 'start' } | { kind: 'gate'; gate: GateName } | { kind: 'pause'; number: number } | { kind: 'abort' };

export const GATE_DECISIONS = ['approve', 'reject', 'reject-rollback'] as const;
export type GateDecision = (typeof GATE_DECISIONS)[number];
export type StatementDecision = 'start' | GateDecision | PauseChoice | 'abort-rollback';

export interface Statement {
  workflowId: string;
  /** The upgrade's identity; for `start`, which comes before it exists, the plan's hash instead. */
  upgradeId?: string;
  planHash?: string;
  subject: StatementSubject;
  decision: StatementDecision;
  /** The approver's name, as the plan lists it with the key. */
  name: string;
  /** The comment or reason, exactly as recorded; empty when none. */
  comment: string;
  /** When it was signed (ISO 8601, UTC), by the signer's clock. */
  time: string;
}

/** A statement and its armored SSHSIG signature, as a decision carries them. */
export interface Signed {
  statement: string;
  signature: string;
}

export class StatementError extends Error {}

/** Values are one line each: backslash, CR and LF are escaped, everything else is as given. */
const escapeValue = (v: string) => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
const unescapeValue = (v: string) => v.replace(/\\(\\|n|r)/g, (_, c: string) => (c === 'n' ? '\n' : c === 'r' ? '\r' : '\\'));

export function subjectText(s: StatementSubject): string {
  return s.kind === 'gate' ? `gate ${s.gate}` : s.kind === 'pause' ? `pause ${s.number}` : s.kind;
}

export function formatStatement(s: Statement): string {
  const identity = s.subject.kind === 'start' ? `plan: ${s.planHash ?? ''}` : `upgrade: ${s.upgradeId ?? ''}`;
  return [
    HEADER,
    `workflow: ${s.workflowId}`,
    identity,
    `subject: ${subjectText(s.subject)}`,
    `decision: ${s.decision}`,
    `name: ${escapeValue(s.name)}`,
    `comment: ${escapeValue(s.comment)}`,
    `time: ${s.time}`,
    '',
  ].join('\n');
}

const DECISIONS: Record<StatementSubject['kind'], readonly string[]> = {
  start: ['start'],
  gate: GATE_DECISIONS,
  pause: PAUSE_CHOICES,
  abort: ['abort-rollback'],
};

/** The statement back from its text; only text that formatStatement would write again byte for byte. */
export function parseStatement(text: string): Statement {
  const lines = text.split('\n');
  const want = ['workflow', '', 'subject', 'decision', 'name', 'comment', 'time'];
  if (lines[0] !== HEADER) throw new StatementError(`the statement must begin with the line "${HEADER}"`);
  if (lines.length !== want.length + 2 || lines[lines.length - 1] !== '') {
    throw new StatementError(`the statement must have ${want.length + 1} lines, each ending with a line feed`);
  }
  const values: Record<string, string> = {};
  lines.slice(1, -1).forEach((line, i) => {
    const m = /^([a-z]+): (.*)$/.exec(line);
    const key = want[i] || (m?.[1] === 'plan' ? 'plan' : 'upgrade');
    if (!m || m[1] !== key) throw new StatementError(`line ${i + 2} of the statement must be "${key}: ..."`);
    values[key] = m[2];
  });
  const subject = parseSubject(values.subject);
  if ((subject.kind === 'start') !== 'plan' in values) {
    throw new StatementError(
      subject.kind === 'start' ? 'a start statement names the plan (plan: sha256:...)' : 'the statement must name the upgrade (upgrade: ...)',
    );
  }
  if (!DECISIONS[subject.kind].includes(values.decision)) {
    throw new StatementError(`"${values.decision}" is not a decision for ${subjectText(subject)}; it may be ${DECISIONS[subject.kind].join(', ')}`);
  }
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$/.test(values.time) || Number.isNaN(Date.parse(values.time))) {
    throw new StatementError(`time "${values.time}" is not an ISO time in UTC such as 2026-11-28T02:00:00.000Z`);
  }
  const s: Statement = {
    workflowId: values.workflow,
    ...(subject.kind === 'start' ? { planHash: values.plan } : { upgradeId: values.upgrade }),
    subject,
    decision: values.decision as StatementDecision,
    name: unescapeValue(values.name),
    comment: unescapeValue(values.comment),
    time: values.time,
  };
  if (!s.name) throw new StatementError('the statement names nobody (name: is empty)');
  if (formatStatement(s) !== text) throw new StatementError('the statement is not in canonical form (an escape or a space differs)');
  return s;
}

function parseSubject(text: string): StatementSubject {
  if (text === 'start' || text === 'abort') return { kind: text };
  const gate = /^gate (.+)$/.exec(text)?.[1];
  if (gate !== undefined) {
    if (!(GATES as readonly string[]).includes(gate)) throw new StatementError(`"${gate}" is not a gate; gates are ${GATES.join(', ')}`);
    return { kind: 'gate', gate: gate as GateName };
  }
  const pause = /^pause ([1-9]\d{0,5})$/.exec(text)?.[1];
  if (pause) return { kind: 'pause', number: Number(pause) };
  throw new StatementError(`subject "${text}" is none of start, gate NAME, pause N, abort`);
}

/** JSON with keys sorted and no spaces, the same for the same value wherever it is computed. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJson(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const entries = Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(v);
}

/** `sha256:` and the hex SHA-256 of a value's canonical JSON: what a start statement binds the plan with. */
export function contentHash(v: unknown): string {
  const bytes = sha256(Uint8Array.from(new TextEncoder().encode(canonicalJson(v))));
  return `sha256:${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
