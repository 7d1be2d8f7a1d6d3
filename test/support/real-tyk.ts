// Real Tyk (the images rig/tyk-real.sh builds from Tyk's source) set up by hand, the way a person runs it: the
// `docker` CLI's `docker run` with host networking on a loopback address, tyk.conf / pump.conf and apps/ bind-mounted
// from a folder, a restart policy, labels and env of their own. Nothing of the sandbox or of the tool makes them,
// so `tyk-upgrade init` has to find them as it would on a real machine. Also: a real build that cannot start.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { request } from 'undici';
import { localImage, type TykComponent } from '../../src/real-tyk/catalog';
import { getHello, getPumpHealth } from '../../src/activities/tyk-http';
import { normaliseVersion } from '../../src/shared/version';
import { REGISTRY, tempDir, waitFor } from './services';

const run = promisify(execFile);

/** The real image of a version in the local registry: 127.0.0.1:5000/tyk-real/tyk-gateway:v5.3.0. */
export const realImage = (component: TykComponent, version: string) => localImage({ component, version: normaliseVersion(version) });

/** `docker ARGS` (against `dockerHost`, default the shared engine); its stdout, or an error with what docker said. */
export async function dockerCli(args: string[], dockerHost?: string): Promise<string> {
  return (await dockerCliBoth(args, dockerHost)).stdout.trim();
}

async function dockerCliBoth(args: string[], dockerHost?: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('docker', args, { env: { ...process.env, ...(dockerHost ? { DOCKER_HOST: dockerHost } : {}) }, maxBuffer: 256 << 20 });
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new Error(`docker ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`);
  }
}

/**
 * What a container wrote (stdout and stderr) in the first 30 s since it last started: Tyk's start-up lines. From a
 * few seconds before the recorded start: a Go binary can log its first line before the engine records StartedAt
 * (the real pump's "## Tyk Pump" banner, seen missing under CI load).
 */
export async function startLines(container: string): Promise<string> {
  const [started, finished] = (await dockerCli(['inspect', '-f', '{{.State.StartedAt}} {{.State.FinishedAt}}', container])).split(' ').map(Date.parse);
  // Never before the end of its previous run (FinishedAt, while it runs, is that; year 1 when there was none).
  const since = new Date(Math.max(started - 5_000, finished < started ? finished + 1 : 0)).toISOString();
  const until = new Date(started + 30_000).toISOString();
  const { stdout, stderr } = await dockerCliBoth(['logs', '--since', since, '--until', until, container]);
  return `${stdout}${stderr}`;
}

export interface RedisRef {
  port: number;
  password: string;
}

/** Laid out like tyk-gateway-docker's tyk.standalone.conf: file-based APIs and policies, analytics to Redis. */
export function handGatewayConf(o: {
  port: number;
  listenAddress: string;
  redis: RedisRef;
  secret: string;
  checkDurationMs?: number;
}): Record<string, unknown> {
  return {
    listen_address: o.listenAddress,
    listen_port: o.port,
    secret: o.secret,
    node_secret: o.secret,
    template_path: '/opt/tyk-gateway/templates',
    tyk_js_path: '/opt/tyk-gateway/js/tyk.js',
    middleware_path: '/opt/tyk-gateway/middleware',
    use_db_app_configs: false,
    app_path: '/opt/tyk-gateway/apps/',
    storage: {
      type: 'redis',
      host: '127.0.0.1',
      port: o.redis.port,
      password: o.redis.password,
      database: 0,
      optimisation_max_idle: 2000,
      optimisation_max_active: 4000,
    },
    enable_analytics: true,
    analytics_config: { type: 'redis', ignored_ips: [] },
    policies: { policy_source: 'file', policy_path: '/opt/tyk-gateway/policies' },
    health_check_endpoint_name: 'hello',
    // No liveness_check: Tyk's default warm-up (10 s). 5.2/5.3 read check_duration as seconds, 5.4+ as nanoseconds
    // (TykTechnologies/tyk#6068), so no number means the same before and after a 5.3 → 5.8 upgrade.
    hash_keys: true,
    log_level: 'info',
  };
}

/** A keyless API to the test's upstream (test/support/upstream.ts) under `listenPath`. */
export function keylessApi(id: string, listenPath: string, upstream: string): Record<string, unknown> {
  return {
    name: `${id} upstream`,
    api_id: id,
    org_id: 'default',
    use_keyless: true,
    active: true,
    version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
    proxy: { listen_path: listenPath, target_url: `${upstream}/`, strip_listen_path: true },
  };
}

export interface HandMade {
  container: string;
  /** Gateway: the base of /hello; pump: its /health URL. */
  url: string;
  /** The host folder of its bind-mounted files. */
  dir: string;
}

const json = (v: unknown) => `${JSON.stringify(v, null, 2)}\n`;
const flags = (name: string, values: Record<string, string>) => Object.entries(values).flatMap(([k, v]) => [name, `${k}=${v}`]);

/** `docker run -d` as a person runs Tyk: host networking, a restart policy, bind mounts, labels and env. */
function runByHand(
  container: string,
  image: string,
  binds: string[],
  labels: Record<string, string> = {},
  env: Record<string, string> = {},
  dockerHost?: string,
): Promise<string> {
  const args = ['run', '-d', '--name', container, '--network', 'host', '--restart', 'unless-stopped'];
  return dockerCli([...args, ...binds.flatMap((b) => ['-v', b]), ...flags('--label', labels), ...flags('-e', env), image], dockerHost);
}

export interface HandGatewayOptions {
  container: string;
  image: string;
  port: number;
  listenAddress?: string;
  redis: RedisRef;
  secret: string;
  apis: Record<string, unknown>[];
  labels?: Record<string, string>;
  env?: Record<string, string>;
  dockerHost?: string;
}

