// The load-balancer step in a real upgrade: three v5.2.0 stand-in gateways behind a real HAProxy (Debian's) with
// the driver on, steady GET and POST traffic through it while the workflow rolls them to v5.3.0 one at a time;
// the same stack behind nginx without a driver as the baseline; a failed replacement, a worker killed while a
// gateway is drained, a plan naming a server HAProxy does not have, and HTTP hooks to a real local receiver.
import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { serverStat } from '../src/activities/load-balancer/haproxy-runtime';
import type { LoadBalancerInput } from '../src/shared/load-balancer';
import { getHello } from '../src/activities/tyk-http';
import { dryRunPlan } from '../src/client-lib/fleet';
import { startUpgrade } from '../src/client-lib/upgrades';
import { parsePlanText } from '../src/plan/parse';
import { toUpgradeInput } from '../src/plan/load';
import type { DryRunReport, InstanceReport } from '../src/activities/dry-run';
import { renderDryRun } from '../src/cli/render';
import { ErrorType } from '../src/shared/errors';
import type { UpgradeInput } from '../src/shared/types';
import { gatewayHasReady } from '../src/shared/version';
import { haproxyFor, lbOf, serverStates, type TestHaproxy } from './support/haproxy';
import { startNginx } from './support/nginx';
import { Exit } from '../src/cli/exit-codes';
import { runCli } from './support/cli';
import { docker, FAULTY_REPO, sleep, tempDir, waitFor } from './support/services';
import { containerNames, testStack, type TestStack } from './support/stack';
import { describeTraffic, startTraffic, type TrafficResult } from './support/traffic';
import { activitiesIn, childrenOf, containersOf, historyText, upgradeHistories } from './support/history';
import { failureOf, keepHistory } from './support/upgrade';
import { startWorker, useUpgradeWorker } from './support/worker';
import { spawnWorker, type WorkerProcess } from './support/worker-process';

const t = useUpgradeWorker();
// nginx needs the soak to cover its fail_timeout (docs/load-balancers.md, "none"); the same soak for both.
const SOAK_MS = 3_000;

const allReady = (n: number) => Array.from({ length: n }, (_, i) => `gw${i + 1} UP READY`);

/** Traffic ran the whole time: enough requests of each kind, and the clients stopped by the test, not a bound. */
function assertFlowed(r: TrafficResult, atLeast: number): void {
  assert.equal(r.stoppedBy, 'stop', `the traffic ran until the test stopped it (${describeTraffic(r)})`);
  assert.ok(r.GET.ok > atLeast && r.POST.ok > atLeast, `traffic flowed throughout (${describeTraffic(r)})`);
}

async function versions(stack: TestStack): Promise<(string | undefined)[]> {
  return Promise.all(stack.gateways.map(async (g) => (await getHello(g.url, 'hello')).body?.version));
}

/** The parts of a plan the dry-run rendering reads besides the gateways. */
const stackless = {
  stack: 's',
  pumps: [],
  gatewayVersion: 'v5.9.1',
  allowDowngrade: false,
  gates: [],
  healthTimeoutMs: 1000,
  batchSize: 1,
  backupDir: '/b',
  keepOldContainers: false,
} satisfies Partial<UpgradeInput>;

const measured: { haproxy?: TrafficResult; nginx?: TrafficResult } = {};

