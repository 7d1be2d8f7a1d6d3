// biome-ignore-all lint/suspicious/noTemplateCurlyInString: compose files write ${VAR} as text
// A real docker compose project for a test: Redis, gateways and a pump on host networking (127.0.0.1, free
// ports), written the way people write them (comments, anchors, a literal tag, a version in `.env`), brought
// up with compose v1 (Debian's docker-compose 1.29) or v2 (the `docker compose` plugin the rig builds).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gatewayConf } from '../../src/sandbox/stack';
import { getHello, getPumpHealth } from '../../src/activities/tyk-http';
import { docker, freePort, GATEWAY_REPO, PUMP_REPO, REGISTRY, tempDir, waitFor } from './services';
import { gatewayTestConf } from './tyk-container';

const run = promisify(execFile);

export const COMPOSE_VERSIONS = { v1: ['docker-compose'], v2: ['docker', 'compose'] } as const;
export type ComposeVersion = keyof typeof COMPOSE_VERSIONS;

export interface Ports {
  redis: number;
  gateways: number[];
  pump: number;
}

export interface ComposeProject {
  name: string;
  dir: string;
  version: ComposeVersion;
  ports: Ports;
  /** Every file of the project folder (not the config it mounts), as bytes. */
  files(): Record<string, string>;
  /** Runs compose on the project, as a person would in its folder. */
  compose(...args: string[]): Promise<{ stdout: string; stderr: string }>;
  /** Container id of each service's container (by compose's labels), and the image it runs. */
  containers(): Promise<Record<string, { id: string; name: string; image: string; state: string }>>;
  down(): Promise<void>;
}