/** `docker run -d` of a real gateway with tyk.conf, apps/ and policies/ bind-mounted from a folder of its own. */
export async function runGatewayByHand(o: HandGatewayOptions): Promise<HandMade> {
  const dir = tempDir(o.container);
  const listenAddress = o.listenAddress ?? '127.0.0.1';
  for (const d of ['apps', 'policies']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'tyk.conf'), json(handGatewayConf({ ...o, listenAddress })), { mode: 0o600 });
  for (const api of o.apis) await writeFile(join(dir, 'apps', `${api.api_id}.json`), json(api));
  await writeFile(join(dir, 'policies', 'policies.json'), '{}\n');
  const at = (f: string) => `${join(dir, f)}:/opt/tyk-gateway/${f}`;
  await runByHand(o.container, o.image, ['tyk.conf', 'apps', 'policies'].map(at), o.labels, o.env, o.dockerHost);
  return { container: o.container, url: `http://${listenAddress}:${o.port}`, dir };
}

/**
 * `docker run -d` of a real pump with pump.conf bind-mounted. The real 1.9.0 exits at start without a pump or with
 * uptime purging on and no MongoDB (tyk-src/README.md), so the stdout pump and dont_purge_uptime_data, as a person
 * whose pump starts has them. `mode`: pump.conf's file mode (the 1.12 images run as uid 65532, not root).
 */
export async function runPumpByHand(o: {
  container: string;
  image: string;
  healthPort: number;
  redis: RedisRef;
  labels?: Record<string, string>;
  mode?: number;
}): Promise<HandMade> {
  const dir = tempDir(o.container);
  const conf = {
    analytics_storage_type: 'redis',
    analytics_storage_config: { type: 'redis', host: '127.0.0.1', port: o.redis.port, password: o.redis.password },
    purge_delay: 2,
    health_check_endpoint_name: 'health',
    health_check_endpoint_port: o.healthPort,
    pumps: { stdout: { type: 'stdout', meta: { log_field_name: 'tyk-analytics-record', format: 'json' } } },
    dont_purge_uptime_data: true,
  };
  await writeFile(join(dir, 'pump.conf'), json(conf), { mode: o.mode ?? 0o644 });
  await runByHand(o.container, o.image, [`${join(dir, 'pump.conf')}:/opt/tyk-pump/pump.conf`], o.labels);
  return { container: o.container, url: `http://127.0.0.1:${o.healthPort}/health`, dir };
}

/** Past its warm-up: /hello says pass on `version` with details.redis pass. */
export function healthyOn(url: string, version: string, timeoutMs = 60_000) {
  return waitFor(
    `${url}/hello to pass on ${version} with details.redis`,
    async () => {
      const b = (await getHello(url, 'hello')).body;
      return b?.status === 'pass' && b.version === normaliseVersion(version) && b.details?.redis?.status === 'pass' ? b : undefined;
    },
    timeoutMs,
    200,
  );
}

export function pumpServes(url: string, timeoutMs = 30_000) {
  return waitFor(`${url} to answer ok`, async () => ((await getPumpHealth(url)).body?.status === 'ok' ? true : undefined), timeoutMs, 200);
}

/** A GET through the gateway's API `listenPath`: what the upstream saw, or why it did not answer. */
export async function throughApi(url: string, listenPath: string): Promise<string> {
  try {
    const r = await request(`${url}${listenPath}answer?from=test`, { headersTimeout: 5000, bodyTimeout: 5000 });
    const body = await r.body.text();
    if (r.statusCode !== 200) return `HTTP ${r.statusCode}: ${body.slice(0, 200)}`;
    const seen = JSON.parse(body) as { method: string; path: string; query: string };
    return `${seen.method} ${seen.path}${seen.query}`;
  } catch (err) {
    return (err as Error).message;
  }
}

/** sha256 of every file under `dir` (relative name → hash): "config bytes unchanged" compares two of these. */
export async function fileHashes(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile()) continue;
    const path = join(e.parentPath, e.name);
    out[path.slice(dir.length + 1)] = createHash('sha256')
      .update(await readFile(path))
      .digest('hex');
  }
  return out;
}

/**
 * A real gateway build that cannot start: the real binary and files of `version`, without the C library and loader
 * it is linked against (`exec /opt/tyk-gateway/tyk: no such file or directory`), pushed as
 * tyk-real-nolibc/tyk-gateway:vX.Y.Z. Built once per process; a plan points at it with gateway.repository.
 */
const builds = new Map<string, Promise<string>>();
export const NOLIBC_REPO = `${REGISTRY}/tyk-real-nolibc/tyk-gateway`;

export function noLibcGateway(version: string): Promise<string> {
  const v = normaliseVersion(version);
  let built = builds.get(v);
  if (!built) {
    built = (async () => {
      const image = `${NOLIBC_REPO}:v${v}`;
      const dir = tempDir('nolibc');
      await writeFile(
        join(dir, 'Dockerfile'),
        [
          'FROM scratch',
          `COPY --from=${realImage('gateway', v)} /opt/tyk-gateway /opt/tyk-gateway`,
          'WORKDIR /opt/tyk-gateway',
          'ENTRYPOINT ["/opt/tyk-gateway/tyk"]',
          'CMD ["--conf=/opt/tyk-gateway/tyk.conf"]',
          '',
        ].join('\n'),
      );
      await dockerCli(['pull', '-q', realImage('gateway', v)]);
      await dockerCli(['build', '-q', '-t', image, dir]);
      await dockerCli(['push', '-q', image]);
      return image;
    })();
    builds.set(v, built);
  }
  return built;
}
