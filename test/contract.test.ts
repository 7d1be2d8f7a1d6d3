// The stand-ins against real Tyk: every probe runs on a stand-in and on the real binary of the same version (built
// from Tyk's source by rig/tyk-real.sh), side by side on the same Redis and upstream, and the test fails where the
// two answer differently. It also holds each answer to what the tool relies on, so both being wrong fails too.
// What the real binaries showed and how the stand-ins were fixed: standins/README.md ("Checked against real Tyk").
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import Redis from 'ioredis';
import { request } from 'undici';
import { versionInLog } from '../src/activities/versions-from-logs';
import { compareVersions, parseVersion } from '../src/shared/version';
import {
  docker,
  FAULTY_REPO,
  freePort,
  GATEWAY_REPO,
  PUMP_REPO,
  REAL_GATEWAY_REPO,
  REAL_PUMP_REPO,
  sleep,
  startRedis,
  waitFor,
  type RedisServer,
} from './support/services';
import { runGateway, runPump, type GatewayOptions, type PumpOptions, type TykContainer } from './support/tyk-container';
import { startUpstream, type Upstream } from './support/upstream';

type Side = 'standin' | 'real';
const SIDES: Side[] = ['standin', 'real'];
interface Pair<T> {
  standin: T;
  real: T;
}

/** `fn` on both sides at once; both finish (so nothing they start is left behind) before a failure is thrown. */
async function both<T>(fn: (side: Side) => Promise<T>): Promise<Pair<T>> {
  const [standin, real] = await Promise.allSettled(SIDES.map(fn));
  for (const r of [standin, real]) if (r.status === 'rejected') throw r.reason;
  return { standin: (standin as PromiseFulfilledResult<T>).value, real: (real as PromiseFulfilledResult<T>).value };
}

/** The stand-in answers as the real binary does. */
function same<T>(pair: Pair<T>, what: string): T {
  assert.deepEqual(
    pair.standin,
    pair.real,
    `${what}: the stand-in differs from real Tyk\nstand-in: ${JSON.stringify(pair.standin)}\nreal:     ${JSON.stringify(pair.real)}`,
  );
  return pair.real;
}

/** The real image must be there: built by the rig, or pulled from the local registry. A missing one fails. */
async function requireImage(image: string): Promise<void> {
  if (
    await docker
      .getImage(image)
      .inspect()
      .then(Boolean, () => false)
  )
    return;
  try {
    await new Promise<void>((resolve, reject) =>
      docker.pull(image, (err: Error | null, stream: NodeJS.ReadableStream) =>
        err ? reject(err) : docker.modem.followProgress(stream, (e) => (e ? reject(e) : resolve())),
      ),
    );
  } catch (err) {
    throw new Error(`${image} is missing (${(err as Error).message}): run \`TYK_SRC_DIR=<folder with Tyk's source archives> bash rig/tyk-real.sh\``);
  }
}

async function get(url: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}) {
  const r = await request(url, {
    method: (opts.method ?? 'GET') as 'GET',
    headers: opts.headers,
    body: opts.body,
    headersTimeout: 10_000,
    bodyTimeout: 10_000,
  });
  const text = await r.body.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { code: r.statusCode, text, json, type: String(r.headers['content-type'] ?? '') };
}

const atLeast = (v: string, min: string) => compareVersions(parseVersion(v)!, parseVersion(min)!) >= 0;

/**
 * liveness_check.check_duration meaning 8 s on this version: seconds up to 5.3, nanoseconds after. Real Tyk's clock
 * starts before its listener, so a warm-up much shorter than a slow start under load is over before the first /hello
 * (4 s was, once, for the stand-in in CI with the other lanes running).
 */
const CHECK_S = 8;
const checkDuration = (v: string) => (atLeast(v, '5.4.0') ? CHECK_S * 1_000_000_000 : CHECK_S);

const keyless = (id: string, listenPath: string, target: string, extra: Record<string, unknown> = {}) => ({
  name: `API ${id}`,
  api_id: id,
  org_id: 'default',
  use_keyless: true,
  active: true,
  version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
  proxy: { listen_path: listenPath, target_url: target, strip_listen_path: true },
  ...extra,
});

