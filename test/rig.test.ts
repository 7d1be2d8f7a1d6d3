// The rig itself: a real Temporal dev server with its Web UI, a real Docker engine with no bridge, a real
// registry, and stand-in images that behave like Tyk (standins/README.md).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { Worker } from '@temporalio/worker';
import { request } from 'undici';
import { parse as parseYaml } from 'yaml';
import { SEARCH_ATTRIBUTES } from '../src/shared/names';
import { findTemporalCli } from '../src/devserver/temporal-cli';
import { TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION } from '../src/devserver/temporal-binaries';
import { COMPOSE_V2_VERSION } from '../src/devserver/compose-cli';
import { pullImage } from '../src/activities/images';
import { containerLogs } from '../src/activities/docker-util';
import { getHello } from '../src/activities/tyk-http';
import { gatewayConf } from '../src/sandbox/stack';
import { connectTestEnv, docker, freePort, GATEWAY_REPO, sleep, startRedis, tempDir, waitFor, type RedisServer } from './support/services';

async function runPing(env: TestWorkflowEnvironment, queue: string): Promise<string> {
  const worker = await Worker.create({
    connection: env.nativeConnection,
    taskQueue: queue,
    workflowsPath: require.resolve('./workflows/ping'),
  });
  return worker.runUntil(env.client.workflow.execute('ping', { taskQueue: queue, workflowId: `ping-${Date.now()}`, args: ['rig'] }));
}

describe('Temporal', () => {
  it('runs a workflow to completion on the shared dev server, and its Web UI answers', async () => {
    const env = await connectTestEnv();
    try {
      assert.equal(await runPing(env, 'rig-ping'), 'pong rig');
    } finally {
      await env.teardown();
    }
    const ui = await request(process.env.TEMPORAL_UI_URL as string);
    const html = await ui.body.text();
    assert.equal(ui.statusCode, 200);
    assert.match(html, /<html/i);
  });

  it('createLocal runs the cached Temporal CLI binary (no download)', async () => {
    const cli = await findTemporalCli({ build: false });
    assert.ok(cli, 'the Temporal CLI must be installed by .ci/run or built by the launcher');
    const env = await TestWorkflowEnvironment.createLocal({ server: { executable: { type: 'existing-path', path: cli } } });
    try {
      assert.equal(await runPing(env, 'rig-ping-local'), 'pong rig');
    } finally {
      await env.teardown();
    }
  });
});

describe('Docker engine and registry', () => {
  it('runs with no bridge: no docker0 or br- interface exists', () => {
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    assert.doesNotMatch(links, /\d+: (docker0|br-[0-9a-f]+)[:@]/);
    const networks = execFileSync('docker', ['network', 'ls', '--format', '{{.Driver}}'], { encoding: 'utf8' });
    assert.doesNotMatch(networks, /bridge/);
  });

  it('pulls a stand-in from 127.0.0.1:5000 and runs it with host networking', async () => {
    const image = `${GATEWAY_REPO}:v5.2.0`;
    // Drop the local tag (the shared layers stay) so the pull must fetch the manifest from the registry.
    await docker
      .getImage(image)
      .remove({ noprune: true })
      .catch(() => undefined);
    const events: string[] = [];
    await pullImage(docker, image, (p) => events.push(`${p.layersDone}/${p.layersTotal}`), new AbortController().signal);
    const inspected = await docker.getImage(image).inspect();
    assert.ok(
      inspected.RepoDigests.some((d) => d.startsWith(`${GATEWAY_REPO}@sha256:`)),
      'image has a digest from the registry',
    );
    const redis = await startRedis();
    const port = await freePort();
    const dir = tempDir('rig-run');
    writeFileSync(
      join(dir, 'tyk.conf'),
      JSON.stringify(gatewayConf({ name: 'rig', dir, gatewayImage: image, gatewayPort: port, redisPort: redis.port, checkDurationMs: 300 }, port, 's3cr3t')),
    );
    const c = await docker.createContainer({
      name: `rig-run-${port}`,
      Image: image,
      HostConfig: { NetworkMode: 'host', Binds: [`${join(dir, 'tyk.conf')}:/opt/tyk-gateway/tyk.conf`] },
    });
    try {
      await c.start();
      const hello = await waitFor('/hello', async () => ((await getHello(`http://127.0.0.1:${port}`, 'hello')).body?.version ? true : undefined));
      assert.ok(hello);
      assert.equal((await c.inspect()).HostConfig.NetworkMode, 'host');
    } finally {
      await c.remove({ force: true });
      await redis.stop();
    }
  });
});

