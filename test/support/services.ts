// Real services for tests: the Temporal dev server started by run-tests, the Docker engine, Redis processes.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import Docker from 'dockerode';

export const REGISTRY = process.env.REGISTRY_ADDR ?? '127.0.0.1:5000';
export const GATEWAY_REPO = `${REGISTRY}/standin/tyk-gateway`;
export const PUMP_REPO = `${REGISTRY}/standin/tyk-pump`;
export const FAULTY_REPO = (fault: 'hello-fail' | 'exit-at-start' | 'wrong-version' | 'drops-api' | 'some-5xx') => `${REGISTRY}/standin/tyk-gateway-${fault}`;
/** The real Tyk builds (rig/tyk-real.sh), in a repository of their own. */
export const REAL_GATEWAY_REPO = `${REGISTRY}/tyk-real/tyk-gateway`;
export const REAL_PUMP_REPO = `${REGISTRY}/tyk-real/tyk-pump`;

export function temporalAddress(): string {
  const a = process.env.TEMPORAL_ADDRESS;
  if (!a) throw new Error('TEMPORAL_ADDRESS is not set: run the tests with `npm test`, which starts the dev server');
  return a;
}

export function connectTestEnv(): Promise<TestWorkflowEnvironment> {
  return TestWorkflowEnvironment.createFromExistingServer({ address: temporalAddress(), namespace: 'default' });
}

export const docker = new Docker();

export function tempDir(prefix: string): string {
  return mkdtempSync(join(process.env.TYK_UPGRADE_TEST_DIR ?? tmpdir(), `${prefix}-`));
}

/**
 * Free ports for a test's listeners, `count` in a row, picked at random below the kernel's ephemeral range
 * (32768-60999 here): a port the kernel hands out is also taken at any moment as the local end of one of the
 * suite's many outgoing connections, which made a gateway fail to bind ("address already in use"). Never the same
 * port twice in one process, and each lane of `npm test` in a block of its own, so two picks before either binds
 * cannot collide.
 */
export async function freePort(count = 1): Promise<number> {
  for (;;) {
    const base = PORTS.from + Math.floor(Math.random() * (PORTS.to - PORTS.from - count));
    const ports = Array.from({ length: count }, (_, k) => base + k);
    if (ports.some((p) => handedOut.has(p))) continue;
    let ok = true;
    for (const p of ports) if (ok) ok = await portFree(p);
    if (!ok) continue;
    for (const p of ports) handedOut.add(p);
    return base;
  }
}

// Above the cluster tests' block (27000-27999, support/temporal-cluster.ts), below the ephemeral range; this
// lane's share of it ("i/n" in TYK_UPGRADE_TEST_LANE, set by run-tests.ts), or all of it for a file run alone.
const PORTS = laneBlock(28_000, 32_700, process.env.TYK_UPGRADE_TEST_LANE);

function laneBlock(from: number, to: number, lane: string | undefined): { from: number; to: number } {
  const [i, n] = (lane ?? '').split('/').map(Number);
  if (!(n > 0 && i >= 0 && i < n)) return { from, to };
  const size = Math.floor((to - from) / n);
  return { from: from + i * size, to: from + (i + 1) * size };
}
const handedOut = new Set<number>();

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

export interface RedisServer {
  port: number;
  stop(): Promise<void>;
}

/**
 * A real redis-server on a free port, for one test. The port is free when chosen but may be taken by another
 * process's outgoing connection before Redis binds it (the ephemeral range is shared): then try another port.
 */
export async function startRedis(password?: string, fixedPort?: number): Promise<RedisServer> {
  let lastError = '';
  for (let attempt = 0; attempt < (fixedPort ? 1 : 5); attempt++) {
    // A fixed port: Redis back where its clients expect it after a stop.
    const port = fixedPort ?? (await freePort());
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tempDir('redis')];
    if (password) args.push('--requirepass', password);
    const child: ChildProcess = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout!.on('data', (d) => (out += d));
    const deadline = Date.now() + 10_000;
    let exited = false;
    while (await portFree(port)) {
      if (child.exitCode !== null) {
        exited = true;
        break;
      }
      if (Date.now() > deadline) throw new Error('redis-server did not listen within 10 s');
      await new Promise((r) => setTimeout(r, 50));
    }
    if (exited) {
      lastError = `redis-server exited with ${child.exitCode}: ${out.trim().split('\n').pop()}`;
      continue;
    }
    return {
      port,
      stop: async () => {
        if (child.exitCode !== null || child.signalCode !== null) return;
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGKILL');
        await gone;
      },
    };
  }
  throw new Error(lastError);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Poll until fn returns a value that is not undefined, or fail with what it last saw. */
export async function waitFor<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      lastErr = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${(lastErr as Error).message}` : ''}`);
}

// Workers log every expected activity failure (the rollback tests make many); the test report says enough.
Runtime.install({ logger: new DefaultLogger('ERROR') });
