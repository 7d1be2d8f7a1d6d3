// Helpers for the fault tests (test/faults-*.test.ts): workers and Redis servers as separate processes a test can
// kill by pid and start again, a stack on any engine, and checks of the end state a person cares about.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { readArchive, tarFileHashes } from '../../src/activities/archive';
import { getHello } from '../../src/activities/tyk-http';
import { createStack, removeStack, type StackInfo } from '../../src/sandbox/stack';
import { upgradeInputFor } from './stack';
import type { UpgradeInput } from '../../src/shared/types';
import { freePort, GATEWAY_REPO, PUMP_REPO, sleep, tempDir, waitFor } from './services';

/** A redis-server that can be stopped (SIGKILL, as a crash) and started again on the same port. */
export interface RestartableRedis {
  port: number;
  password: string;
  running(): boolean;
  stop(): Promise<void>;
  start(): Promise<void>;
}

export async function restartableRedis(): Promise<RestartableRedis> {
  const port = await freePort();
  const password = `redis-${randomBytes(6).toString('hex')}`;
  const dir = tempDir('redis');
  let child: ChildProcess | undefined;
  const running = () => !!child && child.exitCode === null && child.signalCode === null;
  const start = async () => {
    if (running()) return;
    const c = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--requirepass', password, '--save', '', '--appendonly', 'no', '--dir', dir],
      { stdio: 'ignore' },
    );
    child = c;
    await waitFor(
      `redis-server on ${port}`,
      async () => {
        if (c.exitCode !== null) throw new Error(`redis-server exited with ${c.exitCode}`);
        return (await portOpen(port)) ? true : undefined;
      },
      10_000,
      50,
    );
  };
  const stop = async () => {
    const c = child;
    if (!c || !running()) return;
    const gone = new Promise((r) => c.once('exit', r));
    process.kill(c.pid as number, 'SIGKILL');
    await gone;
  };
  await start();
  return { port, password, running, stop, start };
}

async function portOpen(port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface FaultStack extends StackInfo {
  docker: Docker;
  redis: RestartableRedis;
  input(overrides?: Partial<UpgradeInput>): UpgradeInput;
  remove(): Promise<void>;
}

/** A Tyk stack on the given engine with its own restartable Redis; gateways listen on `listenAddress`. */
export async function faultStack(
  docker: Docker,
  opts: { prefix: string; gateways?: number; pump?: boolean; listenAddress?: string; checkDurationMs?: number },
): Promise<FaultStack> {
  const redis = await restartableRedis();
  const name = `${opts.prefix}-${randomBytes(3).toString('hex')}`;
  const info = await createStack(docker, {
    name,
    dir: tempDir(name),
    gatewayImage: `${GATEWAY_REPO}:v5.2.0`,
    pumpImage: opts.pump ? `${PUMP_REPO}:v1.9.0` : undefined,
    gateways: opts.gateways ?? 1,
    gatewayPort: await freePort(opts.gateways ?? 1),
    listenAddress: opts.listenAddress,
    pumpHealthPort: await freePort(),
    redisPort: redis.port,
    redisPassword: redis.password,
    checkDurationMs: opts.checkDurationMs ?? 500,
  });
  for (const g of info.gateways) {
    await waitFor(`${g.container} /hello with Redis passing`, async () =>
      (await getHello(g.url, 'hello')).body?.details?.redis?.status === 'pass' ? true : undefined,
    );
  }
  return {
    ...info,
    docker,
    redis,
    input: (overrides = {}) => upgradeInputFor(info, overrides),
    remove: async () => {
      await removeStack(docker, name).catch(() => undefined);
      await redis.stop();
    },
  };
}

/** Names of every container on an engine that belong to the stack (original names and any an upgrade gave). */
export async function namesOn(docker: Docker, stack: string): Promise<string[]> {
  const all = await docker.listContainers({ all: true });
  return all
    .flatMap((c) => c.Names.map((n) => n.replace(/^\//, '')))
    .filter((n) => n.startsWith(stack))
    .sort();
}

/** Files of a container's backed-up config whose bytes now differ from the backup manifest's sha256 (none = identical). */
export async function configDiffersFromBackup(docker: Docker, manifestPath: string, container: string): Promise<string[]> {
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { entries: { container: string; path: string; hashes: Record<string, string> }[] };
  const entries = manifest.entries.filter((e) => e.container === container);
  if (entries.length === 0) throw new Error(`the manifest ${manifestPath} has no entry for ${container}`);
  const differ: string[] = [];
  for (const e of entries) {
    const tar = await readArchive(docker, container, e.path);
    const now = tar ? await tarFileHashes(tar) : {};
    for (const [file, sum] of Object.entries(e.hashes)) if (now[file] !== sum) differ.push(join(e.path, '..', file));
  }
  return differ;
}

/** The version a gateway's /hello reports, waiting a little for one that is starting. */
export async function servedVersion(url: string): Promise<string | undefined> {
  return waitFor(`${url}/hello`, async () => (await getHello(url, 'hello')).body?.version, 20_000).catch(() => undefined);
}

/** A small seeded generator (mulberry32): a chaos run is reproduced from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export { sleep };
