// Talking to Tyk over HTTP with undici: /hello and /ready on the gateway, /health on the pump.
import { request } from 'undici';

export interface HelloBody {
  status?: string;
  version?: string;
  description?: string;
  details?: Record<string, { status?: string; componentType?: string; output?: string; time?: string }>;
}

export interface Probe<T> {
  ok: boolean;
  code?: number;
  body?: T;
  error?: string;
}

async function getJson<T>(url: string, timeoutMs: number): Promise<Probe<T>> {
  try {
    const res = await request(url, { method: 'GET', headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    const text = await res.body.text();
    let body: T | undefined;
    try {
      body = JSON.parse(text) as T;
    } catch {
      return { ok: false, code: res.statusCode, error: `not JSON: ${text.slice(0, 120)}` };
    }
    return { ok: res.statusCode >= 200 && res.statusCode < 300, code: res.statusCode, body };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { ok: false, error: e.code ? `${e.code} ${e.message}` : e.message };
  }
}

export function helloUrl(base: string, path: string): string {
  return `${base.replace(/\/$/, '')}/${path.replace(/^\//, '')}`;
}

/** GET /hello. Its HTTP code is 200 even when failing on most versions, so callers read `status`. */
export function getHello(base: string, path: string, timeoutMs = 2000): Promise<Probe<HelloBody>> {
  return getJson<HelloBody>(helloUrl(base, path), timeoutMs);
}

export function getReady(base: string, timeoutMs = 2000): Promise<Probe<Record<string, unknown>>> {
  return getJson(helloUrl(base, 'ready'), timeoutMs);
}

export function getPumpHealth(url: string, timeoutMs = 2000): Promise<Probe<{ status?: string }>> {
  return getJson(url, timeoutMs);
}

/** One line a person can read: what /hello said. */
export function describeHello(p: Probe<HelloBody>): string {
  if (!p.body) return p.error ?? `HTTP ${p.code}`;
  const redis = p.body.details?.redis;
  const redisText = redis ? `redis ${redis.status}${redis.output ? ` (${redis.output})` : ''}` : 'no redis check yet';
  return `status ${p.body.status}, version ${p.body.version}, ${redisText}`;
}
