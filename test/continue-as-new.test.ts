// A fleet whose parent history would grow past the plan's limit continues as new between batches: the same
// workflow id, one upgrade identity, gates and status that work across the runs, a report of the whole upgrade,
// and every gateway upgraded exactly once. A low limit (50 events) makes five gateways in batches of one span runs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHello } from '../src/activities/tyk-http';
import { decide, getStatus, startUpgrade } from '../src/client-lib/upgrades';
import { runCli } from './support/cli';
import { activitiesIn, childrenOf, containersOf, type History, upgradeHistories } from './support/history';
import { docker } from './support/services';
import { withTestStack } from './support/stack';
import { failureOf, keepRunHistories, runsOf, waitForGate } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
const LIMIT = 50;

/**
 * The history length the workflow saw (its workflow task's started event) when it began each gateway batch, and
 * when it continued as new.
 */
function lengthsSeenAt(history: History): { batches: number[]; continued?: number } {
  let seen = 0;
  const out: { batches: number[]; continued?: number } = { batches: [] };
  for (const e of history.events ?? []) {
    if (e.workflowTaskStartedEventAttributes) seen = Number(e.eventId);
    if (/\/batch-\d+$/.test(e.startChildWorkflowExecutionInitiatedEventAttributes?.workflowId ?? '')) out.batches.push(seen);
    if (e.workflowExecutionContinuedAsNewEventAttributes) out.continued = seen;
  }
  return out;
}

