// A throwaway Tyk stack on the local engine (gateways + pump, host networking on 127.0.0.1), laid out the way
// tyk-gateway-docker's compose file does it: tyk.conf, apps/, policies/, middleware/, certs/ and pump.conf
// bind-mounted from a folder on the host. Used by `tyk-upgrade sandbox`, the demo and the tests.
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { pullImage } from '../activities/images';
import { ROLE_LABEL, SANDBOX_LABEL } from '../shared/names';

export interface StackSpec {
  name: string;
  /** Host folder for the config files (bind-mounted into the containers). */
  dir: string;
  gatewayImage: string;
  pumpImage?: string;
  gateways?: number;
  /** First gateway's listen_port; gateway i listens on gatewayPort + i. */
  gatewayPort: number;
  /** Loopback address the gateways listen on (a simulated host's own address in fleet tests); default 127.0.0.1. */
  listenAddress?: string;
  pumpHealthPort?: number;
  redisHost?: string;
  redisPort: number;
  redisPassword?: string;
  /**
   * Tyk's warm-up, liveness_check.check_duration; absent: Tyk's default (10 s). Written in whole seconds, the unit
   * 5.2/5.3 read it in (`time.Second * n`); from 5.4 the same number is read as nanoseconds (TykTechnologies/tyk#6068),
   * so after an upgrade to 5.8 the checks run back to back. No one number means the same on both lines.
   */
  checkDurationMs?: number;
  /** Extra settings for each container (tests use them to make a container with many settings). */
  gatewayExtra?: Partial<ContainerCreateOptions>;
  secret?: string;
}

export interface StackInfo {
  name: string;
  dir: string;
  secret: string;
  gateways: { container: string; url: string; confDir: string }[];
  pump?: { container: string; healthUrl: string; confPath: string };
}

// In policies/ (policies.policy_path) each file is one policy, keyed by its "id".
const POLICY = (name: string) => ({
  id: `${name}-default`,
  name: `${name} default`,
  org_id: 'default',
  rate: 1000,
  per: 60,
  active: true,
  access_rights: { [`${name}-httpbin`]: { api_id: `${name}-httpbin`, api_name: `${name} httpbin`, versions: ['Default'] } },
});

const API_DEFINITION = (name: string) => ({
  name: `${name} httpbin`,
  api_id: `${name}-httpbin`,
  org_id: 'default',
  use_keyless: true,
  active: true,
  version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
  proxy: { listen_path: '/httpbin/', target_url: 'http://127.0.0.1:1/', strip_listen_path: true },
});

export function gatewayConf(spec: StackSpec, port: number, secret: string): Record<string, unknown> {
  return {
    listen_address: spec.listenAddress ?? '127.0.0.1',
    listen_port: port,
    secret,
    node_secret: secret,
    app_path: '/opt/tyk-gateway/apps/',
    middleware_path: '/opt/tyk-gateway/middleware',
    // Without it the real gateway panics at start (no error template found).
    template_path: '/opt/tyk-gateway/templates',
    // Somewhere the gateway can always write, whatever is mounted over its folder.
    pid_file_location: '/tmp/tyk-gateway.pid',
    storage: {
      type: 'redis',
      host: spec.redisHost ?? '127.0.0.1',
      port: spec.redisPort,
      password: spec.redisPassword ?? '',
      database: 0,
    },
    policies: { policy_source: 'file', policy_path: '/opt/tyk-gateway/policies' },
    health_check_endpoint_name: 'hello',
    ...(spec.checkDurationMs === undefined ? {} : { liveness_check: { check_duration: Math.max(1, Math.round(spec.checkDurationMs / 1000)) } }),
    graceful_shutdown_timeout_duration: 30,
    log_level: 'info',
  };
}

export function pumpConf(spec: StackSpec): Record<string, unknown> {
  return {
    analytics_storage_type: 'redis',
    analytics_storage_config: {
      type: 'redis',
      host: spec.redisHost ?? '127.0.0.1',
      port: spec.redisPort,
      password: spec.redisPassword ?? '',
    },
    purge_delay: 2,
    health_check_endpoint_name: 'health',
    health_check_endpoint_port: spec.pumpHealthPort ?? 8083,
    pumps: { stdout: { type: 'stdout', meta: { log_field_name: 'tyk-analytics-record', format: 'json' } } },
    // The real pump exits at start otherwise: the uptime pump wants a MongoDB there is none of.
    dont_purge_uptime_data: true,
  };
}

