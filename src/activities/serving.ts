// Healthy means serving: what a gateway has loaded is read before its stop and must be there on the new version;
// the plan's smoke requests must pass on it; checked today at preflight so a plan that cannot pass is refused
// before anything changes. And the Redis facts from Tyk's documentation, checked at preflight.
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { ErrorType } from '../shared/errors';
import { redisSupportProblem } from '../shared/release-notes';
import { compareInventories, inventoryVerdict, type GatewayInventory, type InventoryTolerance, type SmokeRequest } from '../shared/serving';
import type { InstancePlan } from '../shared/types';
import { normaliseVersion } from '../shared/version';
import { inspectContainer } from './docker-util';
import { containerSecret, fetchInventory } from './gateway-api';
import { redisVersion } from './redis';
import { runSmoke, smokeSummary } from './smoke';
import { readConf, redisTarget, type TykConf } from './tyk-config';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function running(docker: Docker, instance: InstancePlan): Promise<ContainerInspectInfo> {
  const info = await inspectContainer(docker, instance.container);
  if (!info) throw new Error(`container ${instance.container} is gone`);
  return info;
}

/** What the gateway running under this name has loaded now (the old one, before its stop). */
export async function readInventory(docker: Docker, instance: InstancePlan): Promise<GatewayInventory> {
  const info = await running(docker, instance);
  return fetchInventory(instance.url, await containerSecret(docker, info));
}

export interface ServingInput {
  instance: InstancePlan;
  /** The old gateway's inventory; absent: the inventory check is off. */
  before?: GatewayInventory;
  tolerate?: InventoryTolerance;
  smoke?: SmokeRequest[];
  /** How long the new gateway may take to load its APIs after its health check passed. */
  waitMs: number;
}

/**
 * After the health check: the new gateway has the same APIs and policies (waiting up to waitMs, since Tyk loads
 * its APIs after it starts to listen) and answers every smoke request. Fails with what differs, by name.
 */
export async function checkServing(docker: Docker, input: ServingInput, env: NodeJS.ProcessEnv, redact: (s: string) => string): Promise<{ summary: string }> {
  const { instance } = input;
  const deadline = Date.now() + input.waitMs;
  const secret = input.before ? await containerSecret(docker, await running(docker, instance)) : '';
  const from = normaliseVersion(instance.fromVersion);
  const to = normaliseVersion(instance.toVersion);
  for (;;) {
    const failure = await servingNow(input, secret, env, from, to);
    if (!failure.type) return { summary: failure.summary };
    if (Date.now() >= deadline) {
      throw ApplicationFailure.create({ type: failure.type, nonRetryable: true, message: redact(`${instance.container} on ${to}: ${failure.summary}`) });
    }
    await sleep(500);
  }
}

async function servingNow(input: ServingInput, secret: string, env: NodeJS.ProcessEnv, from: string, to: string): Promise<{ type?: string; summary: string }> {
  const parts: string[] = [];
  if (input.before) {
    let after: GatewayInventory;
    try {
      after = await fetchInventory(input.instance.url, secret);
    } catch (err) {
      return { type: ErrorType.InventoryMismatch, summary: `cannot read what it serves: ${(err as Error).message}` };
    }
    const c = compareInventories(input.before, after, from, to, input.tolerate);
    if (c.problems.length) return { type: ErrorType.InventoryMismatch, summary: `does not serve what ${from} served: ${c.problems.join('; ')}` };
    parts.push(inventoryVerdict(after, c));
  }
  if (input.smoke?.length) {
    const s = await runSmoke(input.instance.apiUrl ?? input.instance.url, input.smoke, env);
    if (s.problems.length) return { type: ErrorType.SmokeRequestFailed, summary: s.problems.join('; ') };
    parts.push(smokeSummary(s.passed));
  }
  return { summary: parts.join('; ') };
}

/** The gateway's part of preflight: its Gateway API answers (inventory on) and the smoke requests pass today. */
export async function preflightServing(
  docker: Docker,
  info: ContainerInspectInfo,
  gw: { container: string; url: string; apiUrl?: string },
  opts: { inventory: boolean; smoke?: SmokeRequest[] },
  env: NodeJS.ProcessEnv,
  /** Its tyk.conf when the caller has read it already. */
  conf?: Promise<TykConf | undefined>,
): Promise<{ inventory?: GatewayInventory; smoke?: string }> {
  const out: { inventory?: GatewayInventory; smoke?: string } = {};
  if (opts.inventory) {
    try {
      out.inventory = await fetchInventory(gw.url, await containerSecret(docker, info, conf));
    } catch (err) {
      if (!(err instanceof ApplicationFailure)) throw err;
      throw ApplicationFailure.create({
        type: err.type ?? ErrorType.GatewayApiUnavailable,
        nonRetryable: true,
        message: `cannot read what "${gw.container}" serves (its APIs and policies, to compare after the upgrade): ${err.message}`,
      });
    }
  }
  if (opts.smoke?.length) {
    const s = await runSmoke(gw.apiUrl ?? gw.url, opts.smoke, env);
    if (s.problems.length) {
      throw ApplicationFailure.create({
        type: ErrorType.SmokeFailsToday,
        nonRetryable: true,
        message: `smoke requests fail on "${gw.container}" today, before anything changed: ${s.problems.join('; ')}; fix the request in the plan's smoke: list, or the API, first`,
      });
    }
    out.smoke = `${smokeSummary(s.passed)} today`;
  }
  return out;
}

export interface RedisFacts {
  /** host:port, never the password. */
  where: string;
  version?: string;
  /** Outside what the target supports, with the source. */
  problem?: string;
  /** Why the version could not be read. */
  error?: string;
}

/** The gateway's Redis version (INFO server) against what the target gateway version supports. */
export async function redisFacts(
  docker: Docker,
  info: ContainerInspectInfo,
  gatewayVersion: string,
  /** Versions already asked for in this run, by host:port: gateways that share a Redis ask it once. */
  asked = new Map<string, Promise<string | undefined>>(),
  /** Its tyk.conf when the caller has read it already. */
  conf: Promise<TykConf | undefined> = readConf(docker, info, 'gateway').catch(() => undefined),
): Promise<RedisFacts | undefined> {
  const target = redisTarget(await conf, info.Config.Env ?? [], 'gateway');
  if (!target) return undefined;
  const where = `${target.host}:${target.port}`;
  try {
    if (!asked.has(where)) asked.set(where, redisVersion(target));
    const version = await asked.get(where);
    if (!version) return { where, error: 'INFO server has no redis_version' };
    const problem = redisSupportProblem(gatewayVersion, version);
    return { where, version, ...(problem ? { problem: `${problem} (the gateway's Redis at ${where})` } : {}) };
  } catch (err) {
    return { where, error: (err as Error).message.split('\n')[0] };
  }
}