describe('continue-as-new between gateway batches', () => {
  it('hands the upgrade to new runs past maxHistoryEvents: same id and upgrade, gates and report across runs, every gateway once', async () => {
    await withTestStack({ prefix: 'can', gateways: 5 }, async (stack) => {
      const id = `tyk-upgrade-${stack.name}`;
      const handle = await startUpgrade(t.env.client, stack.input({ batchSize: 1, soakMs: 0, maxHistoryEvents: LIMIT, startedBy: 'sam' }), {
        taskQueue: t.worker.taskQueue,
      });
      await waitForGate(t.env.client, id, 'before-gateways');
      await decide(t.env.client, id, 'approve', { by: 'alice', comment: 'CHG-7' });

      // The pump's gate comes after the last gateway batch: by then the upgrade is on a later run.
      const atPump = await waitForGate(t.env.client, id, 'before-pump');
      assert.ok((atPump.run ?? 1) >= 2, `the upgrade continued as new before the pump's gate (run ${atPump.run ?? 1})`);
      assert.equal(atPump.upgradeId, handle.firstExecutionRunId, 'one upgrade identity: the first run id, whatever run it is on');
      assert.deepEqual(atPump.gates.find((g) => g.gate === 'before-gateways')?.by, 'alice', "the first run's decision is in the later run's status");
      assert.deepEqual(
        atPump.batches.filter((b) => /^\d+$/.test(b.name)).map((b) => b.state),
        ['done', 'done', 'done', 'done', 'done'],
      );
      await decide(t.env.client, id, 'approve', { by: 'bob' });
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded');

      const runs = await runsOf(t.env.client, id);
      assert.ok(runs.length >= 2, `more than one run (${runs.length})`);
      assert.deepEqual(
        runs.map((r) => r.status),
        [...runs.slice(1).map(() => 'CONTINUED_AS_NEW'), 'COMPLETED'],
      );
      // Each run stops at the first safe point past the limit: every batch after a run's first began while its
      // history was short of the limit, and a run that continued did so once it was past. (The length a workflow
      // sees is the one its current workflow task started at; how many events a batch adds depends on the load.)
      for (const [n, r] of runs.entries()) {
        const seen = lengthsSeenAt(r.history);
        assert.ok(seen.batches.length >= 1, `run ${n + 1} ran a gateway batch`);
        for (const at of seen.batches.slice(1)) assert.ok(at < LIMIT, `run ${n + 1} began a batch at ${at} events, past the limit`);
        if (r.status === 'CONTINUED_AS_NEW') assert.ok((seen.continued ?? 0) >= LIMIT, `run ${n + 1} continued at ${seen.continued} events`);
      }

      // Every gateway upgraded exactly once: the new image, /hello on the target, no leftover containers.
      for (const g of stack.gateways) {
        assert.equal((await getHello(g.url, 'hello')).body?.version, '5.3.0', g.container);
        assert.match((await docker.getContainer(g.container).inspect()).Config.Image, /:v5\.3\.0$/);
      }
      const names = (await docker.listContainers({ all: true })).flatMap((c) => c.Names).filter((n) => n.includes(stack.name));
      assert.deepEqual(
        names.filter((n) => /tyk-upgrade-(old|new|failed)$/.test(n)),
        [],
      );
      assert.equal(names.length, 6, names.join(', '));
      // Exactly once, from what ran: across every run's batch children, one completed recreate per container.
      const recreated = childrenOf(await upgradeHistories(t.env.client, id)).flatMap((c) =>
        activitiesIn(c.history)
          .filter((a) => a.type === 'recreateContainer' && a.outcome === 'completed')
          .flatMap(containersOf),
      );
      assert.deepEqual(recreated.sort(), [...stack.gateways.map((g) => g.container), stack.pump!.container].sort(), 'each container recreated once');

      const status = await getStatus(t.env.client, id);
      assert.equal(status.run, runs.length);
      const report = await runCli(['report', id]);
      assert.equal(report.code, 0, report.stderr);
      assert.match(report.stdout, /^# Tyk upgrade of stack `[^`]+`: succeeded$/m);
      assert.match(report.stdout, /alice/);
      assert.match(report.stdout, /bob/);
      assert.doesNotMatch(report.stdout, /continued/, 'the plan shown is the plan, not the state carried between runs');
      await keepRunHistories(t.env.client, id, 'continue-as-new');
    });
  });

  it('a reject --rollback on a later run rolls back the batches every run upgraded, newest first', async () => {
    await withTestStack({ prefix: 'can-rb', gateways: 4, pump: true }, async (stack) => {
      const id = `tyk-upgrade-${stack.name}`;
      const handle = await startUpgrade(t.env.client, stack.input({ batchSize: 1, soakMs: 0, maxHistoryEvents: LIMIT }), { taskQueue: t.worker.taskQueue });
      await waitForGate(t.env.client, id, 'before-gateways');
      await decide(t.env.client, id, 'approve', { by: 'alice' });
      const atPump = await waitForGate(t.env.client, id, 'before-pump');
      assert.ok((atPump.run ?? 1) >= 2, `on a later run (${atPump.run ?? 1})`);
      for (const g of stack.gateways) assert.equal((await getHello(g.url, 'hello')).body?.version, '5.3.0', `${g.container} upgraded first`);
      await decide(t.env.client, id, 'reject', { by: 'carol', comment: 'withdrawn', rollback: true });
      const failure = await failureOf(handle.result());
      assert.equal(failure.status.outcome, 'rejected');
      assert.deepEqual(
        failure.status.instances.filter((i) => i.role === 'gateway').map((i) => i.state),
        ['rolled-back', 'rolled-back', 'rolled-back', 'rolled-back'],
      );
      for (const g of stack.gateways) assert.equal((await getHello(g.url, 'hello')).body?.version, '5.2.0', `${g.container} is back on its old version`);
      // Newest first, from what ran: the rollback children in the order they started, each with its gateway.
      const rollbacks = childrenOf(await upgradeHistories(t.env.client, id)).filter((c) => c.workflowType === 'rollbackBatch');
      assert.deepEqual(
        rollbacks.map((c) =>
          activitiesIn(c.history)
            .filter((a) => a.type === 'rollbackContainer')
            .flatMap(containersOf),
        ),
        stack.gateways.map((g) => [g.container]).reverse(),
        "the batches rolled back newest first, the first run's too",
      );
      await keepRunHistories(t.env.client, id, 'continue-as-new-rollback');
    });
  });
});
