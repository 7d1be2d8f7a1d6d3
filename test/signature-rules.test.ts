// The workflow's signature rules as plain functions of the status (src/workflows/fleet/signatures.ts), with
// statements signed by the real ssh-keygen: what a gate, pause, abort or start decision must carry, what counts
// when it is signed (the statement's name, comment and rollback), and four-eyes by key. test/signed-approvals.test.ts
// shows them at work on a real server.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { contentHash, formatStatement, type Statement } from '../src/shared/statement';
import { GATES, STAGES, type UpgradeInput, type UpgradeStatus } from '../src/shared/types';
import { applyApproval, approvalRules, validateApprover } from '../src/workflows/fleet/gates';
import {
  asSigned,
  recordSignature,
  signatureRules,
  verifyAbort,
  verifyGateDecision,
  verifyPauseDecision,
  verifyStart,
} from '../src/workflows/fleet/signatures';
import { sshKeygenSign, testKeys, type TestKey, type TestKeys } from './support/ssh-keys';

let keys: TestKeys;
let alice: TestKey;
let bob: TestKey;
before(() => {
  keys = testKeys();
  alice = keys.make('alice');
  bob = keys.make('bob');
});
after(() => keys.remove());

const WF = 'tyk-upgrade-prod';
const UPGRADE = '0194f6a2-aaaa-7d3b-9a55-3c2d1e0f4a11';
const NOW = Date.parse('2026-12-01T10:00:00.000Z');
const ctx = { workflowId: WF, now: NOW };

const input = (over: Partial<UpgradeInput> = {}): UpgradeInput =>
  ({
    stack: 'prod',
    approvers: [
      { name: 'alice', key: alice.line.split(' ').slice(0, 2).join(' ') },
      { name: 'bob', key: bob.line.split(' ').slice(0, 2).join(' ') },
    ],
    requireSignatures: true,
    signatureMaxAgeMs: 900_000,
    ...over,
  }) as UpgradeInput;

function status(over: Partial<UpgradeStatus> = {}): UpgradeStatus {
  return {
    stack: 'prod',
    upgradeId: UPGRADE,
    outcome: 'running',
    stage: 'before-gateways',
    stages: STAGES.map((name) => ({ name, state: 'pending' })),
    instances: [],
    gates: GATES.map((g) => ({
      gate: g,
      state: g === 'before-gateways' ? 'waiting' : 'not-reached',
      ...(g === 'before-gateways' ? { required: 2, approvals: [] } : {}),
    })),
    hosts: [],
    batches: [],
    failures: { count: 0, budget: 0 },
    backups: [],
    errors: [],
    ...over,
  };
}

const sign = (s: Partial<Statement>, key: TestKey = alice) => {
  const text = formatStatement({
    workflowId: WF,
    upgradeId: UPGRADE,
    subject: { kind: 'gate', gate: 'before-gateways' },
    decision: 'approve',
    name: key.name,
    comment: '',
    time: new Date(NOW - 5_000).toISOString(),
    ...s,
  });
  return { statement: text, signature: sshKeygenSign(key.file, text) };
};

function refusal(fn: () => unknown): { type: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.nonRetryable, true);
    return { type: err.type as string, message: err.message };
  }
  return assert.fail('expected a refusal');
}