function appsFor(upstream: Upstream, deadPort: number): Record<string, unknown> {
  return {
    'keyless.json': keyless('keyless', '/keyless/', upstream.url),
    // A target nothing listens on.
    'deadend.json': keyless('deadend', '/deadend/', `http://127.0.0.1:${deadPort}/`),
    'nostrip.json': keyless('nostrip', '/nostrip/', `${upstream.url}/base`, {
      proxy: { listen_path: '/nostrip/', target_url: `${upstream.url}/base`, strip_listen_path: false },
    }),
    'protected.json': { ...keyless('protected', '/protected/', upstream.url), use_keyless: false, auth: { auth_header_name: 'Authorization' } },
    'inactive.json': keyless('inactive', '/inactive/', upstream.url, { active: false }),
    'nolisten.json': keyless('nolisten', '', upstream.url, { proxy: { listen_path: '', target_url: upstream.url, strip_listen_path: true } }),
    'tcp.json': keyless('tcp', '/tcp/', upstream.url, { protocol: 'tcp' }),
    // A field Tyk does not know: every real version ignores it; the faulty drops-api image refuses the definition.
    'unsupported.json': keyless('unsupported', '/unsupported/', upstream.url, { standin_unsupported: true }),
    'broken.json': '{"name": "broken", \n',
    'x-oas.json': '{"not": "loaded: -oas.json files belong to an OAS definition"}',
  };
}

const POLICIES = {
  'gold.json': { id: 'gold', name: 'Gold', org_id: 'default', rate: 100, per: 60, active: true, access_rights: {} },
  'silver.json': { id: 'silver', name: 'Silver', org_id: 'default', rate: 10, per: 60, active: false, access_rights: {} },
  'broken.json': '{"id": "bro',
};

/**
 * What /hello says when Redis is away: Tyk's own sentence, or on 5.8 sometimes the client's dial error, depending on
 * whether its connection watcher noticed first (both seen on the real 5.8.10). Anything else is kept as it is.
 */
const redisDown = (s: unknown) =>
  s === 'storage: Redis is either down or was not configured' || (typeof s === 'string' && /^dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/.test(s))
    ? 'redis unreachable'
    : s;

const GATEWAY_VERSIONS = ['5.2.0', '5.3.0', '5.8.10'];
const PUMP_VERSIONS = ['1.9.0', '1.12.2'];

before(async () => {
  for (const v of GATEWAY_VERSIONS) await requireImage(`${REAL_GATEWAY_REPO}:v${v}`);
  for (const v of PUMP_VERSIONS) await requireImage(`${REAL_PUMP_REPO}:v${v}`);
});