/** `files` gets the ports and returns the project's files (docker-compose.yml, .env, ...) by name. */
export async function composeProject(opts: {
  version: ComposeVersion;
  prefix: string;
  gateways?: number;
  files: (p: Ports) => Record<string, string>;
  /** Real Tyk: its tyk.conf (a pid file it may write, Tyk's own warm-up); default the stand-in's. */
  real?: boolean;
}): Promise<ComposeProject> {
  const name = `${opts.prefix}-${opts.version}-${randomBytes(3).toString('hex')}`;
  const dir = tempDir(name);
  const ports: Ports = { redis: await freePort(), gateways: [], pump: await freePort() };
  for (let i = 0; i < (opts.gateways ?? 1); i++) ports.gateways.push(await freePort());
  ports.gateways.forEach((port, i) => {
    const conf = join(dir, `gateway-${i + 1}`);
    mkdirSync(join(conf, 'apps'), { recursive: true });
    const secret = randomBytes(16).toString('hex');
    const tyk = opts.real
      ? gatewayTestConf({ image: '', prefix: name, redisPort: ports.redis, secret }, port)
      : gatewayConf({ name, dir, gatewayImage: '', gatewayPort: port, redisPort: ports.redis, checkDurationMs: 500 }, port, secret);
    writeFileSync(join(conf, 'tyk.conf'), `${JSON.stringify(tyk, null, 2)}\n`, { mode: 0o640 });
  });
  // The real pump refuses a pump.conf without pumps or without dont_purge_uptime_data.
  const pump = {
    analytics_storage_type: 'redis',
    analytics_storage_config: { type: 'redis', host: '127.0.0.1', port: ports.redis },
    purge_delay: 2,
    health_check_endpoint_name: 'health',
    health_check_endpoint_port: ports.pump,
    pumps: { stdout: { type: 'stdout', meta: { log_field_name: 'tyk-analytics-record', format: 'json' } } },
    dont_purge_uptime_data: true,
  };
  writeFileSync(join(dir, 'pump.conf'), `${JSON.stringify(pump, null, 2)}\n`, { mode: 0o640 });
  for (const [file, text] of Object.entries(opts.files(ports))) writeFileSync(join(dir, file), text);
  const argv = COMPOSE_VERSIONS[opts.version];
  const project: ComposeProject = {
    name,
    dir,
    version: opts.version,
    ports,
    files: () =>
      Object.fromEntries(
        readdirSync(dir, { withFileTypes: true })
          .filter((e) => e.isFile() && !e.name.endsWith('.conf'))
          .map((e) => [e.name, readFileSync(join(dir, e.name), 'utf8')]),
      ),
    compose: (...args) => run(argv[0], [...argv.slice(1), '--project-name', name, ...args], { cwd: dir, timeout: 120_000 }),
    containers: async () => {
      const list = await docker.listContainers({ all: true, filters: { label: [`com.docker.compose.project=${name}`] } });
      return Object.fromEntries(
        list.map((c) => [c.Labels['com.docker.compose.service'], { id: c.Id, name: c.Names[0].replace(/^\//, ''), image: c.Image, state: c.State }]),
      );
    },
    down: async () => {
      await project.compose('down', '--timeout', '1').catch(() => undefined);
      // Anything an upgrade renamed or kept carries the project in its name.
      for (const c of await docker.listContainers({ all: true })) {
        if (c.Names.some((n) => n.startsWith(`/${name}`))) await docker.getContainer(c.Id).remove({ force: true });
      }
    },
  };
  try {
    await project.compose('up', '-d');
    for (const port of ports.gateways) {
      await waitFor(
        `gateway on ${port}`,
        async () => ((await getHello(`http://127.0.0.1:${port}`, 'hello')).body?.details?.redis?.status === 'pass' ? true : undefined),
        60_000,
      );
    }
    if (Object.values(opts.files(ports)).some((t) => t.includes('tyk-pump'))) {
      await waitFor('pump /health', async () => ((await getPumpHealth(`http://127.0.0.1:${ports.pump}/health`)).ok ? true : undefined), 60_000);
    }
  } catch (err) {
    await project.down();
    throw err;
  }
  return project;
}

/** The anchor every service merges (host networking, restart) and the project's own Redis. */
function anchorAndRedis(p: Ports): string {
  return `x-tyk: &tyk
  network_mode: host
  restart: unless-stopped

services:
  tyk-redis:
    <<: *tyk
    image: ${REGISTRY}/library/redis:7
    command: ["redis-server", "--port", "${p.redis}", "--bind", "127.0.0.1", "--save", ""]
`;
}

/** Two gateway services sharing one version variable (and one anchor for their settings). */
export function sharedVersion(p: Ports): Record<string, string> {
  const gw = (n: string, i: number) => `  ${n}:
    <<: *tyk
    image: "${GATEWAY_REPO}:\${TYK_GW_VERSION}"
    volumes: [./gateway-${i}/tyk.conf:/opt/tyk-gateway/tyk.conf]
    depends_on: [tyk-redis]
`;
  return { 'docker-compose.yml': `${anchorAndRedis(p)}${gw('gw-a', 1)}${gw('gw-b', 2)}`, '.env': 'TYK_GW_VERSION=v5.2.0 # both gateways\n' };
}

/** The usual layout: Redis, one gateway (its tag written in the file), the pump (its version in `.env`). */
export function tykProject(
  pumpImage: 'version-in-env' | 'image-in-env',
  images: { gateway: string; pump: string; pumpTag: string } = { gateway: `${GATEWAY_REPO}:v5.2.0`, pump: PUMP_REPO, pumpTag: 'v1.9.0' },
): (p: Ports) => Record<string, string> {
  return (p) => ({
    'docker-compose.yml': `# Tyk OSS on one host, like tyk-gateway-docker: every service on the host's network.
${anchorAndRedis(p)}
  tyk-gateway:
    <<: *tyk
    image: ${images.gateway} # pinned; see the upgrade guide
    volumes:
      - ./gateway-1/tyk.conf:/opt/tyk-gateway/tyk.conf
      - ./gateway-1/apps:/opt/tyk-gateway/apps
    depends_on: [tyk-redis]

  tyk-pump:
    <<: *tyk
    image: ${pumpImage === 'version-in-env' ? `'${images.pump}:\${TYK_PUMP_VERSION}'` : '${TYK_PUMP_IMAGE}'}
    volumes:
      - ./pump.conf:/opt/tyk-pump/pump.conf
    depends_on: [tyk-redis]
`,
    '.env': `# read by docker compose for the file above
COMPOSE_PROJECT_LABEL=tyk
${pumpImage === 'version-in-env' ? `TYK_PUMP_VERSION=${images.pumpTag}` : `TYK_PUMP_IMAGE=${images.pump}:${images.pumpTag}`}
`,
  });
}