describe('signature rules in the workflow', () => {
  it('without approvers in the plan nothing is checked (recorded histories replay unchanged)', () => {
    const rules = signatureRules({ stack: 'prod' } as UpgradeInput);
    assert.equal(rules, undefined);
    assert.equal(verifyGateDecision(status(), rules, { by: 'anyone' }, 'approve', ctx), undefined);
    assert.equal(verifyStart(status(), { stack: 'prod' } as UpgradeInput, ctx), undefined);
  });

  it('approvers without requireSignatures: an unsigned decision is taken as a name, a signed one must verify', () => {
    const rules = signatureRules(input({ requireSignatures: undefined }));
    assert.equal(verifyGateDecision(status(), rules, { by: 'dave' }, 'approve', ctx), undefined);
    assert.equal(
      refusal(() => verifyGateDecision(status(), rules, { signed: sign({ comment: 'x' }, keys.make('mallory')) }, 'approve', ctx)).type,
      'SignerUnknown',
    );
  });

  it("a signed approval counts with the statement's name and comment; the same key again, or the starter's key, is refused", () => {
    const s = status();
    const rules = signatureRules(input());
    const eyes = approvalRules(input({ approvals: 2, approverMustDifferFromStarter: true, startedBy: 'bob' }));
    assert.equal(refusal(() => verifyGateDecision(s, rules, { by: 'alice' }, 'approve', ctx)).type, 'SignatureRequired');
    const v = verifyGateDecision(s, rules, { signed: sign({ comment: 'CHG-1' }) }, 'approve', ctx);
    assert.ok(v);
    const d = asSigned<{ by?: string; comment?: string }>({ by: 'alice' }, v);
    assert.deepEqual([d.by, d.comment], ['alice', 'CHG-1']);
    validateApprover(s, eyes, d, v.signer);
    recordSignature(s, v.signer);
    const g = applyApproval(s, eyes, d, v.signer);
    assert.deepEqual([g.state, g.approvals?.[0].signer?.name, g.approvals?.[0].signer?.verified], ['waiting', 'alice', true]);
    // The same statement again: re-used. A fresh one by the same key: the four-eyes rule, by key, whatever the name says.
    assert.equal(refusal(() => verifyGateDecision(s, rules, { signed: v.signer }, 'approve', ctx)).type, 'StatementReused');
    const again = verifyGateDecision(s, rules, { signed: sign({ comment: 'again', time: new Date(NOW - 1000).toISOString() }) }, 'approve', ctx);
    assert.ok(again);
    const repeated = refusal(() => validateApprover(s, eyes, { by: 'someone-else' }, again.signer));
    assert.equal(repeated.type, 'ApproverRepeated');
    assert.match(repeated.message, /^someone-else \(key SHA256:\S+\) has already approved gate "before-gateways"; 1 of 2 approvals so far \(alice\)/);
    // The starter signed the start with bob's key: bob's signed approval is refused by key.
    s.startSigner = {
      ...v.signer,
      name: 'bob',
      fingerprint: verifyGateDecision(s, rules, { signed: sign({}, bob) }, 'approve', ctx)?.signer.fingerprint as string,
    };
    const bobs = verifyGateDecision(s, rules, { signed: sign({ comment: 'b' }, bob) }, 'approve', ctx);
    const starter = refusal(() => validateApprover(s, eyes, asSigned({}, bobs), bobs?.signer));
    assert.equal(starter.type, 'ApproverIsStarter');
    assert.match(starter.message, /^bob \(key SHA256:\S+\) started this upgrade and may not approve it/);
  });

  it('a signed reject says itself whether it rolls back; an approve statement is no reject, nor a reject an approve', () => {
    const rules = signatureRules(input());
    const rb = verifyGateDecision(status(), rules, { signed: sign({ decision: 'reject-rollback', comment: 'CHG withdrawn' }) }, 'reject', ctx);
    assert.equal(rb?.statement.decision, 'reject-rollback');
    assert.equal(
      refusal(() => verifyGateDecision(status(), rules, { rollback: false, signed: sign({ decision: 'reject-rollback' }) }, 'reject', ctx)).type,
      'StatementOtherDecision',
    );
    assert.equal(refusal(() => verifyGateDecision(status(), rules, { signed: sign({ decision: 'approve' }) }, 'reject', ctx)).type, 'StatementOtherDecision');
    assert.equal(refusal(() => verifyGateDecision(status(), rules, { signed: sign({ decision: 'reject' }) }, 'approve', ctx)).type, 'StatementOtherDecision');
  });

  it('a pause decision is bound to that pause and its choice; an abort to the abort and its reason', () => {
    const rules = signatureRules(input());
    const paused = status({ pause: { number: 2, state: 'waiting', since: '', reason: 'two failed', failed: [] } });
    const ok = verifyPauseDecision(paused, rules, { choice: 'continue', signed: sign({ subject: { kind: 'pause', number: 2 }, decision: 'continue' }) }, ctx);
    assert.equal(ok?.signer.name, 'alice');
    const earlier = refusal(() =>
      verifyPauseDecision(paused, rules, { choice: 'continue', signed: sign({ subject: { kind: 'pause', number: 1 }, decision: 'continue' }) }, ctx),
    );
    assert.equal(earlier.type, 'StatementOtherDecision');
    assert.match(earlier.message, /for pause 1, but this is continue for pause 2/);
    assert.equal(
      refusal(() =>
        verifyPauseDecision(paused, rules, { choice: 'rollback', signed: sign({ subject: { kind: 'pause', number: 2 }, decision: 'continue' }) }, ctx),
      ).type,
      'StatementOtherDecision',
    );
    const abort = verifyAbort(
      status(),
      rules,
      { reason: 'CHG-9', signed: sign({ subject: { kind: 'abort' }, decision: 'abort-rollback', comment: 'CHG-9' }) },
      ctx,
    );
    assert.equal(abort?.statement.comment, 'CHG-9');
    assert.equal(
      refusal(() =>
        verifyAbort(status(), rules, { reason: 'other', signed: sign({ subject: { kind: 'abort' }, decision: 'abort-rollback', comment: 'CHG-9' }) }, ctx),
      ).type,
      'StatementMismatch',
    );
    assert.equal(refusal(() => verifyAbort(status(), rules, { by: 'alice' }, ctx)).type, 'SignatureRequired');
  });

  it("the start must sign exactly this plan in the starter's name; any other plan, name or an unsigned start is refused", () => {
    const plan = input({ startedBy: 'alice' });
    const startSigned = sign({ subject: { kind: 'start' }, decision: 'start', upgradeId: undefined, planHash: contentHash(plan) });
    const s = status();
    const signer = verifyStart(s, { ...plan, startSigned }, ctx);
    assert.equal(signer?.name, 'alice');
    assert.equal(s.startSigner?.fingerprint, signer?.fingerprint);
    assert.equal(s.signatures?.length, 1);
    const other = refusal(() => verifyStart(status(), { ...plan, gatewayVersion: 'v9.9.9', startSigned }, ctx));
    assert.equal(other.type, 'StatementOtherUpgrade');
    assert.match(other.message, /^the start is refused: the statement was signed for tyk-upgrade-prod \(plan sha256:/);
    const asBob = input({ startedBy: 'bob' });
    const claimed = sign({ subject: { kind: 'start' }, decision: 'start', upgradeId: undefined, planHash: contentHash(asBob), name: 'bob' }, alice);
    assert.match(refusal(() => verifyStart(status(), { ...asBob, startSigned: claimed }, ctx)).message, /signed as "bob" but the key SHA256:\S+ is alice's/);
    const unsigned = refusal(() => verifyStart(status(), plan, ctx));
    assert.equal(unsigned.type, 'SignatureRequired');
    assert.match(unsigned.message, /start it with `tyk-upgrade start --sign-key KEY`/);
  });
});