for (const version of GATEWAY_VERSIONS) {
  const image = (side: Side) => `${side === 'real' ? REAL_GATEWAY_REPO : GATEWAY_REPO}:v${version}`;

  describe(`gateway ${version}: stand-in and real`, () => {
    const secret = randomBytes(12).toString('hex');
    const redisPassword = randomBytes(12).toString('hex');
    let redis: RedisServer;
    let upstream: Upstream;
    let deadPort: number;
    const gw = {} as Pair<TykContainer>;
    const first = {} as Pair<{ code: number; body: Record<string, unknown> }>;
    const made: TykContainer[] = [];
    const options = (side: Side, extra: Partial<GatewayOptions> = {}): GatewayOptions => ({
      image: image(side),
      prefix: `contract-${side}-${version.replaceAll('.', '')}`,
      redisPort: redis.port,
      redisPassword,
      secret,
      apps: appsFor(upstream, deadPort),
      policies: POLICIES,
      conf: { liveness_check: { check_duration: checkDuration(version) } },
      ...extra,
    });
    const start = async (o: GatewayOptions) => {
      const c = await runGateway(o);
      made.push(c);
      return c;
    };

    before(async () => {
      redis = await startRedis(redisPassword);
      upstream = await startUpstream();
      deadPort = await freePort();
      await both(async (side) => {
        gw[side] = await start(options(side));
        // The very first answer, inside the warm-up.
        first[side] = await waitFor(`${side} /hello`, async () => {
          const r = await get(`${gw[side].url}/hello`).catch(() => undefined);
          return r && { code: r.code, body: r.json as Record<string, unknown> };
        });
      });
    });
    after(async () => {
      for (const c of made) await c.remove();
      await redis.stop();
      await upstream.stop();
    });

    /** /hello once the first check has run, on both sides. */
    const pastWarmUp = () =>
      both(async (side) =>
        waitFor(
          `${side} details.redis`,
          async () => {
            const b = (await get(`${gw[side].url}/hello`)).json as { status: string; details?: { redis?: Record<string, unknown> } };
            return b.details?.redis ? b : undefined;
          },
          CHECK_S * 1000 + 10_000,
          50,
        ),
      );

    it('/hello: no details in the warm-up, then details.redis pass after about check_duration; version without a v', async () => {
      const warm = same(await both(async (side) => ({ code: first[side].code, ...first[side].body })), 'first /hello');
      assert.deepEqual(warm, { code: 200, status: 'pass', version, description: 'Tyk GW' });
      const started = Date.now();
      const bodies = await pastWarmUp();
      const summary = (body: (typeof bodies)['real']) => {
        const redisItem = body.details!.redis!;
        return { status: body.status, keys: Object.keys(redisItem).sort(), redis: redisItem.status, componentType: redisItem.componentType };
      };
      const later = { standin: summary(bodies.standin), real: summary(bodies.real) };
      same(later, '/hello after the warm-up');
      assert.deepEqual(later.real, { status: 'pass', keys: ['componentType', 'status', 'time'], redis: 'pass', componentType: 'datastore' });
      // Both came within about check_duration, in the unit this version reads it in.
      assert.ok(Date.now() - started < CHECK_S * 1000 + 4_000, 'details came within check_duration and a few seconds');
    });

    it('405 on other methods; /ready only on 5.8.10, with the health body', async () => {
      await pastWarmUp();
      const answers = await both(async (side) => {
        const out: Record<string, unknown> = {};
        for (const m of ['POST', 'PUT', 'DELETE']) {
          const r = await get(`${gw[side].url}/hello`, { method: m });
          out[`${m} /hello`] = { code: r.code, json: r.json };
        }
        const ready = await get(`${gw[side].url}/ready`);
        const rj = ready.json as Record<string, unknown> | undefined;
        out['GET /ready'] = { code: ready.code, keys: rj ? Object.keys(rj).sort() : ready.text, description: rj?.description, version: rj?.version };
        out['POST /ready'] = (await get(`${gw[side].url}/ready`, { method: 'POST' })).code;
        return out;
      });
      const real = same(answers, '/hello and /ready');
      assert.deepEqual(real['POST /hello'], { code: 405, json: { status: 'error', message: 'Method Not Allowed' } });
      if (version === '5.8.10')
        assert.deepEqual(real['GET /ready'], { code: 200, keys: ['description', 'details', 'status', 'version'], description: 'Tyk GW Ready', version });
      else assert.equal((real['GET /ready'] as { code: number }).code, 404);
    });

    it('start log: the lines the tool reads, and neither the secret nor the Redis password', async () => {
      const logs = await both(async (side) => {
        const text = await gw[side].logs();
        return {
          version: versionInLog('gateway', text),
          started: text.includes(`Tyk Gateway started (${version})`),
          leaks: [secret, redisPassword].filter((s) => text.includes(s)).length,
          apiLoaded: [...text.matchAll(/msg="API Loaded" api_id=(\S+)/g)].map((m) => m[1]).sort(),
          refused: [...text.matchAll(/msg="(Couldn't unmarshal [^:"]+|Listen path is empty|Skipping loading spec because it failed validation)/g)]
            .map((m) => m[1])
            .sort(),
        };
      });
      const real = same(logs, 'start log');
      assert.equal(real.version, version);
      assert.equal(real.started, true);
      assert.equal(real.leaks, 0);
    });

    it('Gateway API: the secret check, /tyk/apis and /tyk/policies as the real gateway lists them', async () => {
      const answers = await both(async (side) => {
        const base = gw[side].url;
        const admin = { 'x-tyk-authorization': secret };
        const apis = (await get(`${base}/tyk/apis`, { headers: admin })).json as {
          api_id: string;
          name: string;
          active: boolean;
          proxy: { listen_path: string };
        }[];
        const pols = (await get(`${base}/tyk/policies/`, { headers: admin })).json as { id: string; active: boolean }[];
        const short = async (path: string, headers?: Record<string, string>) => {
          const r = await get(`${base}${path}`, { headers });
          return { code: r.code, json: r.json ?? r.text, type: r.type.split(';')[0] };
        };
        return {
          noSecret: await short('/tyk/apis'),
          wrongSecret: await short('/tyk/apis', { 'x-tyk-authorization': 'wrong' }),
          wrongSecretPolicies: await short('/tyk/policies', { 'x-tyk-authorization': 'wrong' }),
          apis: apis
            .map((a) => ({ api_id: a.api_id, name: a.name, listen_path: a.proxy.listen_path, active: a.active }))
            .sort((a, b) => a.api_id.localeCompare(b.api_id)),
          apiById: await get(`${base}/tyk/apis/keyless`, { headers: admin }).then((r) => ({ code: r.code, api_id: (r.json as { api_id: string }).api_id })),
          apiMissing: await short('/tyk/apis/nope', admin),
          policies: pols.map((p) => ({ id: p.id, active: p.active })).sort((a, b) => a.id.localeCompare(b.id)),
          policyById: await get(`${base}/tyk/policies/gold`, { headers: admin }).then((r) => ({ code: r.code, id: (r.json as { id: string }).id })),
          policyMissing: await short('/tyk/policies/nope', admin),
          unknown: await short('/tyk/nothing', admin),
        };
      });
      const real = same(answers, 'Gateway API');
      assert.deepEqual(real.noSecret, {
        code: 403,
        json: { status: 'error', message: 'Attempted administrative access with invalid or missing key!' },
        type: 'application/json',
      });
      assert.ok(
        real.apis.some((a) => a.api_id === 'keyless' && a.listen_path === '/keyless/' && a.active),
        'the keyless API is listed',
      );
      assert.ok(!real.apis.some((a) => a.api_id === 'tcp'), 'a tcp API without a port is not loaded');
      assert.deepEqual(real.apiById, { code: 200, api_id: 'keyless' });
      assert.equal(real.apiMissing.code, 404);
    });

    it('proxy: keyless APIs reach their target (strip_listen_path honoured), a keyed one answers 401/403 without a good key', async () => {
      const answers = await both(async (side) => {
        const base = gw[side].url;
        const upstreamSaw = async (path: string, opts: Parameters<typeof get>[1] = {}) => {
          const r = await get(`${base}${path}`, opts);
          const seen = r.json as { path?: string; query?: string; body?: string; method?: string } | undefined;
          return { code: r.code, path: seen?.path, query: seen?.query, method: seen?.method, body: seen?.body };
        };
        const plain = async (path: string, headers?: Record<string, string>) => {
          const r = await get(`${base}${path}`, { headers });
          return { code: r.code, body: r.json ?? r.text, type: r.type.split(';')[0] };
        };
        return {
          keyless: await upstreamSaw('/keyless/orders/7?x=1'),
          keylessRoot: await upstreamSaw('/keyless/'),
          post: await upstreamSaw('/keyless/orders', { method: 'POST', body: '{"order":1}', headers: { 'content-type': 'application/json' } }),
          noStrip: await upstreamSaw('/nostrip/items'),
          inactive: await upstreamSaw('/inactive/x'),
          unsupportedField: await upstreamSaw('/unsupported/x'),
          noSlash: await plain('/keyless'),
          noListenPath: await plain('/nolisten/x'),
          unknown: await plain('/nothing/here'),
          protectedNoKey: await plain('/protected/x'),
          protectedBadKey: await plain('/protected/x', { authorization: 'not-a-key' }),
          targetDown: await plain('/deadend/x'),
        };
      });
      const real = same(answers, 'proxy');
      assert.deepEqual(real.keyless, { code: 200, path: '/orders/7', query: '?x=1', method: 'GET', body: '' });
      assert.deepEqual(real.noStrip, { code: 200, path: '/base/nostrip/items', query: '', method: 'GET', body: '' });
      assert.equal(real.post.body, '{"order":1}');
      assert.deepEqual(real.protectedNoKey, { code: 401, body: { error: 'Authorization field missing' }, type: 'application/json' });
      assert.equal(real.protectedBadKey.code, 403);
    });

    if (version === '5.8.10' || version === '5.3.0') {
      it('the faulty drops-api image leaves out the one definition real Tyk loads, and says so in its log', async () => {
        const faulty = await start({ ...options('standin'), image: `${FAULTY_REPO('drops-api')}:v${version}` });
        await waitFor('faulty /hello', async () => (await get(`${faulty.url}/hello`).catch(() => undefined))?.json);
        const ids = async (c: TykContainer) =>
          ((await get(`${c.url}/tyk/apis`, { headers: { 'x-tyk-authorization': secret } })).json as { api_id: string }[]).map((a) => a.api_id).sort();
        const realIds = await ids(gw.real);
        assert.ok(realIds.includes('unsupported'), 'real Tyk loads a definition with a field it does not know');
        assert.deepEqual(
          await ids(faulty),
          realIds.filter((id) => id !== 'unsupported'),
        );
        assert.match(
          await faulty.logs(),
          /level=error msg="Couldn't unmarshal read file: json: cannot unmarshal bool into Go struct field APIDefinition.standin_unsupported/,
        );
      });
    }

    it('Redis stopped mid-run: /hello fails (code, output), /ready 503 on 5.8.10, APIs still served; pass again once Redis is back', async () => {
      await redis.stop();
      const down = await both(async (side) => {
        const hello = await waitFor(
          `${side} /hello fail`,
          async () => {
            const r = await get(`${gw[side].url}/hello`);
            return (r.json as { status: string }).status === 'fail' ? r : undefined;
          },
          15_000,
          50,
        );
        const body = hello.json as { details: { redis: { status: string; output: string } } };
        const ready = await get(`${gw[side].url}/ready`);
        return {
          code: hello.code,
          redis: body.details.redis.status,
          output: redisDown(body.details.redis.output),
          ready: { code: ready.code, json: ready.json ?? ready.text },
          proxied: (await get(`${gw[side].url}/keyless/x`)).code,
        };
      });
      const real = same(down, 'Redis down');
      assert.equal(real.redis, 'fail');
      assert.equal(real.code, version === '5.8.10' ? 503 : 200);
      redis = await startRedis(redisPassword, redis.port);
      const back = await both(async (side) =>
        waitFor(
          `${side} /hello pass again`,
          async () => {
            const b = (await get(`${gw[side].url}/hello`)).json as { status: string; details: { redis: { status: string } } };
            return b.status === 'pass' ? { status: b.status, redis: b.details.redis.status } : undefined;
          },
          30_000,
          100,
        ),
      );
      same(back, 'Redis back');
    });

    it('SIGTERM with a 3 s request in flight: cut before 5.8.3, finished on 5.8.10; exit 0', async () => {
      const outcome = await both(async (side) => {
        const inflight = get(`${gw[side].url}/keyless/slow?ms=3000`).then(
          (r) => `HTTP ${r.code}`,
          () => 'cut',
        );
        await sleep(500);
        await gw[side].signal('SIGTERM');
        const result = await inflight;
        return { result, exitCode: await gw[side].waitExit(40_000) };
      });
      same(outcome, 'SIGTERM');
      assert.deepEqual(outcome.real, { result: version === '5.8.10' ? 'HTTP 200' : 'cut', exitCode: 0 });
    });

    it('an unparsable tyk.conf: exit 1, after the version line, with the fatal line', async () => {
      const outcome = await both(async (side) => {
        const c = await start({ ...options(side), conf: '{"listen_port": 1, broken' });
        const exitCode = await c.waitExit(20_000);
        const logs = await c.logs();
        return {
          exitCode,
          version: versionInLog('gateway', logs),
          fatal: /level=fatal msg="Error initialising system: couldn't unmarshal config: /.test(logs),
        };
      });
      same(outcome, 'unparsable tyk.conf');
      assert.deepEqual(outcome.real, { exitCode: 1, version, fatal: true });
    });

    it('no template_path in tyk.conf: the gateway panics at start (exit 2)', async () => {
      const outcome = await both(async (side) => {
        const o = options(side);
        const c = await start({ ...o, conf: { ...(o.conf as object), template_path: '' } });
        const exitCode = await c.waitExit(20_000);
        return { exitCode, panic: (await c.logs()).includes('panic: html/template: pattern matches no files: `error*`') };
      });
      same(outcome, 'no template_path');
      assert.deepEqual(outcome.real, { exitCode: 2, panic: true });
    });

    it('Redis down at start: it runs and serves APIs, /hello fails after the warm-up, and passes once Redis comes up', async () => {
      const port = await freePort();
      const c = await both(async (side) => start(options(side, { redisPort: port })));
      const down = await both(async (side) => {
        const hello = await waitFor(
          `${side} /hello fail`,
          async () => {
            const r = await get(`${c[side].url}/hello`).catch(() => undefined);
            return r && (r.json as { status: string }).status === 'fail' ? r : undefined;
          },
          20_000,
          100,
        );
        const body = hello.json as { details: { redis: { status: string; output: string } } };
        return {
          code: hello.code,
          output: redisDown(body.details.redis.output),
          exitCode: await c[side].exitCode(),
          proxied: (await get(`${c[side].url}/keyless/x`)).code,
        };
      });
      const real = same(down, 'Redis down at start');
      assert.equal(real.exitCode, undefined, 'still running');
      const late = await startRedis(redisPassword, port);
      try {
        const back = await both(async (side) =>
          waitFor(
            `${side} /hello pass`,
            async () => ((await get(`${c[side].url}/hello`)).json as { status: string }).status === 'pass' || undefined,
            40_000,
            200,
          ),
        );
        same(back, 'Redis up later');
      } finally {
        await late.stop();
      }
    });

    it('image layout: workdir, entrypoint, cmd, user and the version label', async () => {
      const layout = await both(async (side) => {
        const c = (await docker.getImage(image(side)).inspect()).Config;
        return { workdir: c.WorkingDir, entrypoint: c.Entrypoint, cmd: c.Cmd, user: c.User, label: c.Labels?.['org.opencontainers.image.version'] };
      });
      same(layout, 'image layout');
    });
  });
}

