// Approval gates: reject at each gate, an approval timeout that aborts, approving a gate that is not waiting,
// the Signal path, and cancel at a safe point.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { WorkflowFailedError, WorkflowNotFoundError, WorkflowUpdateFailedError } from '@temporalio/client';
import { decide, getStatus, startUpgrade } from '../src/client-lib/upgrades';
import { approveSignal } from '../src/workflows/messages';
import { getHello } from '../src/activities/tyk-http';
import { retiredContainerName } from '../src/shared/names';
import { runCli } from './support/cli';
import { decodePayloads } from './support/history';
import { docker } from './support/services';
import { containerNames, testStack, withTestStack, type TestStack } from './support/stack';
import { failureOf, keepHistory, quiet, waitForGate, waitUntil } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();

const withStack = (prefix: string, fn: (s: TestStack) => Promise<void>) => withTestStack({ prefix }, fn);

async function untouched(stack: TestStack, ids: string[]): Promise<void> {
  for (const [i, name] of [stack.gateways[0].container, stack.pump!.container].entries()) {
    const c = await docker.getContainer(name).inspect();
    assert.equal(c.Id, ids[i], `${name} is the same container`);
    assert.equal(c.State.Running, true);
  }
  assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');
}

const idsOf = async (stack: TestStack) => [
  (await docker.getContainer(stack.gateways[0].container).inspect()).Id,
  (await docker.getContainer(stack.pump!.container).inspect()).Id,
];