describe('compose', () => {
  it("both composes the compose tests need answer: Debian's docker-compose 1.29 (v1) and `docker compose` v2 built by the rig", () => {
    const v1 = execFileSync('docker-compose', ['version', '--short'], { encoding: 'utf8' }).trim();
    const v2 = execFileSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8' }).trim();
    assert.match(v1, /^1\.29\.\d+$/);
    assert.equal(v2, COMPOSE_V2_VERSION);
  });
});

describe('gateway stand-in follows the Tyk contract', () => {
  let redis: RedisServer;
  let port: number;
  let name: string;
  before(async () => {
    redis = await startRedis();
    port = await freePort();
  });
  after(async () => {
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    await redis.stop();
  });

  it('/hello: no details in warm-up, then redis pass, then fail with the documented output when Redis stops; log shows the version', async () => {
    const image = `${GATEWAY_REPO}:v5.3.0`;
    const dir = tempDir('contract');
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      join(dir, 'tyk.conf'),
      JSON.stringify(
        gatewayConf({ name: 'c', dir, gatewayImage: image, gatewayPort: port, redisPort: redis.port, checkDurationMs: 2000 }, port, 'contract-secret'),
      ),
    );
    name = `contract-${port}`;
    const c = await docker.createContainer({
      name,
      Image: image,
      HostConfig: { NetworkMode: 'host', Binds: [`${join(dir, 'tyk.conf')}:/opt/tyk-gateway/tyk.conf`] },
    });
    await c.start();
    const base = `http://127.0.0.1:${port}`;
    const warm = await waitFor('first /hello', async () => (await getHello(base, 'hello')).body);
    assert.equal(warm.status, 'pass');
    assert.equal(warm.version, '5.3.0', 'version has no leading v');
    assert.equal(warm.description, 'Tyk GW');
    assert.equal(warm.details, undefined, 'details absent during warm-up');

    const ready = await waitFor(
      'redis check',
      async () => {
        const b = (await getHello(base, 'hello')).body;
        return b?.details?.redis ? b : undefined;
      },
      10_000,
    );
    assert.equal(ready.status, 'pass');
    assert.deepEqual(Object.keys(ready.details!.redis).sort(), ['componentType', 'status', 'time']);
    assert.equal(ready.details!.redis.status, 'pass');
    assert.equal(ready.details!.redis.componentType, 'datastore');

    await redis.stop();
    const failing = await waitFor(
      'redis fail',
      async () => {
        const p = await getHello(base, 'hello');
        return p.body?.status === 'fail' ? p : undefined;
      },
      10_000,
    );
    assert.equal(failing.code, 200, 'HTTP 200 even when failing (5.3.0)');
    assert.equal(failing.body!.details!.redis.status, 'fail');
    assert.equal(failing.body!.details!.redis.output, 'storage: Redis is either down or was not configured');

    const logs = await containerLogs(docker, name);
    assert.match(logs, /level=info msg="Tyk API Gateway 5\.3\.0" prefix=main/);
    assert.match(logs, /Tyk Gateway started \(5\.3\.0\)/);
    assert.doesNotMatch(logs, /contract-secret/);
  });
});

