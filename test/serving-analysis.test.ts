// Traffic analysis once a gateway serves again, behind a real HAProxy (Debian's) with the driver: the gateway's own
// server counters over the plan's window. A target that answers 500 on some requests under steady load is caught,
// taken out of rotation and rolled back while the rest of the fleet is never touched; a healthy one passes with
// its figures recorded; a window with too little traffic fails unless the plan accepts it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHello } from '../src/activities/tyk-http';
import { startUpgrade } from '../src/client-lib/upgrades';
import type { UpgradeInput } from '../src/shared/types';
import { haproxyFor, lbOf, serverStates, type TestHaproxy } from './support/haproxy';
import { docker, FAULTY_REPO } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { describeTraffic, startTraffic } from './support/traffic';
import { failureOf, keepHistory } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();

const input = (stack: TestStack, h: TestHaproxy, o: Partial<UpgradeInput>) =>
  stack.input({ gates: [], pumps: [], pumpVersion: undefined, batchSize: 1, soakMs: 1_000, loadBalancer: lbOf(h), ...o });

describe('traffic analysis behind HAProxy', () => {
  it('a target that answers 500 on some requests under load: caught in the window, drained and rolled back, the rest untouched', async (ctx) => {
    const stack = await testStack({ prefix: 'ana-5xx', gateways: 3, pump: false });
    const h = await haproxyFor(stack);
    try {
      const ids = await Promise.all(stack.gateways.map(async (g) => (await docker.getContainer(g.container).inspect()).Id));
      const traffic = startTraffic(h.frontendUrl);
      const handle = await startUpgrade(
        t.env.client,
        input(stack, h, {
          gatewayRepository: FAULTY_REPO('some-5xx'),
          analysis: { windowMs: 20_000, max5xxRate: 0.01, minRequests: 20, tooFewRequests: 'fail' },
        }),
        { taskQueue: t.worker.taskQueue },
      );
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'serving-analysis-rollback', t.env.client);
      const r = await traffic.stop();
      ctx.diagnostic(`${failure.message.split(': ').slice(-2).join(': ')} | clients: ${describeTraffic(r)}`);

      assert.equal(failure.status.outcome, 'rolled-back', failure.message);
      assert.match(
        failure.message,
        /tyk\/gw1 \(ana-5xx-\w+-gateway-1 on 5\.3\.0\) failed \d+ of \d+ requests \(5xx or no response\) in \d+ s of real traffic, [\d.]+%; the plan allows 1% \(analysis\.max5xxRate\)/,
      );
      assert.deepEqual(
        failure.status.batches.map((b) => b.state),
        ['failed', 'pending', 'pending'],
        'no later batch started',
      );
      assert.deepEqual(
        failure.status.instances.map((i) => i.state),
        ['rolled-back', 'pending', 'pending'],
      );
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');
      for (const [i, g] of stack.gateways.entries()) {
        assert.equal((await docker.getContainer(g.container).inspect()).Id, ids[i], `${g.container} is its original container`);
      }
      assert.deepEqual(await serverStates(h), ['gw1 UP READY', 'gw2 UP READY', 'gw3 UP READY'], 'all back in rotation');
      // The clients saw the faulty build's 500s while it was analysed, and nothing else: no request cut by a stop.
      const failed = [...r.GET.failed, ...r.POST.failed];
      assert.ok(failed.length > 0, `the fault was real (${describeTraffic(r)})`);
      assert.deepEqual([...new Set(failed)], ['HTTP 500'], describeTraffic(r));
    } finally {
      await h.stop();
      await stack.remove();
    }
  });

  it('a healthy target passes its window, its figures recorded; too little traffic fails it unless the plan accepts it', async (ctx) => {
    const stack = await testStack({ prefix: 'ana-ok', gateways: 2, pump: false });
    const h = await haproxyFor(stack);
    try {
      const traffic = startTraffic(h.frontendUrl);
      const analysis = { windowMs: 4_000, max5xxRate: 0.01, minRequests: 20, tooFewRequests: 'fail' as const };
      const result = await (await startUpgrade(t.env.client, input(stack, h, { analysis }), { taskQueue: t.worker.taskQueue })).result();
      const r = await traffic.stop();
      assert.equal(result.outcome, 'succeeded', result.reason);
      ctx.diagnostic(result.instances.map((i) => `${i.container}: ${i.serving}`).join(' | '));
      for (const i of result.instances) assert.match(i.serving ?? '', /; analysis: 0 of \d+ requests failed in 4 s \(limit 1%\)$/, i.container);
      assert.deepEqual([...r.GET.failed, ...r.POST.failed], [], describeTraffic(r));

      // Back to 5.2.0 with nobody sending requests: nothing to judge by.
      const quiet = { ...input(stack, h, { analysis: { ...analysis, windowMs: 2_000 } }), gatewayVersion: 'v5.2.0', allowDowngrade: true };
      const failure = await failureOf((await startUpgrade(t.env.client, quiet, { taskQueue: t.worker.taskQueue })).result());
      assert.equal(failure.status.outcome, 'rolled-back');
      assert.match(failure.message, /only 0 requests reached tyk\/gw1 .* in the 2 s analysis window; the plan needs 20 to judge/);
      const accepted = await (
        await startUpgrade(t.env.client, { ...quiet, analysis: { ...analysis, windowMs: 2_000, tooFewRequests: 'pass' } }, { taskQueue: t.worker.taskQueue })
      ).result();
      assert.equal(accepted.outcome, 'succeeded', accepted.reason);
      assert.match(accepted.instances[0].serving ?? '', /analysis: 0 requests in 2 s, too few to judge \(accepted: tooFewRequests: pass\)/);
    } finally {
      await h.stop();
      await stack.remove();
    }
  });
});
