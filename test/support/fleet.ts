// A fleet for one test file: several simulated hosts (each its own Docker engine and loopback address, see
// engines.ts), a Tyk stack on each (gateways on the host's address, the same ports on every host, as on real
// machines, and a pump), one shared real Redis, and one `tyk-upgrade worker --host NAME` process per host, with
// DOCKER_HOST pointing at that host's engine only.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { pullImage } from '../../src/activities/images';
import { getHello, getPumpHealth } from '../../src/activities/tyk-http';
import { createStack, removeStack, type StackInfo } from '../../src/sandbox/stack';
import { instanceKey } from '../../src/shared/names';
import type { UpgradeInput } from '../../src/shared/types';
import { startEngine, type Engine } from './engines';
import { FAULTY_REPO, freePort, GATEWAY_REPO, PUMP_REPO, startRedis, tempDir, temporalAddress, waitFor, type RedisServer } from './services';

export interface HostWorker {
  child: ChildProcess;
  /** Its own backup folder (`--backup-dir`), as on a real host. */
  backupDir: string;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once it polls (it prints its start line). */
  ready: Promise<void>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export interface FleetHost {
  /** Host name in the plan (unique per test run, so parallel runs never share task queues). */
  name: string;
  engine: Engine;
  stack: StackInfo;
  worker?: HostWorker;
}

export interface Fleet {
  id: string;
  taskQueue: string;
  hosts: FleetHost[];
  redis: RedisServer;
  gatewayPort: number;
  input(overrides?: Partial<UpgradeInput>): UpgradeInput;
  startWorker(host: FleetHost, opts?: WorkerOptions): Promise<HostWorker>;
  remove(): Promise<void>;
}

/** The CLI in a child process: `tyk-upgrade worker --host NAME` against the test dev server and the host's engine. */
export interface WorkerOptions {
  /** A checkpoint where the worker kills itself (TYK_UPGRADE_CRASH_AT). */
  crashAt?: string;
  args?: string[];
  /** Its --backup-dir; default: a folder of its own. */
  backupDir?: string;
}

export function spawnHostWorker(host: string, taskQueue: string, dockerHost: string, opts: WorkerOptions = {}): HostWorker {
  const backupDir = opts.backupDir ?? tempDir(`${host}-backups`);
  const child = spawn(
    process.execPath,
    // As the systemd unit and the image run it (deploy/): V8's young generation capped at 1 MB a half.
    [
      '--max-semi-space-size=1',
      join(__dirname, '..', '..', 'src', 'client.js'),
      'worker',
      '--host',
      host,
      '--task-queue',
      taskQueue,
      '--backup-dir',
      backupDir,
      ...(opts.args ?? []),
    ],
    {
      env: { ...process.env, TEMPORAL_ADDRESS: temporalAddress(), DOCKER_HOST: dockerHost, TYK_UPGRADE_CRASH_AT: opts.crashAt ?? '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let out = '';
  let announce: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (announce = resolve));
  const collect = (d: Buffer) => {
    out += d;
    if (out.includes(`worker for host "${host}"`)) announce();
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    child,
    backupDir,
    output: () => out,
    exited,
    ready: Promise.race([ready, exited.then(() => Promise.reject(new Error(`worker for ${host} exited: ${out}`)))]),
    kill: async (signal = 'SIGTERM') => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

export interface FleetOptions {
  prefix: string;
  hosts: number;
  gatewaysPerHost: number;
  pump?: boolean;
  workers?: boolean;
  /** 127.0.0.N of the first host; the next hosts take the next addresses. */
  firstAddress?: number;
  /** Engines are named PREFIX-1, PREFIX-2, ...: a benchmark keeps its own away from the tests'. */
  enginePrefix?: string;
  /** This host (0-based) gets a throwaway engine of its own, for a test that kills it; deleted by remove(). */
  throwawayHost?: number;
  /**
   * Gateways of this host (0-based) run a healthy v5.2.0 under the faulty repository's name, so the target that
   * preflight derives for them (same repository, tag v5.3.0) is the faulty build: one host fails, the others not.
   */
  faultyHost?: number;
  /**
   * Another gateway image than the stand-in v5.2.0, e.g. real Tyk (test/support/real-tyk.ts). Its warm-up is left at
   * Tyk's default: 5.3 reads check_duration as seconds and 5.8 as nanoseconds, so no short value suits both.
   */
  gatewayImage?: string;
}

export async function startFleet(opts: FleetOptions): Promise<Fleet> {
  const id = randomBytes(3).toString('hex');
  const taskQueue = `fleet-${opts.prefix}-${id}`;
  const redisPassword = `redis-${randomBytes(6).toString('hex')}`;
  const redis = await startRedis(redisPassword);
  const gatewayPort = await freePort(opts.gatewaysPerHost);
  const hosts: FleetHost[] = [];
  for (let i = 0; i < opts.hosts; i++) {
    const n = i + 1;
    // Persistent engines (images stay cached between files and runs); each host's containers on its own address.
    const engine = await engineFor(opts, i, `127.0.0.${(opts.firstAddress ?? 11) + i}`, id);
    const name = `h${n}-${id}`;
    let gatewayImage = opts.gatewayImage ?? `${GATEWAY_REPO}:v5.2.0`;
    if (opts.faultyHost === i) {
      await pullImage(engine.docker, gatewayImage, () => undefined, new AbortController().signal);
      const [repo, tag] = [FAULTY_REPO('hello-fail'), 'v5.2.0'];
      await engine.docker.getImage(gatewayImage).tag({ repo, tag });
      gatewayImage = `${repo}:${tag}`;
    }
    // The same stack on every host, as one compose file deployed to each: the same container names repeat.
    const stack = await createStack(engine.docker, {
      name: `${opts.prefix}-${id}`,
      dir: tempDir(`${opts.prefix}-h${n}`),
      gatewayImage,
      pumpImage: opts.pump === false ? undefined : `${PUMP_REPO}:v1.9.0`,
      gateways: opts.gatewaysPerHost,
      gatewayPort,
      listenAddress: engine.address,
      pumpHealthPort: await freePort(),
      redisPort: redis.port,
      redisPassword,
      checkDurationMs: opts.gatewayImage ? undefined : 500,
    });
    hosts.push({ name, engine, stack });
  }
  for (const h of hosts) {
    for (const g of h.stack.gateways) await waitFor(`${g.container} /hello`, async () => (await getHello(g.url, 'hello')).body);
    if (h.stack.pump) await waitFor(`${h.stack.pump.container} /health`, async () => ((await getPumpHealth(h.stack.pump!.healthUrl)).ok ? true : undefined));
  }

  const fleet: Fleet = {
    id,
    taskQueue,
    hosts,
    redis,
    gatewayPort,
    input: (overrides = {}) => ({
      stack: `${opts.prefix}-${id}`,
      gateways: hosts.flatMap((h) => h.stack.gateways.map((g) => ({ container: g.container, url: g.url, helloPath: 'hello', host: h.name }))),
      pumps: hosts.flatMap((h) => (h.stack.pump ? [{ container: h.stack.pump.container, healthUrl: h.stack.pump.healthUrl, host: h.name }] : [])),
      gatewayVersion: 'v5.3.0',
      pumpVersion: opts.pump === false ? undefined : 'v1.10.0',
      allowDowngrade: false,
      gates: [],
      drainTimeoutSec: 40,
      healthTimeoutMs: 20_000,
      batchSize: 1,
      soakMs: 1_000,
      keepOldContainers: false,
      ...overrides,
    }),
    startWorker: async (host, workerOpts) => {
      const w = spawnHostWorker(host.name, taskQueue, host.engine.dockerHost, workerOpts);
      host.worker = w;
      await w.ready;
      return w;
    },
    remove: async () => {
      for (const h of hosts) await h.worker?.kill();
      for (const [i, h] of hosts.entries()) {
        await h.engine.start(); // a test may have stopped it
        await removeStack(h.engine.docker, h.stack.name, h.stack.dir);
        if (opts.throwawayHost === i) await h.engine.remove();
      }
      await redis.stop();
    },
  };
  if (opts.workers !== false) for (const h of hosts) await fleet.startWorker(h);
  return fleet;
}

/** Every container of the fleet's stacks by host, with image and state: "host/name image state". */
export async function fleetContainers(fleet: Fleet): Promise<string[]> {
  const out: string[] = [];
  for (const h of fleet.hosts) {
    const list = await h.engine.docker.listContainers({ all: true, filters: { label: [`io.tyk-upgrade.sandbox=${h.stack.name}`] } });
    for (const c of list) out.push(`${h.name}/${c.Names[0].replace(/^\//, '')} ${c.Image} ${c.State}`);
  }
  return out.sort();
}

/** The version each gateway serves, by instance key. */
export async function servedVersions(fleet: Fleet): Promise<Record<string, string | undefined>> {
  const out: Record<string, string | undefined> = {};
  for (const h of fleet.hosts) {
    for (const g of h.stack.gateways) out[instanceKey({ host: h.name, container: g.container })] = (await getHello(g.url, 'hello', 1000)).body?.version;
  }
  return out;
}

/** This test process's own engines: never shared with another run on the machine (a helper, a second clone). */
const RUN = randomBytes(2).toString('hex');
const runEngines = new Map<string, Engine>();

async function engineFor(opts: FleetOptions, i: number, address: string, id: string): Promise<Engine> {
  if (opts.throwawayHost === i) return startEngine({ name: `${opts.prefix}-${id}`, address, dir: tempDir(`engine-${opts.prefix}`) });
  // A benchmark names its engines and keeps their data (images stay cached between its runs).
  if (opts.enginePrefix) return startEngine({ name: `${opts.enginePrefix}-${i + 1}`, address });
  const name = `fleet-${RUN}-${i + 1}`;
  let engine = runEngines.get(name);
  if (!engine) {
    engine = await startEngine({ name, address, dir: tempDir(`engine-${i + 1}`) });
    runEngines.set(name, engine);
  }
  return engine;
}

/** Stops a fleet's engines: the test process's own ones are deleted, a benchmark's keep their data. */
export async function stopEngines(fleet: Fleet | undefined): Promise<void> {
  for (const h of fleet?.hosts ?? []) await h.engine.remove();
  for (const e of runEngines.values()) await e.remove();
  runEngines.clear();
}