describe('gateway stand-in shutdown', () => {
  async function slowRequestDuringStop(tag: string): Promise<{ ok: boolean; body?: string }> {
    const redis = await startRedis();
    const port = await freePort();
    const image = `${GATEWAY_REPO}:${tag}`;
    const dir = tempDir(`drain-${tag}`);
    writeFileSync(
      join(dir, 'tyk.conf'),
      JSON.stringify(gatewayConf({ name: 'd', dir, gatewayImage: image, gatewayPort: port, redisPort: redis.port, checkDurationMs: 300 }, port, 'x')),
    );
    const c = await docker.createContainer({
      name: `drain-${tag}-${port}`,
      Image: image,
      HostConfig: { NetworkMode: 'host', Binds: [`${join(dir, 'tyk.conf')}:/opt/tyk-gateway/tyk.conf`] },
    });
    try {
      await c.start();
      await waitFor('gateway up', async () => (await getHello(`http://127.0.0.1:${port}`, 'hello')).body);
      const inflight = request(`http://127.0.0.1:${port}/__standin/slow?ms=2500`).then(
        async (r) => ({ ok: r.statusCode === 200, body: await r.body.text() }),
        () => ({ ok: false }),
      );
      await sleep(300);
      await c.stop({ t: 20 });
      return await inflight;
    } finally {
      await c.remove({ force: true });
      await redis.stop();
    }
  }

  it('v5.8.3 drains: an in-flight slow request finishes after SIGTERM', async () => {
    const r = await slowRequestDuringStop('v5.8.3');
    assert.equal(r.ok, true);
    assert.equal(r.body, 'done\n');
  });

  it('v5.2.0 does not drain: the in-flight request is cut', async () => {
    const r = await slowRequestDuringStop('v5.2.0');
    assert.equal(r.ok, false);
  });
});

describe('docker-compose.temporal.yml', () => {
  const file = join(__dirname, '..', '..', 'docker-compose.temporal.yml');
  type Service = { image: string; ports?: unknown[]; depends_on?: Record<string, { condition: string }>; volumes?: string[]; entrypoint?: string[] };
  const resolved = () => parseYaml(execFileSync('docker-compose', ['-f', file, 'config'], { encoding: 'utf8' })) as { services: Record<string, Service> };

  it('validates with docker-compose, pins every image, binds to 127.0.0.1 and waits for each dependency', () => {
    for (const [name, svc] of Object.entries(resolved().services)) {
      assert.match(svc.image, /:[^:/]+$/, `${name} names a tag`);
      assert.doesNotMatch(svc.image, /:latest$/, `${name} is pinned`);
      for (const p of svc.ports ?? []) assert.match(JSON.stringify(p), /127\.0\.0\.1/, `${name} publishes on 127.0.0.1 only`);
      for (const [dep, how] of Object.entries(svc.depends_on ?? {}))
        assert.match(how.condition, /service_(healthy|completed_successfully)/, `${name} waits for ${dep}`);
    }
  });

  it('runs the Temporal versions the rig builds for the cluster tests', () => {
    const s = resolved().services;
    assert.equal(s.temporal.image, `temporalio/server:${TEMPORAL_SERVER_VERSION}`);
    assert.equal(s['temporal-ui'].image, `temporalio/ui:${TEMPORAL_UI_VERSION}`);
    for (const name of ['temporal-schema', 'temporal-setup'])
      assert.ok(s[name].image.startsWith(`temporalio/admin-tools:${TEMPORAL_SERVER_VERSION}-`), `${name}: admin-tools of server ${TEMPORAL_SERVER_VERSION}`);
  });

  it('sets up schema, namespace and search attributes with the scripts the cluster tests run, which register every search attribute the code defines', () => {
    const s = resolved().services;
    for (const [name, script] of [
      ['temporal-schema', 'schema.sh'],
      ['temporal-setup', 'setup.sh'],
    ]) {
      const mount = (s[name].volumes ?? []).map(String).find((v) => v.includes(`/temporal/${script}:`));
      assert.ok(mount, `${name} mounts temporal/${script}`);
      const inside = mount.split(':')[1];
      assert.deepEqual(s[name].entrypoint, ['/bin/sh', inside], `${name} runs temporal/${script}`);
    }
    const setup = readFileSync(join(__dirname, '..', '..', 'temporal', 'setup.sh'), 'utf8');
    const listed = /^SEARCH_ATTRIBUTES="([^"]*)"$/m.exec(setup)?.[1].split(' ') ?? [];
    const type: Record<string, string> = {
      KEYWORD: 'Keyword',
      TEXT: 'Text',
      INT: 'Int',
      FLOAT: 'Double',
      BOOL: 'Bool',
      DATETIME: 'Datetime',
      KEYWORD_LIST: 'KeywordList',
    };
    assert.deepEqual(listed.sort(), SEARCH_ATTRIBUTES.map((k) => `${k.name}=${type[k.type]}`).sort());
  });
});