describe('rolling upgrade of three gateways, batch size 1, with steady GET and POST traffic', () => {
  it('behind HAProxy with the driver: not one failed request of either kind, all on 5.3.0, all three UP and READY', async () => {
    const stack = await testStack({ prefix: 'lbroll', gateways: 3, pump: false });
    const h = await haproxyFor(stack);
    try {
      const traffic = startTraffic(h.frontendUrl);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [], batchSize: 1, soakMs: SOAK_MS, loadBalancer: lbOf(h) }), {
        taskQueue: t.worker.taskQueue,
      });
      const result = await handle.result();
      await keepHistory(handle, 'lb-rolling-haproxy', t.env.client);
      await sleep(300);
      const r = await traffic.stop();
      measured.haproxy = r;

      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.deepEqual(await versions(stack), ['5.3.0', '5.3.0', '5.3.0']);
      assert.deepEqual(r.GET.failed, [], 'no failed GET through HAProxy');
      assert.deepEqual(r.POST.failed, [], 'no failed POST through HAProxy');
      assertFlowed(r, 100);
      assert.deepEqual(Object.keys(r.servedBy).sort(), ['gw1', 'gw2', 'gw3'], 'every gateway served');
      assert.deepEqual(await serverStates(h), allReady(3));
      // Each batch's own history (the children as Temporal recorded them): what it serves read first, out of rotation
      // before the stop, back only once healthy, serving the same and soaked, all of it for the same gateway, one
      // gateway per batch in order; while it soaks, the next gateway's replacement is made.
      const children = childrenOf(await upgradeHistories(t.env.client, handle.workflowId));
      assert.deepEqual(
        children.map((c) => c.workflowId),
        result.batches.map((b) => b.workflowId),
        'the status names the children that ran',
      );
      for (const [i, c] of children.entries()) {
        const acts = activitiesIn(c.history);
        const own = (a: string) => `${a} ${stack.gateways[i].container}`;
        const next = stack.gateways[i + 1] ? [`prepareReplacements ${stack.gateways[i + 1].container}`] : [];
        assert.deepEqual(
          acts.map((a) => `${a.type} ${containersOf(a).join(',')}`),
          [...['readInventory', 'lbDrain', 'recreateContainer', 'checkHealth', 'checkServing', 'soakHealth'].map(own), ...next, own('lbReady')],
          c.workflowId,
        );
      }
    } finally {
      await h.stop();
      await stack.remove();
    }
  });

  it('behind nginx without a driver (the baseline): failed POSTs counted and printed, not asserted', async () => {
    const stack = await testStack({ prefix: 'lbbase', gateways: 3, pump: false });
    const nginx = await startNginx(stack.gateways.map((g) => g.url.replace('http://', '')));
    try {
      const traffic = startTraffic(nginx.url);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [], batchSize: 1, soakMs: SOAK_MS }), { taskQueue: t.worker.taskQueue });
      const result = await handle.result();
      await sleep(300);
      const r = await traffic.stop();
      measured.nginx = r;
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.deepEqual(await versions(stack), ['5.3.0', '5.3.0', '5.3.0']);
      assertFlowed(r, 100);
      console.log(
        `# failed requests during the roll: HAProxy with the driver: ${measured.haproxy ? describeTraffic(measured.haproxy) : 'not measured'}; nginx without a driver: ${describeTraffic(r)}`,
      );
      if (r.POST.failed.length) console.log(`# nginx baseline, failed POSTs: ${[...new Set(r.POST.failed)].join('; ')}`);
    } finally {
      await nginx.stop();
      await stack.remove();
    }
  });
});

describe('a gateway whose replacement fails its health check', () => {
  it('is rolled back and put back into rotation; no request fails; HAProxy ends with all three ready', async () => {
    const stack = await testStack({ prefix: 'lbfail', gateways: 3, pump: false });
    const h = await haproxyFor(stack);
    try {
      const traffic = startTraffic(h.frontendUrl);
      const handle = await startUpgrade(
        t.env.client,
        stack.input({ gates: [], batchSize: 1, soakMs: 1_000, healthTimeoutMs: 6_000, gatewayRepository: FAULTY_REPO('hello-fail'), loadBalancer: lbOf(h) }),
        { taskQueue: t.worker.taskQueue },
      );
      const f = await failureOf(handle.result());
      await keepHistory(handle, 'lb-rollback-hello-fail', t.env.client);
      await sleep(300);
      const r = await traffic.stop();

      assert.equal(f.status.outcome, 'rolled-back', f.message);
      const first = f.status.instances[0];
      assert.equal(first.state, 'rolled-back');
      assert.match(first.detail ?? '', /status fail/);
      assert.deepEqual(await versions(stack), ['5.2.0', '5.2.0', '5.2.0']);
      assert.deepEqual([...r.GET.failed, ...r.POST.failed], [], `no failed request (${describeTraffic(r)})`);
      assertFlowed(r, 50);
      assert.deepEqual(await serverStates(h), allReady(3));
    } finally {
      await h.stop();
      await stack.remove();
    }
  });
});

