// Real failures on real Tyk, each rolled back to the real old version, which serves its API again:
// - a real build that cannot start (the real binary without its C library: exec fails);
// - a real 5.8.10 whose Redis is stopped during its health check (started again before the rollback's own check);
// - 5.8.10's own drain with no load balancer: the real 5.8.10 is the one being replaced (a downgrade to a build
//   that cannot start, then rolled back), and requests in flight through it when it is stopped finish with 200,
//   one of them longer than Docker's default 10 s stop timeout, so only the tool's drain timeout lets it;
// - a real pump 1.12.2 (which runs as uid 65532, where 1.9.0 ran as root) that cannot read a root-only pump.conf.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { getHello } from '../src/activities/tyk-http';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { DEFAULTS } from '../src/plan/load';
import type { UpgradeInput } from '../src/shared/types';
import { configDiffersFromBackup, restartableRedis, type RestartableRedis } from './support/faults';
import { historyText } from './support/history';
import {
  fileHashes,
  healthyOn,
  keylessApi,
  NOLIBC_REPO,
  noLibcGateway,
  pumpServes,
  realImage,
  runGatewayByHand,
  runPumpByHand,
  throughApi,
  type HandMade,
} from './support/real-tyk';
import { docker, freePort, sleep, tempDir, waitFor } from './support/services';
import { startUpstream, type Upstream } from './support/upstream';
import { failureOf, keepHistory, waitForGate, waitUntil } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
const LISTEN_PATH = '/orders/';

let upstream: Upstream;
const cleanups: (() => Promise<void>)[] = [];
before(async () => {
  upstream = await startUpstream();
  // Built while the first stack starts: the real 5.8.10 and 5.3.0 without libc, as targets that cannot start.
  await Promise.all([noLibcGateway('5.8.10'), noLibcGateway('5.3.0')]);
});
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  await upstream?.stop();
});

interface OneGateway {
  gw: HandMade;
  redis: RestartableRedis;
  secret: string;
  input(o: Partial<UpgradeInput>): UpgradeInput;
}

/** One real gateway made by hand with its own restartable, password-protected Redis, healthy on `version`. */
async function oneGateway(prefix: string, version: string): Promise<OneGateway> {
  const redis = await restartableRedis();
  const secret = randomBytes(16).toString('hex');
  const container = `${prefix}-${randomBytes(3).toString('hex')}`;
  const gw = await runGatewayByHand({
    container,
    image: realImage('gateway', version),
    port: await freePort(),
    redis,
    secret,
    apis: [keylessApi('orders', LISTEN_PATH, upstream.url)],
    labels: { 'e2e.stack': container },
  });
  cleanups.push(async () => {
    for (const c of await docker.listContainers({ all: true, filters: { label: [`e2e.stack=${container}`] } }))
      await docker.getContainer(c.Id).remove({ force: true, v: true });
    await redis.stop();
  });
  await healthyOn(gw.url, version);
  return {
    gw,
    redis,
    secret,
    input: (o) => ({
      stack: container,
      gateways: [{ container, url: gw.url, helloPath: 'hello' }],
      pumps: [],
      gatewayVersion: 'v5.8.10',
      allowDowngrade: false,
      gates: [],
      drainTimeoutSec: DEFAULTS.drainTimeoutMs / 1000,
      healthTimeoutMs: 30_000,
      batchSize: 1,
      soakMs: 2_000,
      backupDir: tempDir(`${container}-backups`),
      keepOldContainers: false,
      ...o,
    }),
  };
}

/** Back on `version` and serving: /hello passes with Redis, the API answers, one container of that name, config as before. */
async function servesAgain(s: OneGateway, version: string, before: Record<string, string>, manifest: string): Promise<void> {
  await healthyOn(s.gw.url, version);
  assert.equal((await docker.getContainer(s.gw.container).inspect()).Config.Image, realImage('gateway', version));
  assert.equal(await throughApi(s.gw.url, LISTEN_PATH), 'GET /answer?from=test', 'the old version serves its API');
  assert.deepEqual(
    (await docker.listContainers({ all: true, filters: { label: [`e2e.stack=${s.gw.container}`] } })).map((c) => c.Names[0].slice(1)),
    [s.gw.container],
    'one container, under its own name',
  );
  assert.deepEqual(await fileHashes(s.gw.dir), before, 'config bytes unchanged');
  assert.deepEqual(await configDiffersFromBackup(docker, manifest, s.gw.container), []);
}

