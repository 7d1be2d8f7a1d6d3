// One Tyk container (real or stand-in) for a test, on the host network at 127.0.0.1 with its files bind-mounted
// from a temp folder like tyk-gateway-docker lays them out: tyk.conf, apps/, policies/ (gateway) or pump.conf.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { containerLogs } from '../../src/activities/docker-util';
import { docker, freePort, tempDir } from './services';

export const TEST_LABEL = 'io.tyk-upgrade.test';

export interface TykContainer {
  name: string;
  /** http://127.0.0.1:PORT of the gateway, or of the pump's health endpoint. */
  url: string;
  port: number;
  dir: string;
  logs(): Promise<string>;
  /** Exit code once the container has stopped, undefined while it runs. */
  exitCode(): Promise<number | undefined>;
  /** Waits up to `timeoutMs` for the container to exit; its exit code, or undefined when it still runs. */
  waitExit(timeoutMs: number): Promise<number | undefined>;
  /** `docker kill --signal SIGTERM` (the signal `docker stop` sends first). */
  signal(sig: string): Promise<void>;
  remove(): Promise<void>;
}

/** A file's content: JSON for objects, the string as it is otherwise (an unparsable file in a test). */
const text = (v: unknown) => (typeof v === 'string' ? v : `${JSON.stringify(v, null, 2)}\n`);

export interface GatewayOptions {
  image: string;
  prefix: string;
  redisPort: number;
  redisPassword?: string;
  secret: string;
  /** Merged over the base tyk.conf; a string replaces the whole file. */
  conf?: Record<string, unknown> | string;
  /** File name → definition (object, or text as it is). */
  apps?: Record<string, unknown>;
  policies?: Record<string, unknown>;
  checkDurationMs?: number;
}

export function gatewayTestConf(o: GatewayOptions, port: number): Record<string, unknown> {
  return {
    listen_address: '127.0.0.1',
    listen_port: port,
    secret: o.secret,
    node_secret: o.secret,
    app_path: '/opt/tyk-gateway/apps/',
    middleware_path: '/opt/tyk-gateway/middleware',
    template_path: '/opt/tyk-gateway/templates',
    // The real gateway writes its pid file; the working folder is the image's, /tmp is the container's own.
    pid_file_location: '/tmp/tyk-gateway.pid',
    storage: { type: 'redis', host: '127.0.0.1', port: o.redisPort, password: o.redisPassword ?? '', database: 0 },
    policies: { policy_source: 'file', policy_path: '/opt/tyk-gateway/policies' },
    health_check_endpoint_name: 'hello',
    liveness_check: { check_duration: (o.checkDurationMs ?? 2000) * 1_000_000 },
    graceful_shutdown_timeout_duration: 30,
    log_level: 'info',
    ...(typeof o.conf === 'object' ? o.conf : {}),
  };
}

async function start(name: string, dir: string, image: string, binds: string[], port: number): Promise<TykContainer> {
  const c = await docker.createContainer({
    name,
    Image: image,
    Labels: { [TEST_LABEL]: name },
    HostConfig: { NetworkMode: 'host', Binds: binds },
  });
  await c.start();
  const exitCode = async () => {
    const info = await c.inspect().catch(() => undefined);
    return info && !info.State.Running ? info.State.ExitCode : undefined;
  };
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    dir,
    logs: () => containerLogs(docker, name, 2000),
    exitCode,
    waitExit: async (timeoutMs) => {
      const end = Date.now() + timeoutMs;
      for (;;) {
        const code = await exitCode();
        if (code !== undefined || Date.now() > end) return code;
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    signal: async (sig) => {
      await c.kill({ signal: sig });
    },
    remove: async () => {
      await c.remove({ force: true, v: true }).catch(() => undefined);
    },
  };
}

export async function runGateway(o: GatewayOptions): Promise<TykContainer> {
  const port = await freePort();
  const name = `${o.prefix}-${randomBytes(3).toString('hex')}`;
  const dir = tempDir(name);
  for (const d of ['apps', 'policies']) await mkdir(join(dir, d), { recursive: true });
  await writeFile(join(dir, 'tyk.conf'), typeof o.conf === 'string' ? o.conf : text(gatewayTestConf(o, port)));
  for (const [file, def] of Object.entries(o.apps ?? {})) await writeFile(join(dir, 'apps', file), text(def));
  for (const [file, def] of Object.entries(o.policies ?? {})) await writeFile(join(dir, 'policies', file), text(def));
  const binds = [
    `${join(dir, 'tyk.conf')}:/opt/tyk-gateway/tyk.conf`,
    `${join(dir, 'apps')}:/opt/tyk-gateway/apps`,
    `${join(dir, 'policies')}:/opt/tyk-gateway/policies`,
  ];
  return start(name, dir, o.image, binds, port);
}

export interface PumpOptions {
  image: string;
  prefix: string;
  redisPort: number;
  redisPassword?: string;
  /** Merged over the base pump.conf (top-level keys); a string replaces the whole file. */
  conf?: Record<string, unknown> | string;
  /** pump.conf's mode; default 0644, readable by the image's user (the 1.12 images run as 65532, not root). */
  confMode?: number;
}

export function pumpTestConf(o: PumpOptions, port: number): Record<string, unknown> {
  return {
    analytics_storage_type: 'redis',
    analytics_storage_config: { type: 'redis', host: '127.0.0.1', port: o.redisPort, password: o.redisPassword ?? '' },
    purge_delay: 1,
    health_check_endpoint_name: 'health',
    health_check_endpoint_port: port,
    pumps: { stdout: { type: 'stdout', meta: { log_field_name: 'tyk-analytics-record', format: 'json' } } },
    dont_purge_uptime_data: true,
    ...(typeof o.conf === 'object' ? o.conf : {}),
  };
}

export async function runPump(o: PumpOptions): Promise<TykContainer> {
  const port = await freePort();
  const name = `${o.prefix}-${randomBytes(3).toString('hex')}`;
  const dir = tempDir(name);
  await mkdir(dir, { recursive: true });
  const conf = join(dir, 'pump.conf');
  await writeFile(conf, typeof o.conf === 'string' ? o.conf : text(pumpTestConf(o, port)));
  await chmod(conf, o.confMode ?? 0o644);
  const c = await start(name, dir, o.image, [`${conf}:/opt/tyk-pump/pump.conf`], port);
  return { ...c, url: `http://127.0.0.1:${port}/health` };
}
