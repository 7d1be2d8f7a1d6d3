// The rules a decision must pass, as plain functions of the status: what the Update validators refuse and what
// the handlers record. No worker, no Docker: the workflow registers exactly these functions (src/workflows/fleet.ts),
// and test/gates.test.ts shows them at work on a real server.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { applyApproval, applyDecision, approvalRules, validateApprover, validateDecision } from '../src/workflows/fleet/gates';
import { applyPauseDecision, pauseDecisionFits, validatePauseDecision } from '../src/workflows/fleet/pauses';
import { GATES, STAGES, type GateName, type UpgradeStatus } from '../src/shared/types';
import type { UpgradeInput } from '../src/shared/types';

function statusWaitingAt(gate: GateName | undefined, required?: number): UpgradeStatus {
  return {
    stack: 'prod',
    outcome: 'running',
    stage: gate && gate !== 'after-canary' ? gate : 'gateways',
    stages: STAGES.map((name) => ({ name, state: 'pending' })),
    instances: [],
    gates: GATES.map((g) => ({
      gate: g,
      state: g === gate ? 'waiting' : 'not-reached',
      ...(g === gate && required ? { required, approvals: [] } : {}),
    })),
    hosts: [],
    batches: [],
    failures: { count: 0, budget: 0 },
    backups: [],
    errors: [],
  };
}

const rulesOf = (over: Partial<UpgradeInput>) => approvalRules(over as UpgradeInput);

/** The failure type a call throws; fails when it does not throw an ApplicationFailure. */
function refusal(fn: () => void): { type: string; message: string } {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    assert.equal(err.nonRetryable, true);
    return { type: err.type as string, message: err.message };
  }
  assert.fail('expected the call to be refused');
}

describe('gate decisions', () => {
  it('refuses an unknown gate, a gate that is not waiting, and any decision when none waits', () => {
    const s = statusWaitingAt('before-pump');
    assert.equal(refusal(() => validateDecision(s, { gate: 'after-lunch' as GateName })).type, 'InvalidGate');
    const other = refusal(() => validateDecision(s, { gate: 'before-gateways' }));
    assert.equal(other.type, 'GateNotWaiting');
    assert.match(other.message, /gate "before-gateways" is not-reached; the waiting gate is "before-pump"/);
    const none = refusal(() => validateDecision(statusWaitingAt(undefined), {}));
    assert.match(none.message, /no gate is waiting; the upgrade is at stage "gateways"/);
    validateDecision(s, { gate: 'before-pump' });
    validateDecision(s, {});
  });

  it('one approval decides the gate when the plan has no four-eyes rule; by and comment are recorded', () => {
    const s = statusWaitingAt('before-gateways');
    const rules = rulesOf({});
    validateApprover(s, rules, {});
    const g = applyApproval(s, rules, { by: 'alice', comment: 'CHG-1' });
    assert.equal(g.state, 'approved');
    assert.deepEqual([s.gates[0].by, s.gates[0].comment], ['alice', 'CHG-1']);
    assert.match(s.gates[0].at as string, /^\d{4}-\d\d-\d\dT/);
  });

  it('four-eyes: a name is required, the same name twice is refused, the gate opens at the second approver', () => {
    const s = statusWaitingAt('before-gateways', 2);
    const rules = rulesOf({ approvals: 2 });
    const anonymous = refusal(() => validateApprover(s, rules, {}));
    assert.equal(anonymous.type, 'ApproverRequired');
    assert.match(anonymous.message, /0 of 2 approvals so far/);
    const first = applyApproval(s, rules, { by: 'alice', comment: 'looks fine' });
    assert.equal(first.state, 'waiting');
    assert.deepEqual(
      first.approvals?.map((a) => a.by),
      ['alice'],
    );
    const again = refusal(() => validateApprover(s, rules, { by: 'alice' }));
    assert.equal(again.type, 'ApproverRepeated');
    assert.match(again.message, /alice has already approved gate "before-gateways"; 1 of 2 approvals so far \(alice\)/);
    validateApprover(s, rules, { by: 'bob' });
    const second = applyApproval(s, rules, { by: 'bob', comment: 'CHG-2' });
    assert.equal(second.state, 'approved');
    assert.equal(second.by, 'alice, bob');
    assert.equal(second.comment, 'looks fine; CHG-2');
  });

  it('the starter may not approve when the plan says so; anyone else may', () => {
    const s = statusWaitingAt('before-pump');
    const rules = rulesOf({ approverMustDifferFromStarter: true, startedBy: 'carol' });
    const own = refusal(() => validateApprover(s, rules, { by: 'carol' }));
    assert.equal(own.type, 'ApproverIsStarter');
    assert.match(own.message, /carol started this upgrade and may not approve it/);
    validateApprover(s, rules, { by: 'dave' });
    assert.equal(applyApproval(s, rules, { by: 'dave' }).state, 'approved');
  });

  it('a reject decides the gate at once, even under four-eyes; a missing name is recorded as unknown', () => {
    const s = statusWaitingAt('after-canary', 2);
    const g = applyDecision(s, { gate: 'after-canary' }, 'rejected');
    assert.equal(g.state, 'rejected');
    assert.equal(g.by, 'unknown');
  });
});

describe('pause decisions', () => {
  const paused = (kind?: 'window'): UpgradeStatus => ({
    ...statusWaitingAt(undefined),
    pause: {
      number: 3,
      state: 'waiting',
      since: '2026-12-01T00:00:00.000Z',
      reason: 'two failed',
      failed: ['a', 'b'],
      ...(kind ? { kind, opensAt: '2026-12-05T02:00:00.000Z' } : {}),
    },
  });

  it('refuses a missing or unknown choice, and any choice when not paused', () => {
    assert.equal(refusal(() => validatePauseDecision(paused(), undefined)).type, 'InvalidChoice');
    assert.match(
      refusal(() => validatePauseDecision(paused(), { choice: 'later' as 'retry' })).message,
      /unknown choice "later"; choose retry, continue, rollback/,
    );
    const notPaused = refusal(() => validatePauseDecision(statusWaitingAt(undefined), { choice: 'retry' }));
    assert.equal(notPaused.type, 'NotPaused');
    assert.equal(pauseDecisionFits(statusWaitingAt(undefined), { choice: 'retry' }), false);
  });

  it('a window pause takes continue or rollback, never retry', () => {
    const w = refusal(() => validatePauseDecision(paused('window'), { choice: 'retry' }));
    assert.equal(w.type, 'InvalidChoice');
    assert.match(w.message, /waits for its maintenance window \(the next opens at 2026-12-05T02:00:00.000Z\)/);
    validatePauseDecision(paused('window'), { choice: 'continue' });
  });

  it('records who chose what', () => {
    const s = paused();
    validatePauseDecision(s, { choice: 'retry', by: 'erin' });
    assert.equal(pauseDecisionFits(s, { choice: 'retry' }), true);
    const p = applyPauseDecision(s, { choice: 'retry', by: 'erin', comment: 'Redis is back' });
    assert.deepEqual([p.state, p.choice, p.by, p.comment, p.number], ['decided', 'retry', 'erin', 'Redis is back', 3]);
  });
});