/** The (only) instance of the upgrade reached `state`. */
const untilState = (id: string, state: string) => waitUntil(t.env.client, id, `the gateway in state ${state}`, (st) => st.instances[0]?.state === state);

describe('real failures roll back to the real old version', () => {
  it('a real 5.8.10 build that cannot start (no C library): 5.3.0 is back, serving its API', async () => {
    const s = await oneGateway('realnolibc', 'v5.3.0');
    const before = await fileHashes(s.gw.dir);
    const handle = await startUpgrade(t.env.client, s.input({ gatewayRepository: NOLIBC_REPO }), { taskQueue: t.worker.taskQueue });
    const f = await failureOf(handle.result());
    await keepHistory(handle, 'real-tyk-nolibc-rollback', t.env.client);
    assert.equal(f.status.outcome, 'rolled-back', f.message);
    assert.equal(f.status.instances[0].state, 'rolled-back');
    assert.match(
      f.status.instances[0].detail ?? '',
      /is not healthy on 5\.8\.10 after [\d.]+ s: container is restarting \(exit code 1\); last log lines: exec \/opt\/tyk-gateway\/tyk: no such file or directory/,
    );
    await servesAgain(s, 'v5.3.0', before, f.status.backups[0].manifest);
    const history = historyText(await handle.fetchHistory());
    assert.ok(history.includes(s.gw.container) && !history.includes(s.secret) && !history.includes(s.redis.password), 'no secret in the history');
  });

  it('a real 5.8.10 whose Redis stops during its health check: never declared healthy, Redis named, 5.3.0 back', async () => {
    const s = await oneGateway('realredis', 'v5.3.0');
    const before = await fileHashes(s.gw.dir);
    const handle = await startUpgrade(t.env.client, s.input({ healthTimeoutMs: 25_000 }), { taskQueue: t.worker.taskQueue });
    await untilState(handle.workflowId, 'health-check');
    await s.redis.stop();
    // The real 5.8.10 answers, past its warm-up, and says Redis fails.
    const hello = await waitFor(
      '5.8.10 to report Redis failing',
      async () => {
        const b = (await getHello(s.gw.url, 'hello')).body;
        return b?.details?.redis?.status === 'fail' ? b : undefined;
      },
      30_000,
      200,
    );
    assert.equal(hello.version, '5.8.10');
    assert.equal(hello.status, 'fail');
    await untilState(handle.workflowId, 'rolling-back');
    await s.redis.start();
    const f = await failureOf(handle.result());
    await keepHistory(handle, 'real-tyk-redis-rollback', t.env.client);
    assert.equal(f.status.outcome, 'rolled-back', f.message);
    assert.match(f.message, new RegExp(`${s.gw.container} is not healthy on 5\\.8\\.10 after [\\d.]+ s: the gateway cannot reach Redis`));
    await servesAgain(s, 'v5.3.0', before, f.status.backups[0].manifest);
  });

  it("5.8.10's own drain, no load balancer: requests in flight when it is stopped finish with 200, then 5.8.10 is back", async () => {
    const s = await oneGateway('realdrain', 'v5.8.10');
    const before = await fileHashes(s.gw.dir);
    // The stop timeout the tool uses by default must cover Tyk's drain (graceful_shutdown_timeout_duration, 30 s).
    assert.ok(DEFAULTS.drainTimeoutMs >= 30_000, `default drainTimeout ${DEFAULTS.drainTimeoutMs} ms covers Tyk's 30 s drain`);
    const handle = await startUpgrade(
      t.env.client,
      s.input({ gatewayVersion: 'v5.3.0', allowDowngrade: true, gatewayRepository: NOLIBC_REPO, gates: ['before-gateways'] }),
      { taskQueue: t.worker.taskQueue },
    );
    await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
    const old = await docker.getContainer(s.gw.container).inspect();
    const sent = Date.now();
    // 6 s (the stop comes within it, after the inventory read and the recreate's start, even on a loaded machine),
    // and 12 s: longer than Docker's default stop timeout (10 s), so it ends well only on the tool's timeout.
    const inflight = [6_000, 12_000].map((ms) =>
      request(`${s.gw.url}${LISTEN_PATH}slow?ms=${ms}`, { headersTimeout: 60_000, bodyTimeout: 60_000 }).then(
        async (r) => ({ at: Date.now(), answer: `${r.statusCode} ${(JSON.parse(await r.body.text()) as { path: string }).path}` }),
        (err: Error) => ({ at: Date.now(), answer: `cut: ${err.message}` }),
      ),
    );
    await sleep(700);
    await decide(t.env.client, handle.workflowId, 'approve', { by: 'e2e' });
    const answers = await Promise.all(inflight);
    assert.deepEqual(
      answers.map((a) => a.answer),
      ['200 /slow', '200 /slow'],
    );
    // SIGTERM reached the old 5.8.10 while both were in flight.
    const events = await dockerEvents(old.Id, sent, Date.now() + 1000);
    const term = events.find((e) => e.Action === 'kill' && e.Actor?.Attributes?.signal === '15');
    assert.ok(term, `the old container got SIGTERM (events: ${events.map((e) => e.Action).join(', ')})`);
    const termAt = (term.timeNano ?? 0) / 1e6;
    assert.ok(
      answers.every((a) => termAt > sent && termAt < a.at),
      `stopped at +${termAt - sent} ms, answers at ${answers.map((a) => `+${a.at - sent}`).join(', ')} ms`,
    );

    const f = await failureOf(handle.result());
    await keepHistory(handle, 'real-tyk-drain-rollback', t.env.client);
    assert.equal(f.status.outcome, 'rolled-back', f.message);
    await servesAgain(s, 'v5.8.10', before, f.status.backups[0].manifest);
  });
});

