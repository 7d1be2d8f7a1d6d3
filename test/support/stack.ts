// A Tyk stack for one test: its own Redis process, gateways and pump on free ports, removed afterwards.
import { randomBytes } from 'node:crypto';
import { createStack, removeStack, type StackInfo, type StackSpec } from '../../src/sandbox/stack';
import type { UpgradeInput } from '../../src/shared/types';
import { getHello, getPumpHealth } from '../../src/activities/tyk-http';
import { docker, freePort, GATEWAY_REPO, PUMP_REPO, startRedis, tempDir, waitFor, type RedisServer } from './services';

export interface TestStack extends StackInfo {
  redis: RedisServer;
  redisPassword: string;
  input(overrides?: Partial<UpgradeInput>): UpgradeInput;
  remove(): Promise<void>;
}

export async function testStack(opts: {
  prefix: string;
  gateways?: number;
  pump?: boolean;
  gatewayTag?: string;
  /** Default: the stand-ins' repository; REAL_GATEWAY_REPO for the real Tyk builds. */
  gatewayRepo?: string;
  pumpTag?: string;
  extra?: StackSpec['gatewayExtra'];
}): Promise<TestStack> {
  const redisPassword = `redis-${randomBytes(6).toString('hex')}`;
  const redis = await startRedis(redisPassword);
  const name = `${opts.prefix}-${randomBytes(3).toString('hex')}`;
  const remove = async () => {
    await removeStack(docker, name);
    await redis.stop();
  };
  try {
    return await startStack(opts, name, redis, redisPassword, remove);
  } catch (err) {
    // A stack that never came up leaves nothing behind: its Redis, a child of this process, would keep the test
    // file from exiting (seen: a gateway that could not bind its port held a lane for the rest of the run).
    await remove().catch(() => undefined);
    throw err;
  }
}

async function startStack(
  opts: Parameters<typeof testStack>[0],
  name: string,
  redis: RedisServer,
  redisPassword: string,
  remove: () => Promise<void>,
): Promise<TestStack> {
  const gatewayPort = await freePort(opts.gateways ?? 1);
  const pumpHealthPort = await freePort();
  const info = await createStack(docker, {
    name,
    dir: tempDir(name),
    gatewayImage: `${opts.gatewayRepo ?? GATEWAY_REPO}:${opts.gatewayTag ?? 'v5.2.0'}`,
    pumpImage: opts.pump === false ? undefined : `${PUMP_REPO}:${opts.pumpTag ?? 'v1.9.0'}`,
    gateways: opts.gateways ?? 1,
    gatewayPort,
    pumpHealthPort,
    redisPort: redis.port,
    redisPassword,
    checkDurationMs: 500,
    gatewayExtra: opts.extra,
  });
  // A stack a person would upgrade is up and answering; so is this one before the test starts.
  for (const g of info.gateways) await waitFor(`${g.container} /hello`, async () => (await getHello(g.url, 'hello')).body);
  if (info.pump) await waitFor(`${info.pump.container} /health`, async () => ((await getPumpHealth(info.pump!.healthUrl)).ok ? true : undefined));
  return {
    ...info,
    redis,
    redisPassword,
    input: (overrides = {}) => upgradeInputFor(info, { gates: ['before-gateways', 'before-pump'], ...overrides }),
    remove,
  };
}

/** A test stack for the length of `fn`, removed afterwards whatever `fn` did. */
export async function withTestStack(opts: Parameters<typeof testStack>[0], fn: (s: TestStack) => Promise<void>): Promise<void> {
  const stack = await testStack(opts);
  try {
    await fn(stack);
  } finally {
    await stack.remove();
  }
}

/** Names of every container on the engine whose name starts with the stack's. */
export async function containerNames(stack: string): Promise<string[]> {
  const all = await docker.listContainers({ all: true });
  return all
    .flatMap((c) => c.Names.map((n) => n.replace(/^\//, '')))
    .filter((n) => n.startsWith(stack))
    .sort();
}

/** The workflow input for a test stack made by createStack: every gateway and the pump, to v5.3.0 / v1.10.0. */
export function upgradeInputFor(info: StackInfo, overrides: Partial<UpgradeInput> = {}): UpgradeInput {
  return {
    stack: info.name,
    gateways: info.gateways.map((g) => ({ container: g.container, url: g.url, helloPath: 'hello' })),
    pumps: info.pump ? [{ container: info.pump.container, healthUrl: info.pump.healthUrl }] : [],
    gatewayVersion: 'v5.3.0',
    pumpVersion: info.pump ? 'v1.10.0' : undefined,
    allowDowngrade: false,
    gates: [],
    drainTimeoutSec: 40,
    healthTimeoutMs: 20_000,
    batchSize: 1,
    keepOldContainers: false,
    ...overrides,
  };
}
