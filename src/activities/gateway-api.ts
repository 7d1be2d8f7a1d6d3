// Tyk's Gateway API on a gateway's own URL: what it has loaded (`GET /tyk/apis`, `GET /tyk/policies`), asked with
// the `x-tyk-authorization` secret the worker reads from the container's tyk.conf and environment. The secret is
// sent, never returned, logged or put in a message; what comes back is ids, names and listen paths.
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { request } from 'undici';
import { ErrorType } from '../shared/errors';
import type { ApiEntry, GatewayInventory, PolicyEntry } from '../shared/serving';
import { readConf, type TykConf } from './tyk-config';
import { helloUrl } from './tyk-http';

function unavailable(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.GatewayApiUnavailable, nonRetryable: true, message });
}

const OFF = 'or turn the check off with inventory: false in the plan';

/**
 * The gateway's API secret as the gateway itself resolves it: TYK_GW_SECRET over tyk.conf's `secret`; an
 * `env://NAME` value is read from the container's environment. Other stores (vault://, consul://, secrets://) are
 * not the worker's to read.
 */
export function secretOf(conf: TykConf | undefined, env: string[]): string {
  const fromEnv = (name: string) => {
    const entry = env.find((e) => e.startsWith(`${name}=`));
    return entry === undefined ? undefined : entry.slice(name.length + 1);
  };
  const value = fromEnv('TYK_GW_SECRET') ?? (typeof conf?.secret === 'string' ? conf.secret : '');
  const scheme = /^([a-z]+):\/\/(.*)$/.exec(value);
  if (!scheme) return value;
  if (scheme[1] === 'env') {
    const resolved = fromEnv(scheme[2]);
    if (resolved !== undefined) return resolved;
    throw unavailable(`the gateway's secret names the environment variable ${scheme[2]}, which its container does not set; ${OFF}`);
  }
  throw unavailable(`the gateway's secret comes from ${scheme[1]}://, which the worker cannot read; give the container TYK_GW_SECRET, ${OFF}`);
}

/** The secret of a running gateway container, read on this worker (from `conf` when the caller has read it). */
export async function containerSecret(
  docker: Docker,
  info: ContainerInspectInfo,
  conf: Promise<TykConf | undefined> = readConf(docker, info, 'gateway').catch(() => undefined),
): Promise<string> {
  return secretOf(await conf, info.Config.Env ?? []);
}

async function getList(base: string, path: string, secret: string, timeoutMs: number): Promise<unknown[]> {
  const url = helloUrl(base, path);
  let status: number;
  let text: string;
  try {
    const res = await request(url, {
      method: 'GET',
      headers: secret ? { 'x-tyk-authorization': secret } : {},
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    status = res.statusCode;
    text = await res.body.text();
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw unavailable(`no answer from the Gateway API at ${url}: ${e.code ?? e.message}`);
  }
  if (status === 403 || status === 401) {
    throw unavailable(`the Gateway API at ${url} refused the secret from the container's tyk.conf / TYK_GW_SECRET (HTTP ${status}); ${OFF}`);
  }
  if (status === 404) {
    throw unavailable(
      `the Gateway API at ${url} answered 404: the gateway has not loaded its APIs yet, runs without a Gateway API (slave_options / RPC mode), or url is not where its control API answers; ${OFF}`,
    );
  }
  if (status !== 200) throw unavailable(`the Gateway API at ${url} answered HTTP ${status}`);
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw unavailable(`the Gateway API at ${url} did not answer JSON`);
  }
  // Tyk answers an empty register as null on some versions.
  if (body === null) return [];
  if (!Array.isArray(body)) throw unavailable(`the Gateway API at ${url} did not answer a list`);
  return body;
}

const str = (v: unknown) => (typeof v === 'string' ? v : '');

function apiEntry(raw: unknown): ApiEntry {
  const d = (raw ?? {}) as { api_id?: unknown; name?: unknown; active?: unknown; use_keyless?: unknown; proxy?: { listen_path?: unknown } };
  return { id: str(d.api_id), name: str(d.name), listenPath: str(d.proxy?.listen_path), active: d.active === true, keyless: d.use_keyless === true };
}

function policyEntry(raw: unknown): PolicyEntry {
  const p = (raw ?? {}) as { id?: unknown; _id?: unknown; name?: unknown; active?: unknown };
  return { id: str(p.id) || str(p._id), name: str(p.name), active: p.active === true };
}

const byId = <T extends { id: string }>(a: T, b: T) => a.id.localeCompare(b.id);

/** What the gateway at `base` (the URL its /hello answers on: the control API) has loaded now. */
export async function fetchInventory(base: string, secret: string, timeoutMs = 5000): Promise<GatewayInventory> {
  const [apis, policies] = await Promise.all([getList(base, 'tyk/apis', secret, timeoutMs), getList(base, 'tyk/policies', secret, timeoutMs)]);
  return { apis: apis.map(apiEntry).sort(byId), policies: policies.map(policyEntry).sort(byId) };
}