describe('a real pump that cannot read its config', () => {
  it('1.12.2 runs as 65532 and pump.conf is 0600 root: rolled back to 1.9.0, the failure says permission denied', async () => {
    const redis = await restartableRedis();
    const container = `realpumpperm-${randomBytes(3).toString('hex')}`;
    cleanups.push(async () => {
      await docker
        .getContainer(container)
        .remove({ force: true, v: true })
        .catch(() => undefined);
      await redis.stop();
    });
    const pump = await runPumpByHand({
      container,
      image: realImage('pump', 'v1.9.0'),
      healthPort: await freePort(),
      redis,
      labels: { 'e2e.stack': container },
      mode: 0o600,
    });
    await pumpServes(pump.url);
    const handle = await startUpgrade(
      t.env.client,
      {
        stack: container,
        gateways: [],
        pumps: [{ container, healthUrl: pump.url }],
        gatewayVersion: 'v5.8.10',
        pumpVersion: 'v1.12.2',
        allowDowngrade: false,
        gates: [],
        drainTimeoutSec: 40,
        healthTimeoutMs: 20_000,
        batchSize: 1,
        soakMs: 2_000,
        backupDir: tempDir(`${container}-backups`),
        keepOldContainers: false,
      },
      { taskQueue: t.worker.taskQueue },
    );
    const f = await failureOf(handle.result());
    assert.equal(f.status.outcome, 'rolled-back', f.message);
    assert.match(f.message, /open \/opt\/tyk-pump\/pump\.conf: permission denied/);
    assert.equal((await docker.getContainer(container).inspect()).Config.Image, realImage('pump', 'v1.9.0'));
    await pumpServes(pump.url);
  });
});

interface DockerEvent {
  Action: string;
  timeNano?: number;
  Actor?: { Attributes?: Record<string, string> };
}

/** The engine's events for one container between two times (epoch ms). */
async function dockerEvents(id: string, fromMs: number, toMs: number): Promise<DockerEvent[]> {
  const stream = (await docker.getEvents({
    since: Math.floor(fromMs / 1000),
    until: Math.ceil(toMs / 1000),
    filters: { container: [id] },
  })) as unknown as NodeJS.ReadableStream;
  let text = '';
  for await (const chunk of stream) text += chunk.toString();
  return text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as DockerEvent);
}
