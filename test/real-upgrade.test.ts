// The product end to end on real Tyk (the images rig/tyk-real.sh builds from Tyk's source): two real gateways
// v5.3.0 and a real pump v1.9.0 started by hand with `docker run`, behind a real HAProxy, found by `tyk-upgrade
// init` and upgraded by `tyk-upgrade start` to gateway v5.8.10 and pump v1.12.2 with the load-balancer driver,
// while GET and POST requests flow through an API of the gateways to an upstream. First the same traffic through
// the same path without the driver (a bare `docker stop` of a 5.3.0, which cuts its requests in flight), so the
// check that counts failed requests is shown to see them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { serversOf, serverStat } from '../src/activities/load-balancer/haproxy-runtime';
import { getHello, getReady } from '../src/activities/tyk-http';
import { workflowIdFor } from '../src/shared/names';
import { runCli } from './support/cli';
import { startHaproxy, type TestHaproxy } from './support/haproxy';
import { historyText } from './support/history';
import {
  dockerCli,
  fileHashes,
  healthyOn,
  keylessApi,
  pumpServes,
  realImage,
  runGatewayByHand,
  runPumpByHand,
  startLines,
  throughApi,
  type HandMade,
} from './support/real-tyk';
import { docker, freePort, sleep, startRedis, tempDir, waitFor, type RedisServer } from './support/services';
import { describeTraffic, startTraffic, upstreamApi } from './support/traffic';
import { startUpstream, type Upstream } from './support/upstream';
import { keepHistory } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
const LISTEN_PATH = '/orders/';