describe('the worker SIGKILLed while a gateway is drained', () => {
  it('a new worker resumes: the gateway is recreated and put back, never left drained; no request fails', async () => {
    const stack = await testStack({ prefix: 'lbcrash', gateways: 3, pump: false });
    const h = await haproxyFor(stack);
    const taskQueue = `lbcrash-${Date.now()}`;
    const first = spawnWorker(taskQueue, { crashAt: 'lb:drained' });
    let second: WorkerProcess | undefined;
    try {
      const traffic = startTraffic(h.frontendUrl);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [], batchSize: 1, soakMs: 1_000, loadBalancer: lbOf(h) }), { taskQueue });
      const died = await first.exited;
      assert.equal(died.signal, 'SIGKILL', `worker died by SIGKILL (output: ${first.output()})`);
      assert.match(first.output(), /crashing at lb:drained/);
      // The moment of the crash: gw1 out of rotation, still the old container, still running.
      assert.deepEqual(await serverStates(h), ['gw1 DRAIN DRAIN', 'gw2 UP READY', 'gw3 UP READY']);
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');

      second = spawnWorker(taskQueue);
      const result = await handle.result();
      await keepHistory(handle, 'lb-crash-drained', t.env.client);
      await sleep(300);
      const r = await traffic.stop();
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.deepEqual(await versions(stack), ['5.3.0', '5.3.0', '5.3.0']);
      assert.deepEqual(await containerNames(stack.name), stack.gateways.map((g) => g.container).sort(), 'exactly one container per name');
      assert.deepEqual(await serverStates(h), allReady(3));
      assert.deepEqual([...r.GET.failed, ...r.POST.failed], [], `no failed request (${describeTraffic(r)})`);
      assertFlowed(r, 50);
    } finally {
      await first.stop();
      await second?.stop();
      await h.stop();
      await stack.remove();
    }
  });
});