describe('gates', () => {
  it('reject at before-gateways: nothing is touched, the reason and who rejected are recorded', () =>
    withStack('rej1', async (stack) => {
      const ids = await idsOf(stack);
      const handle = await startUpgrade(t.env.client, stack.input(), { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      await decide(t.env.client, handle.workflowId, 'reject', { by: 'carol', comment: 'freeze window' });
      const f = await failureOf(handle.result());
      await keepHistory(handle, 'reject-before-gateways');
      assert.equal(f.type, 'UpgradeRejected');
      assert.match(f.message, /gate "before-gateways" rejected by carol: freeze window/);
      assert.equal(f.status.outcome, 'rejected');
      const g = f.status.gates.find((x) => x.gate === 'before-gateways')!;
      assert.deepEqual([g.state, g.by, g.comment], ['rejected', 'carol', 'freeze window']);
      await untouched(stack, ids);
      assert.deepEqual(await containerNames(stack.name), [stack.gateways[0].container, stack.pump!.container].sort());
    }));

  it('reject at before-pump: gateways stay upgraded and healthy, the pump is untouched, old gateway kept', () =>
    withStack('rej2', async (stack) => {
      const [, pumpId] = await idsOf(stack);
      const handle = await startUpgrade(t.env.client, stack.input(), { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      await decide(t.env.client, handle.workflowId, 'approve', { by: 'alice' });
      await waitForGate(t.env.client, handle.workflowId, 'before-pump');
      await decide(t.env.client, handle.workflowId, 'reject', { by: 'bob', comment: 'pump later' });
      const f = await failureOf(handle.result());
      await keepHistory(handle, 'reject-before-pump');
      assert.equal(f.status.outcome, 'rejected');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0');
      const pump = await docker.getContainer(stack.pump!.container).inspect();
      assert.equal(pump.Id, pumpId);
      assert.equal(pump.Config.Image, '127.0.0.1:5000/standin/tyk-pump:v1.9.0');
      const kept = retiredContainerName(stack.gateways[0].container, 'v5.2.0');
      assert.deepEqual(await containerNames(stack.name), [stack.gateways[0].container, kept, stack.pump!.container].sort());
    }));

  it('an approval timeout aborts cleanly and never proceeds', () =>
    withStack('timeout', async (stack) => {
      const ids = await idsOf(stack);
      const handle = await startUpgrade(t.env.client, stack.input({ approvalTimeoutMs: 1500 }), { taskQueue: t.worker.taskQueue });
      const f = await failureOf(handle.result());
      await keepHistory(handle, 'approval-timeout');
      assert.equal(f.type, 'UpgradeApprovalTimedOut');
      assert.match(f.message, /approval gate "before-gateways" timed out after 1500 ms; upgrade aborted/);
      assert.equal(f.status.gates.find((g) => g.gate === 'before-gateways')!.state, 'timed-out');
      await untouched(stack, ids);
    }));

  it('approving a gate that is not waiting is rejected by the validator and leaves history unchanged', () =>
    withStack('validator', async (stack) => {
      const handle = await startUpgrade(t.env.client, stack.input(), { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      const events = async () => (await handle.fetchHistory()).events?.length;
      await quiet(handle); // the gate.waiting notification has finished
      const before = await events();
      await assert.rejects(
        decide(t.env.client, handle.workflowId, 'approve', { gate: 'before-pump', by: 'mallory' }),
        (err: unknown) =>
          err instanceof WorkflowUpdateFailedError &&
          /gate "before-pump" is not-reached; the waiting gate is "before-gateways"/.test(String((err.cause as Error)?.message)),
      );
      assert.equal(await events(), before, 'a rejected update writes no history');
      // The Signal path means the same: approve the waiting gate, then the pump gate; the upgrade completes.
      await handle.signal(approveSignal, { by: 'sig-user', comment: 'via temporal workflow signal' });
      await waitForGate(t.env.client, handle.workflowId, 'before-pump');
      const first = await decide(t.env.client, handle.workflowId, 'approve', { by: 'alice', comment: 'first call' });
      // Approving the same gate again (same update id) is deduplicated, not a second decision: the retried call
      // gets the first decision back (its time and comment), and the history holds one accepted approval.
      const again = await decide(t.env.client, handle.workflowId, 'approve', { gate: 'before-pump', by: 'alice', comment: 'retried call' });
      assert.deepEqual(again, first);
      assert.equal(first.comment, 'first call');
      const result = await handle.result();
      await keepHistory(handle, 'validator-and-signal');
      assert.equal(result.outcome, 'succeeded');
      assert.equal(result.gates[0].by, 'sig-user');
      const accepted = ((await handle.fetchHistory()).events ?? []).flatMap((e) => {
        const input = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
        if (!input) return [];
        const [d] = decodePayloads(input.args) as { gate?: string; by?: string; comment?: string }[];
        return [`${input.name} ${d?.gate} by ${d?.by}: ${d?.comment}`];
      });
      assert.deepEqual(accepted, ['approveGate before-pump by alice: first call'], 'one approval in the history (the other was the Signal)');
      // An ended upgrade takes no decision, of either kind.
      for (const decision of ['approve', 'reject'] as const) {
        await assert.rejects(
          decide(t.env.client, handle.workflowId, decision, { gate: 'before-pump', by: 'late' }),
          (err: unknown) => err instanceof WorkflowNotFoundError && /workflow execution already completed/.test(err.message),
          decision,
        );
      }
    }));
});

describe('cancel', () => {
  it('cancel during the gateway health check finishes that gateway, then stops with the stack healthy', () =>
    withStack('cancel', async (stack) => {
      const [, pumpId] = await idsOf(stack);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [] }), { taskQueue: t.worker.taskQueue });
      await waitUntil(t.env.client, handle.workflowId, 'gateway health check', (s) => s.instances[0]?.state === 'health-check');
      await handle.cancel();
      await assert.rejects(
        handle.result(),
        (err: unknown) => err instanceof WorkflowFailedError && /cancel/i.test(String(err.cause?.name ?? err.cause?.message)),
      );
      const status = await getStatus(t.env.client, handle.workflowId);
      await keepHistory(handle, 'cancel-during-health-check');
      assert.equal(status.outcome, 'cancelled');
      assert.equal(status.instances[0].state, 'upgraded', 'the gateway being replaced was finished, not abandoned');
      const hello = await getHello(stack.gateways[0].url, 'hello');
      assert.equal(hello.body?.status, 'pass');
      assert.equal(hello.body?.version, '5.3.0');
      assert.equal((await docker.getContainer(stack.pump!.container).inspect()).Id, pumpId, 'pump untouched');
    }));
});

describe('stop and roll back (reject --rollback, cancel --rollback)', () => {
  const configs = (stack: TestStack) => stack.gateways.map((g) => readFileSync(join(g.confDir, 'tyk.conf')));
  const versions = async (stack: TestStack) => Promise.all(stack.gateways.map(async (g) => (await getHello(g.url, 'hello')).body?.version));

  it('reject --rollback at the pump gate after two gateways were upgraded: both back on the old version, configs byte-identical', async () => {
    const stack = await testStack({ prefix: 'rejrb', gateways: 2 });
    try {
      const before = configs(stack);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: ['before-pump'], soakMs: 0 }), { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, handle.workflowId, 'before-pump');
      assert.deepEqual(await versions(stack), ['5.3.0', '5.3.0']);
      const r = await runCli(['reject', handle.workflowId, '--reason', 'CHG-9 withdrawn', '--by', 'carol', '--rollback']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Rejected gate before-pump .*; everything this run changed is being rolled back/);
      const f = await failureOf(handle.result());
      await keepHistory(handle, 'reject-with-rollback', t.env.client);
      assert.equal(f.type, 'UpgradeRejected', f.message);
      assert.match(f.message, /gate "before-pump" rejected by carol: CHG-9 withdrawn; everything this run changed is rolled back/);
      assert.deepEqual(
        f.status.instances.map((i) => i.state),
        ['rolled-back', 'rolled-back', 'pending'],
      );
      assert.deepEqual(await versions(stack), ['5.2.0', '5.2.0']);
      for (const [i, c] of configs(stack).entries()) assert.ok(c.equals(before[i]), `tyk.conf of gateway ${i + 1} byte-identical`);
      assert.deepEqual(await containerNames(stack.name), [...stack.gateways.map((g) => g.container), stack.pump!.container].sort());
    } finally {
      await stack.remove();
    }
  });

  it("cancel --rollback during the second gateway's soak: that batch finishes, then both are rolled back", async () => {
    const stack = await testStack({ prefix: 'cancrb', gateways: 2, pump: false });
    try {
      const before = configs(stack);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [], soakMs: 6_000 }), { taskQueue: t.worker.taskQueue });
      await waitUntil(t.env.client, handle.workflowId, 'the second gateway soaking', (s) => s.instances[1]?.state === 'upgraded');
      const r = await runCli(['cancel', handle.workflowId, '--rollback', '--by', 'dave', '--reason', 'wrong window']);
      assert.equal(r.code, 0, r.stderr);
      const f = await failureOf(handle.result());
      await keepHistory(handle, 'cancel-with-rollback', t.env.client);
      assert.equal(f.type, 'UpgradeCancelled', f.message);
      assert.match(f.message, /cancelled by dave: wrong window; everything this run changed is rolled back/);
      assert.deepEqual(
        f.status.instances.map((i) => i.state),
        ['rolled-back', 'rolled-back'],
      );
      assert.deepEqual(await versions(stack), ['5.2.0', '5.2.0']);
      for (const [i, c] of configs(stack).entries()) assert.ok(c.equals(before[i]), `tyk.conf of gateway ${i + 1} byte-identical`);
      const again = await runCli(['cancel', handle.workflowId, '--rollback']);
      assert.equal(again.code, 7, `an ended upgrade cannot be cancelled again\n${again.stderr}`);
      assert.match(again.stderr, new RegExp(`cannot cancel ${handle.workflowId}: the upgrade has already finished \\(FAILED\\)`));
    } finally {
      await stack.remove();
    }
  });
});