describe('real Tyk 5.3.0 → 5.8.10 and pump 1.9.0 → 1.12.2, made by hand, behind HAProxy, under load', () => {
  const id = randomBytes(3).toString('hex');
  const stack = `realup-${id}`;
  const secret = randomBytes(16).toString('hex');
  const redisPassword = `redis-${randomBytes(8).toString('hex')}`;
  const labels = { 'e2e.stack': stack, 'com.example.team': 'payments' };
  // A person's env: the secret as Tyk's override of tyk.conf, and a Go setting.
  const env = { TYK_GW_SECRET: secret, GOMAXPROCS: '1' };
  let redis: RedisServer;
  let upstream: Upstream;
  let haproxy: TestHaproxy;
  let gateways: HandMade[] = [];
  let pump: HandMade;
  const dir = tempDir(stack);

  before(async () => {
    redis = await startRedis(redisPassword);
    upstream = await startUpstream();
    const port = await freePort(2);
    const redisRef = { port: redis.port, password: redisPassword };
    gateways = await Promise.all(
      [1, 2].map((n) =>
        runGatewayByHand({
          container: `${stack}-gw-${n}`,
          image: realImage('gateway', 'v5.3.0'),
          port: port + n - 1,
          redis: redisRef,
          secret,
          apis: [keylessApi('orders', LISTEN_PATH, upstream.url)],
          labels,
          env,
        }),
      ),
    );
    pump = await runPumpByHand({ container: `${stack}-pump`, image: realImage('pump', 'v1.9.0'), healthPort: await freePort(), redis: redisRef, labels });
    for (const g of gateways) await healthyOn(g.url, '5.3.0');
    await pumpServes(pump.url);
    haproxy = await startHaproxy({ servers: gateways.map((g, i) => ({ name: `gw${i + 1}`, address: g.url.replace('http://', '') })) });
    await allUp();
  });

  after(async () => {
    for (const c of [...gateways, pump].filter(Boolean))
      await docker
        .getContainer(c.container)
        .remove({ force: true, v: true })
        .catch(() => undefined);
    await haproxy?.stop();
    await upstream?.stop();
    await redis?.stop();
  });

  async function allUp(): Promise<void> {
    for (const s of ['gw1', 'gw2']) {
      await waitFor(
        `HAProxy to see ${s} UP`,
        async () => ((await serverStat({ socket: haproxy.socketPath }, haproxy.backend, s))?.status === 'UP' ? true : undefined),
        30_000,
      );
    }
  }

  it('control: the same traffic through the same path loses requests when a 5.3.0 is stopped without the driver', async () => {
    // 2 s requests from four clients: each gateway always has some in flight, and they outlast the 1 s that 5.3.0
    // waits on SIGTERM before it exits (gateway/server.go: "Terminating.", time.Sleep(time.Second)).
    const traffic = startTraffic(haproxy.frontendUrl, { target: upstreamApi(LISTEN_PATH), slowMs: 2_000 });
    await sleep(2_500);
    await dockerCli(['stop', gateways[0].container]);
    await sleep(2_500);
    const r = await traffic.stop();
    await dockerCli(['start', gateways[0].container]);
    assert.ok(r.GET.ok + r.POST.ok >= 4, `traffic flowed (${describeTraffic(r)})`);
    assert.ok(r.GET.failed.length + r.POST.failed.length > 0, `a bare stop of real 5.3.0 cut requests in flight (${describeTraffic(r)})`);
    console.log(
      `# control, bare docker stop of a real 5.3.0 behind HAProxy: ${describeTraffic(r)}: ${[...new Set([...r.GET.failed, ...r.POST.failed])].join('; ')}`,
    );
    await healthyOn(gateways[0].url, '5.3.0');
    await allUp();
  });

  it('init finds them; start rolls both gateways and the pump with 0 failed requests; each serves the API on 5.8.10', async () => {
    const q = ['--task-queue', t.worker.taskQueue];
    const init = await runCli(
      [
        'init',
        '--label',
        `e2e.stack=${stack}`,
        '--stack',
        stack,
        '--gateway-version',
        'v5.8.10',
        '--pump-version',
        'v1.12.2',
        '--haproxy-socket',
        haproxy.socketPath,
        '-o',
        'plan.yaml',
        ...q,
      ],
      { cwd: dir },
    );
    assert.equal(init.code, 0, init.stdout + init.stderr);
    const [g1, g2] = gateways.map((g) => g.container);
    for (const g of gateways) assert.match(init.stdout, new RegExp(`${g.container} +gateway +5\\.3\\.0 +${g.url}/hello`));
    assert.match(init.stdout, new RegExp(`${pump.container} +pump +1\\.9\\.0 +${pump.url}`));
    assert.match(init.stdout, new RegExp(`HAProxy backend "tyk": ${g1} is server gw1, ${g2} is server gw2`));

    const before = await Promise.all([...gateways, pump].map((c) => fileHashes(c.dir)));
    const traffic = startTraffic(haproxy.frontendUrl, { target: upstreamApi(LISTEN_PATH) });
    const start = await runCli(['start', '-f', 'plan.yaml', '--auto-approve', '--by', 'e2e', ...q], { cwd: dir, timeoutMs: 600_000 });
    await sleep(300);
    const r = await traffic.stop();
    assert.equal(start.code, 0, start.stdout + start.stderr);

    assert.equal(r.stoppedBy, 'stop', `the traffic ran until the upgrade ended (${describeTraffic(r)})`);
    assert.deepEqual(r.GET.failed, [], `no failed GET (${describeTraffic(r)})`);
    assert.deepEqual(r.POST.failed, [], `no failed POST (${describeTraffic(r)})`);
    assert.ok(r.GET.ok > 100 && r.POST.ok > 100, `traffic flowed throughout (${describeTraffic(r)})`);
    assert.deepEqual(Object.keys(r.servedBy).sort(), ['gw1', 'gw2'], 'both gateways served');
    console.log(`# real Tyk behind HAProxy with the driver: ${describeTraffic(r)}`);

    for (const [i, g] of gateways.entries()) {
      const info = await docker.getContainer(g.container).inspect();
      assert.equal(info.Config.Image, realImage('gateway', 'v5.8.10'));
      const hello = (await getHello(g.url, 'hello')).body;
      assert.equal(hello?.status, 'pass');
      assert.equal(hello?.version, '5.8.10');
      assert.equal(hello?.details?.redis?.status, 'pass', JSON.stringify(hello));
      assert.equal((await getReady(g.url)).code, 200, '/ready on 5.8.10');
      assert.equal(await throughApi(g.url, LISTEN_PATH), 'GET /answer?from=test', `${g.container} serves the API`);
      const apis = await request(`${g.url}/tyk/apis`, { headers: { 'x-tyk-authorization': secret } });
      assert.match(await apis.body.text(), /"api_id":"orders"/, `${g.container} loaded the API from apps/`);
      // Made by hand, kept by the recreate: labels, env, restart policy, the bind mounts.
      for (const [k, v] of Object.entries(labels)) assert.equal(info.Config.Labels[k], v);
      for (const [k, v] of Object.entries(env)) assert.ok(info.Config.Env.includes(`${k}=${v}`), `${k} kept`);
      assert.equal(info.HostConfig.RestartPolicy?.Name, 'unless-stopped');
      assert.equal(info.HostConfig.NetworkMode, 'host');
      assert.deepEqual(await fileHashes(g.dir), before[i], `${g.container}: config bytes unchanged`);
    }
    const p = await docker.getContainer(pump.container).inspect();
    assert.equal(p.Config.Image, realImage('pump', 'v1.12.2'));
    const pumpStart = await startLines(pump.container);
    assert.ok(/## Tyk Pump, 1\.12\.2 ##/.test(pumpStart), `the pump's start says 1.12.2: ${pumpStart.slice(0, 600)}`);
    await pumpServes(pump.url);
    assert.deepEqual(await fileHashes(pump.dir), before[2], 'pump.conf bytes unchanged');
    assert.deepEqual(
      (await docker.listContainers({ all: true, filters: { label: [`e2e.stack=${stack}`] } })).map((c) => c.Names[0].slice(1)).sort(),
      [...gateways.map((g) => g.container), pump.container].sort(),
      'exactly the three containers, no old ones left',
    );
    const states = (await serversOf({ socket: haproxy.socketPath }, haproxy.backend)) ?? [];
    assert.deepEqual(
      states.map((s) => `${s.server} ${s.adminState === 0 ? 'READY' : s.adminState}`),
      ['gw1 READY', 'gw2 READY'],
    );

    // The parent and every batch child, payloads decoded: the driver ran in each batch, and no secret is anywhere.
    const handle = t.env.client.workflow.getHandle(workflowIdFor(stack));
    await keepHistory(handle, 'real-tyk-lb-upgrade', t.env.client);
    const parent = await handle.fetchHistory();
    const children = (parent.events ?? []).map((e) => e.childWorkflowExecutionStartedEventAttributes?.workflowExecution).filter((c) => !!c);
    assert.equal(children.length, 3, 'two gateway batches and the pump');
    const texts = [historyText(parent)];
    for (const c of children) {
      const h = await t.env.client.workflow.getHandle(c.workflowId as string, c.runId ?? undefined).fetchHistory();
      texts.push(historyText(h));
      const activities = (h.events ?? []).map((e) => e.activityTaskScheduledEventAttributes?.activityType?.name).filter(Boolean);
      // The first batch makes the second one's replacement while it soaks.
      const ahead = c.workflowId?.endsWith('/batch-1') ? ['prepareReplacements'] : [];
      if (activities.includes('lbDrain'))
        assert.deepEqual(
          activities,
          ['readInventory', 'lbDrain', 'recreateContainer', 'checkHealth', 'checkServing', 'soakHealth', ...ahead, 'lbReady'],
          `${c.workflowId}: what it serves read before the drain and compared after the health check`,
        );
    }
    assert.equal(texts.filter((x) => x.includes('lbDrain')).length, 2, 'each gateway batch went through the driver');
    for (const text of texts) {
      assert.ok(text.includes(gateways[0].container), 'the history is decoded text (else the search below could not fail)');
      for (const s of [secret, redisPassword]) assert.ok(!text.includes(s), 'no secret of tyk.conf, the env or pump.conf in any history');
    }
    assert.ok(!`${init.stdout}${init.stderr}${start.stdout}${start.stderr}`.includes(secret), 'no secret in the CLI output');
    const plan = readFileSync(join(dir, 'plan.yaml'), 'utf8');
    assert.ok(!plan.includes(secret) && !plan.includes(redisPassword), 'no secret in the plan init wrote');
  });
});