for (const version of PUMP_VERSIONS) {
  const image = (side: Side) => `${side === 'real' ? REAL_PUMP_REPO : PUMP_REPO}:v${version}`;

  describe(`pump ${version}: stand-in and real`, () => {
    const redisPassword = randomBytes(12).toString('hex');
    // One Redis each: two pumps on one list would race for its records.
    const redis = {} as Pair<RedisServer>;
    const made: TykContainer[] = [];
    const start = async (side: Side, extra: Partial<PumpOptions> = {}) => {
      const c = await runPump({
        image: image(side),
        prefix: `contract-${side}-pump-${version.replaceAll('.', '')}`,
        redisPort: redis[side].port,
        redisPassword,
        ...extra,
      });
      made.push(c);
      return c;
    };
    /** How a pump that should exit at start ends: its exit code and the line that says why. */
    const endsWith = async (c: TykContainer, line: RegExp) => {
      const exitCode = await c.waitExit(15_000);
      return { exitCode, said: line.test(await c.logs()) };
    };

    before(async () => {
      await both(async (side) => {
        redis[side] = await startRedis(redisPassword);
      });
    });
    after(async () => {
      for (const c of made) await c.remove();
      for (const side of SIDES) await redis[side]?.stop();
    });

    it('runs: /health, the start log, drains the analytics list; SIGTERM stops it cleanly', async () => {
      const pump = await both((side) => start(side));
      const up = await both(async (side) => {
        const health = await waitFor(`${side} /health`, async () => get(pump[side].url).catch(() => undefined), 20_000);
        const other = await get(pump[side].url.replace(/\/health$/, '/other'));
        return { health: { code: health.code, text: health.text, type: health.type }, other: other.code };
      });
      const real = same(up, '/health');
      assert.deepEqual(real.health, { code: 200, text: '{"status": "ok"}', type: 'application/json' });
      // A record the real pump can decode (an empty msgpack map); the stand-in drains whatever is there.
      const drained = await both(async (side) => {
        const client = new Redis({ host: '127.0.0.1', port: redis[side].port, password: redisPassword, lazyConnect: true });
        await client.connect();
        try {
          await client.rpush('analytics-tyk-system-analytics', Buffer.from([0x80]));
          await waitFor(`${side}: the list drained`, async () => ((await client.llen('analytics-tyk-system-analytics')) === 0 ? true : undefined), 15_000, 100);
          return { versionKey: await client.get('version-check-pump') };
        } finally {
          client.disconnect();
        }
      });
      assert.deepEqual(same(drained, 'purge'), { versionKey: version });
      const log = await both(async (side) => {
        await waitFor(`${side} purged`, async () => ((await pump[side].logs()).includes('Purged 1 records...') ? true : undefined), 10_000, 100);
        const text = await pump[side].logs();
        return {
          version: versionInLog('pump', text),
          serving: /msg="Serving health check endpoint at http:\/\/localhost:\d+\/health \.\.\." prefix=server/.test(text),
          init: text.includes('msg="Init Pump: STDOUT" prefix=main'),
          leaks: text.includes(redisPassword),
        };
      });
      assert.deepEqual(same(log, 'start log'), { version, serving: true, init: true, leaks: false });
      const stop = await both(async (side) => {
        await pump[side].signal('SIGTERM');
        const exitCode = await pump[side].waitExit(15_000);
        const text = await pump[side].logs();
        return { exitCode, shuttingDown: text.includes('Shutting down 1 pumps...'), stopped: text.includes('Tyk-pump stopped.') };
      });
      assert.deepEqual(same(stop, 'SIGTERM'), { exitCode: 0, shuttingDown: true, stopped: true });
    });

    it('exits at start when no pumps are configured, and when the uptime pump has no MongoDB', async () => {
      const empty = await both(async (side) => endsWith(await start(side, { conf: { pumps: {} } }), /level=fatal msg="No pumps configured" prefix=main/));
      assert.deepEqual(same(empty, 'pumps: {}'), { exitCode: 1, said: true });
      const uptime = await both(async (side) =>
        endsWith(
          await start(side, { conf: { dont_purge_uptime_data: false } }),
          /level=fatal msg="Failed to connect: can't connect without connection string" prefix=mongo-pump/,
        ),
      );
      assert.deepEqual(same(uptime, 'dont_purge_uptime_data false'), { exitCode: 1, said: true });
    });

    it('an unparsable pump.conf is reported and the defaults are used (no pumps: exit 1)', async () => {
      const outcome = await both(async (side) => endsWith(await start(side, { conf: '{ broken' }), /level=error msg="Couldn't unmarshal configuration: /));
      assert.deepEqual(same(outcome, 'unparsable pump.conf'), { exitCode: 1, said: true });
    });

    it("a pump.conf its image's user cannot read (0600 root): read by the root images, not by 1.12's user 65532", async () => {
      const outcome = await both(async (side) => {
        const c = await start(side, { confMode: 0o600 });
        await sleep(3_000);
        const text = await c.logs();
        return { exitCode: await c.exitCode(), denied: text.includes("Couldn't load configuration file: open /opt/tyk-pump/pump.conf: permission denied") };
      });
      const real = same(outcome, 'unreadable pump.conf');
      assert.deepEqual(real, version === '1.12.2' ? { exitCode: 1, denied: true } : { exitCode: undefined, denied: false });
    });

    it('Redis unreachable at start: it keeps running, /health ok, and says so on every purge', async () => {
      const port = await freePort();
      const outcome = await both(async (side) => {
        const c = await start(side, { redisPort: port });
        await sleep(3_000);
        return {
          exitCode: await c.exitCode(),
          health: (await get(c.url).catch(() => ({ code: 0 }))).code,
          said: /level=error msg="Error on Purge Loop. Is Temporal Storage down\?: dial tcp 127\.0\.0\.1:\d+: connect: connection refused" prefix=main/.test(
            await c.logs(),
          ),
        };
      });
      assert.deepEqual(same(outcome, 'Redis down at start'), { exitCode: undefined, health: 200, said: true });
    });

    it('image layout: workdir, entrypoint, cmd, user and the version label', async () => {
      const layout = await both(async (side) => {
        const c = (await docker.getImage(image(side)).inspect()).Config;
        return { workdir: c.WorkingDir, entrypoint: c.Entrypoint, cmd: c.Cmd, user: c.User, label: c.Labels?.['org.opencontainers.image.version'] };
      });
      same(layout, 'image layout');
    });
  });
}