describe('four-eyes approvals', () => {
  it('approvals: 2 with approverMustDifferFromStarter: the starter and a repeated approver are refused (history unchanged), two others open the gate', async () => {
    const stack = await testStack({ prefix: 'eyes', pump: false });
    try {
      const handle = await startUpgrade(
        t.env.client,
        stack.input({ gates: ['before-gateways'], approvals: 2, approverMustDifferFromStarter: true, startedBy: 'sam', soakMs: 0 }),
        { taskQueue: t.worker.taskQueue },
      );
      await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      const refusal = async (by: string, message: RegExp) => {
        const before = await quiet(handle);
        await assert.rejects(decide(t.env.client, handle.workflowId, 'approve', { by }), (err: unknown) => {
          assert.ok(err instanceof WorkflowUpdateFailedError);
          assert.match(err.cause?.message ?? '', message);
          return true;
        });
        assert.equal((await handle.describe()).historyLength, before, 'a refused approval leaves the history unchanged');
      };
      await refusal('sam', /^sam started this upgrade and may not approve it; 0 of 2 approvals so far: someone other than sam must approve$/);
      const first = await decide(t.env.client, handle.workflowId, 'approve', { by: 'alice', comment: 'CHG-5' });
      assert.deepEqual([first.state, first.approvals?.map((a) => a.by), first.required], ['waiting', ['alice'], 2]);
      const shown = await runCli(['status', handle.workflowId]);
      assert.match(shown.stdout, /before-gateways\s+waiting \(1 of 2 approvals\)\s+alice/);
      await refusal(
        'alice',
        /^alice has already approved gate "before-gateways"; 1 of 2 approvals so far \(alice\): the next approval must come from someone else$/,
      );
      const second = await decide(t.env.client, handle.workflowId, 'approve', { by: 'bob' });
      assert.deepEqual([second.state, second.by, second.comment], ['approved', 'alice, bob', 'CHG-5']);
      const result = await handle.result();
      await keepHistory(handle, 'four-eyes', t.env.client);
      assert.equal(result.outcome, 'succeeded');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0');
    } finally {
      await stack.remove();
    }
  });
});