describe('the traffic check itself (a control for the tests above)', () => {
  it('sees a failure: a gateway stopped under traffic behind the same HAProxy, without the driver, fails the requests it holds', async () => {
    const stack = await testStack({ prefix: 'lbctl', gateways: 3, pump: false });
    const h = await haproxyFor(stack);
    try {
      // Slow requests, so gw1 surely holds some when it stops; 5.2.0 cuts its requests in flight on SIGTERM.
      const traffic = startTraffic(h.frontendUrl, { slowMs: 400 });
      await waitFor(
        'requests in flight on gw1',
        async () => (((await serverStat({ socket: h.socketPath }, h.backend, 'gw1'))?.scur ?? 0) > 0 ? true : undefined),
        20_000,
        10,
      );
      await docker.getContainer(stack.gateways[0].container).stop({ t: 10 });
      await waitFor(
        'HAProxy to see gw1 DOWN',
        async () => ((await serverStat({ socket: h.socketPath }, h.backend, 'gw1'))?.status === 'DOWN' ? true : undefined),
        15_000,
      );
      await sleep(500);
      const r = await traffic.stop();
      const failed = [...r.GET.failed, ...r.POST.failed];
      console.log(`# control, a gateway stopped without the driver: ${describeTraffic(r)} (${[...new Set(failed)].join('; ')})`);
      assert.ok(failed.length >= 1, `the traffic saw the gateway stop under it (${describeTraffic(r)})`);
      assert.ok(
        failed.every((f) => /^HTTP 50[234]$|socket|closed|reset/i.test(f)),
        `each failure is a request cut or refused: ${[...new Set(failed)].join('; ')}`,
      );
      assert.equal(r.stoppedBy, 'stop');
    } finally {
      await h.stop();
      await stack.remove();
    }
  });

  it('says when it stopped at its bound rather than when the test stopped it', async () => {
    const server = createServer((_req, res) => void res.end('done\n'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const traffic = startTraffic(`http://127.0.0.1:${(server.address() as { port: number }).port}`, { maxRequests: 40 });
      const r = await Promise.race([traffic.ended, sleep(60_000).then(() => assert.fail('the traffic did not stop at its bound'))]);
      assert.equal(r.stoppedBy, 'maxRequests');
      assert.equal(r.GET.ok + r.POST.ok + r.GET.failed.length + r.POST.failed.length, 40);
      assert.match(describeTraffic(r), /stopped early at its maxRequests bound/);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

describe('init and plan with HAProxy', () => {
  let stack: TestStack;
  let h: TestHaproxy;
  after(async () => {
    await h?.stop();
    await stack?.remove();
  });

  it("init --haproxy-socket writes loadBalancer: with each gateway's server; plan finds them and says who drains", async () => {
    stack = await testStack({ prefix: 'lbmiss', gateways: 2, pump: false });
    h = await haproxyFor(stack);
    const dir = tempDir('lbinit');
    const q = ['--task-queue', t.worker.taskQueue];
    const init = await runCli(
      ['init', '--label', `io.tyk-upgrade.sandbox=${stack.name}`, '--gateway-version', 'v5.3.0', '--haproxy-socket', h.socketPath, '-o', 'plan.yaml', ...q],
      { cwd: dir },
    );
    assert.equal(init.code, 0, init.stderr);
    const [c1, c2] = stack.gateways.map((g) => g.container);
    assert.match(init.stdout, new RegExp(`HAProxy backend "tyk": ${c1} is server gw1, ${c2} is server gw2`));
    const written = parsePlanText(readFileSync(join(dir, 'plan.yaml'), 'utf8'), 'plan.yaml');
    assert.deepEqual(toUpgradeInput(written).loadBalancer, {
      type: 'haproxy',
      socket: h.socketPath,
      backend: 'tyk',
      drainTimeoutMs: 30_000,
      readyTimeoutMs: 30_000,
      servers: { [c1]: 'gw1', [c2]: 'gw2' },
    });

    const plan = await runCli(['plan', '-f', 'plan.yaml', ...q], { cwd: dir });
    assert.equal(plan.code, 0, plan.stdout + plan.stderr);
    assert.match(plan.stdout, new RegExp(`Load balancer: HAProxy backend tyk at ${h.socketPath}`));
    assert.match(plan.stdout, new RegExp(`${c1} +gw1 +UP\n +${c2} +gw2 +UP`));
    assert.match(plan.stdout, new RegExp(`by the load balancer only .*: ${c1}, ${c2}.`));

    const wrong = await runCli(
      [
        'init',
        '--label',
        `io.tyk-upgrade.sandbox=${stack.name}`,
        '--gateway-version',
        'v5.3.0',
        '--haproxy-socket',
        h.socketPath,
        '--haproxy-backend',
        'nope',
        '-o',
        'other.yaml',
        ...q,
      ],
      { cwd: dir },
    );
    assert.equal(wrong.code, Exit.StackNotReady, wrong.stderr);
    assert.match(wrong.stderr, /HAProxy has no backend "nope" with servers \(backends with servers: tyk\)/);
    assert.ok(!existsSync(join(dir, 'other.yaml')), 'no plan written');
  });

  it('a plan naming a server HAProxy does not have is refused by `plan` and at preflight; nothing is drained or stopped', async () => {
    {
      const before = await Promise.all(stack.gateways.map((g) => docker.getContainer(g.container).inspect()));
      const input = stack.input({ gates: [], loadBalancer: { ...lbOf(h), servers: { [stack.gateways[1].container]: 'gw9' } } });

      const reports = await dryRunPlan(t.env.client, input, t.worker.taskQueue);
      const problems = reports.flatMap((a) => a.result?.problems ?? [a.error]);
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.match(
        problems[0] ?? '',
        new RegExp(
          `load balancer: ${stack.gateways[1].container} is mapped to server "gw9", which HAProxy backend "tyk" does not have; its servers: gw1 .*gw2`,
        ),
      );

      const handle = await startUpgrade(t.env.client, input, { taskQueue: t.worker.taskQueue });
      const f = await failureOf(handle.result());
      assert.equal(f.status.outcome, 'failed');
      assert.equal(f.status.stages.find((s) => s.name === 'preflight')?.state, 'failed');
      assert.match(f.message, /"gw9"/);
      const events = (await handle.fetchHistory()).events ?? [];
      const failedType = events.map((e) => e.activityTaskFailedEventAttributes?.failure?.applicationFailureInfo?.type).find(Boolean);
      assert.equal(failedType, ErrorType.LoadBalancerServerNotFound);
      assert.deepEqual(await serverStates(h), allReady(2), 'nothing drained');
      for (const [i, g] of stack.gateways.entries()) {
        const now = await docker.getContainer(g.container).inspect();
        assert.deepEqual([now.Id, now.State.StartedAt], [before[i].Id, before[i].State.StartedAt], `${g.container} untouched`);
      }
    }
  });

  it('plan says which gateways drain by themselves on stop and which need the load balancer', () => {
    const gw = (container: string, current: string): InstanceReport => ({
      role: 'gateway',
      container,
      state: 'running',
      current,
      target: '5.9.1',
      backup: [],
      problems: [],
      drainsItself: gatewayHasReady(current),
    });
    const report: DryRunReport = { instances: [gw('old-gw', '5.8.2'), gw('new-gw', '5.8.3')], images: [], problems: [], warnings: [] };
    const base = {
      ...stackless,
      drainTimeoutSec: 10,
      gateways: [
        { container: 'old-gw', url: 'http://127.0.0.1:1', helloPath: 'hello' },
        { container: 'new-gw', url: 'http://127.0.0.1:2', helloPath: 'hello' },
      ],
    };
    const without = renderDryRun(base, report, 'p.yaml');
    assert.match(
      without,
      /Drain on stop by Tyk itself \(5\.8\.3\+ \/ 5\.9\+, within drainTimeout 10 s\): new-gw\.\n +drainTimeout 10 s is shorter than Tyk's default graceful_shutdown_timeout_duration \(30 s\)/,
    );
    assert.match(without, /No drain on stop for old-gw: Tyk before 5\.8\.3 cuts its requests in flight, and the plan has no loadBalancer:/);
    const withLb = renderDryRun(
      { ...base, drainTimeoutSec: 40, loadBalancer: { type: 'hooks', beforeStop: 'http://lb/drain', afterHealthy: 'http://lb/up', timeoutMs: 60_000 } },
      report,
      'p.yaml',
    );
    assert.match(withLb, /Load balancer: hooks http:\/\/lb\/drain \/ http:\/\/lb\/up; each gateway leaves it before its stop/);
    assert.match(withLb, /Drain on stop by the load balancer only .*: old-gw\./);
    assert.doesNotMatch(withLb, /shorter than/);
  });

  it('a plan file: loadBalancer reaches the workflow input; a server for a container the plan does not list is refused', () => {
    const plan = (lb: string) => `stack: s\ngateway:\n  version: v5.3.0\n  instances:\n    - container: tyk-gateway-1\n      url: http://127.0.0.1:8080\n${lb}`;
    const parsed = parsePlanText(plan('loadBalancer:\n  haproxy: { socket: /run/haproxy/admin.sock, backend: tyk }\n  drainTimeout: 20s\n'), 'plan.yaml');
    assert.deepEqual(toUpgradeInput(parsed, {}).loadBalancer, {
      type: 'haproxy',
      socket: '/run/haproxy/admin.sock',
      backend: 'tyk',
      drainTimeoutMs: 20_000,
      readyTimeoutMs: 30_000,
    });
    assert.equal(toUpgradeInput(parsePlanText(plan('loadBalancer: none\n'), 'plan.yaml'), {}).loadBalancer, undefined);
    assert.throws(
      () => parsePlanText(plan('loadBalancer:\n  haproxy: { socket: /s, backend: tyk }\n  servers: { tyk-gatway-1: gw1 }\n'), 'plan.yaml'),
      /loadBalancer\.servers\.tyk-gatway-1.*"tyk-gatway-1" is not one of the plan's gateway\.instances/s,
    );
    assert.throws(
      () => parsePlanText(plan('loadBalancer:\n  haproxy: { socket: /s, backend: tyk }\n  drainTimout: 20s\n'), 'plan.yaml'),
      /drainTimout.*drainTimeout/s,
    );
  });
});

// ---------------------------------------------------------------------------------------------------------
interface HookCall {
  event: string;
  container: string;
  authorization?: string;
  answered: number | 'never';
}

/** A real HTTP receiver on 127.0.0.1: `answer` gives the status for each call, or "never" to keep it waiting. */
async function hookReceiver(answer: (event: string, container: string, nth: number) => number | 'never') {
  const calls: HookCall[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const body = JSON.parse(text) as { event: string; container: string };
      const nth = calls.filter((c) => c.event === body.event && c.container === body.container).length + 1;
      const code = answer(body.event, body.container, nth);
      calls.push({ event: body.event, container: body.container, authorization: (req.headers as IncomingHttpHeaders).authorization, answered: code });
      if (code !== 'never') res.writeHead(code).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    calls,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('HTTP hooks', () => {
  it('beforeStop then afterHealthy for each gateway in order, a 500 retried, and a hook that never answers fails its gateway safely', async () => {
    const TOKEN = 'Bearer hook-s3cret-91c4';
    const stack = await testStack({ prefix: 'lbhooks', gateways: 3, pump: false });
    const [g1, g2, g3] = stack.gateways.map((g) => g.container);
    // g2's beforeStop answers 500 twice before it takes it; g3's beforeStop never answers.
    const rx = await hookReceiver((event, container, nth) =>
      event === 'beforeStop' && container === g3 ? 'never' : event === 'beforeStop' && container === g2 && nth <= 2 ? 500 : 200,
    );
    const worker = await startWorker(t.env, { hookHeaders: { Authorization: TOKEN } });
    try {
      const g3Before = await docker.getContainer(g3).inspect();
      const lb: LoadBalancerInput = { type: 'hooks', beforeStop: `${rx.base}/drain`, afterHealthy: `${rx.base}/enable`, timeoutMs: 3_000 };
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [], batchSize: 1, soakMs: 0, maxFailures: 1, loadBalancer: lb }), {
        taskQueue: worker.taskQueue,
      });
      // One gateway left on its old version, within the budget of 1: the run ends failed as `partial`.
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'lb-hooks', t.env.client);
      assert.equal(failure.type, 'UpgradePartial', failure.message);
      const result = failure.status;

      assert.deepEqual(
        rx.calls.map((c) => `${c.event} ${c.container} ${c.answered}`),
        [
          `beforeStop ${g1} 200`,
          `afterHealthy ${g1} 200`,
          `beforeStop ${g2} 500`,
          `beforeStop ${g2} 500`,
          `beforeStop ${g2} 200`,
          `afterHealthy ${g2} 200`,
          `beforeStop ${g3} never`,
          `afterHealthy ${g3} 200`,
        ],
      );
      assert.ok(
        rx.calls.every((c) => c.authorization === TOKEN),
        "every call carries the worker's header",
      );
      assert.equal(result.outcome, 'partial', result.reason);
      const third = result.instances[2];
      assert.equal(third.state, 'rolled-back');
      assert.match(third.detail ?? '', /not taken out of the load balancer, so not stopped: beforeStop hook .* did not succeed within 3 s/);
      assert.deepEqual(await versions(stack), ['5.3.0', '5.3.0', '5.2.0']);
      const g3Now = await docker.getContainer(g3).inspect();
      assert.deepEqual([g3Now.Id, g3Now.State.StartedAt], [g3Before.Id, g3Before.State.StartedAt], 'the gateway whose hook failed was never stopped');
      // The hooks are called by lbDrain/lbReady in the batch children: search their histories, not only the parent's.
      const runs = await upgradeHistories(t.env.client, handle.workflowId);
      const children = childrenOf(runs);
      assert.deepEqual(
        children.map((c) =>
          activitiesIn(c.history)
            .filter((a) => a.type === 'lbDrain')
            .flatMap(containersOf),
        ),
        [[g1], [g2], [g3]],
        'each batch child ran the drain of its gateway',
      );
      for (const r of runs) {
        const text = historyText(r.history);
        assert.ok(text.includes('beforeStop'), `the history of ${r.workflowId} is decoded text (else the check below could not fail)`);
        assert.ok(!text.includes('s3cret'), `the worker's hook header is not in the history of ${r.workflowId}`);
      }
    } finally {
      await worker.stop();
      await rx.close();
      await stack.remove();
    }
  });
});

after(() => {
  if (measured.haproxy && measured.nginx) {
    console.log(`# summary: HAProxy driver ${describeTraffic(measured.haproxy)} | nginx, no driver ${describeTraffic(measured.nginx)}`);
  }
});