async function writeFileSecure(path: string, content: string): Promise<void> {
  await writeFile(path, content, { mode: 0o640 });
  await chmod(path, 0o640);
}

async function ensureImage(docker: Docker, image: string): Promise<void> {
  try {
    await docker.getImage(image).inspect();
  } catch {
    await pullImage(docker, image, () => undefined, new AbortController().signal);
  }
}

export async function createStack(docker: Docker, spec: StackSpec): Promise<StackInfo> {
  const secret = spec.secret ?? randomBytes(16).toString('hex');
  const info: StackInfo = { name: spec.name, dir: spec.dir, secret, gateways: [] };
  await mkdir(spec.dir, { recursive: true, mode: 0o700 });
  await ensureImage(docker, spec.gatewayImage);
  const labels = { [SANDBOX_LABEL]: spec.name };

  for (let i = 0; i < (spec.gateways ?? 1); i++) {
    const port = spec.gatewayPort + i;
    const container = `${spec.name}-gateway-${i + 1}`;
    const confDir = join(spec.dir, `gateway-${i + 1}`);
    for (const d of ['apps', 'policies', 'middleware', 'certs']) await mkdir(join(confDir, d), { recursive: true });
    await writeFileSecure(join(confDir, 'tyk.conf'), `${JSON.stringify(gatewayConf(spec, port, secret), null, 2)}\n`);
    await writeFile(join(confDir, 'apps', 'httpbin.json'), `${JSON.stringify(API_DEFINITION(spec.name), null, 2)}\n`);
    await writeFile(join(confDir, 'policies', 'default.json'), `${JSON.stringify(POLICY(spec.name), null, 2)}\n`);
    const extra = spec.gatewayExtra ?? {};
    const create: ContainerCreateOptions = {
      ...extra,
      name: container,
      Image: spec.gatewayImage,
      Labels: { ...labels, [ROLE_LABEL]: 'gateway', ...(extra.Labels ?? {}) },
      Env: extra.Env,
      HostConfig: {
        NetworkMode: 'host',
        RestartPolicy: { Name: 'unless-stopped' },
        ...(extra.HostConfig ?? {}),
        Binds: [
          `${join(confDir, 'tyk.conf')}:/opt/tyk-gateway/tyk.conf`,
          ...['apps', 'policies', 'middleware', 'certs'].map((d) => `${join(confDir, d)}:/opt/tyk-gateway/${d}`),
          ...(extra.HostConfig?.Binds ?? []),
        ],
      },
    };
    const c = await docker.createContainer(create);
    await c.start();
    info.gateways.push({ container, url: `http://${spec.listenAddress ?? '127.0.0.1'}:${port}`, confDir });
  }

  if (spec.pumpImage) {
    await ensureImage(docker, spec.pumpImage);
    const container = `${spec.name}-pump`;
    const confPath = join(spec.dir, 'pump', 'pump.conf');
    await mkdir(join(spec.dir, 'pump'), { recursive: true });
    // Readable by the image's user: Tyk's 1.12 pump images run as 65532, not root (the folder is 0700 on the host).
    await writeFile(confPath, `${JSON.stringify(pumpConf(spec), null, 2)}\n`, { mode: 0o644 });
    await chmod(confPath, 0o644);
    const c = await docker.createContainer({
      name: container,
      Image: spec.pumpImage,
      Labels: { ...labels, [ROLE_LABEL]: 'pump' },
      HostConfig: {
        NetworkMode: 'host',
        RestartPolicy: { Name: 'unless-stopped' },
        Binds: [`${confPath}:/opt/tyk-pump/pump.conf`],
      },
    });
    await c.start();
    info.pump = { container, healthUrl: `http://127.0.0.1:${spec.pumpHealthPort ?? 8083}/health`, confPath };
  }
  return info;
}

/** Every container of a sandbox stack, including ones an upgrade renamed (they keep their labels). */
export async function stackContainers(docker: Docker, name: string) {
  return docker.listContainers({ all: true, filters: { label: [`${SANDBOX_LABEL}=${name}`] } });
}

export async function removeStack(docker: Docker, name: string, dir?: string): Promise<number> {
  const containers = await stackContainers(docker, name);
  for (const c of containers) await docker.getContainer(c.Id).remove({ force: true, v: true });
  if (dir) await rm(dir, { recursive: true, force: true });
  return containers.length;
}
