// Smoke requests: the plan's requests sent straight to one gateway (its own URL, not the load balancer), each
// checked for its status and, optionally, a text in its body. Header values come from this worker's environment
// and are never repeated: messages say which variable is missing, never what a header held.
import { request } from 'undici';
import { smokeName, type SmokeRequest } from '../shared/serving';
import { redactor } from './tyk-config';

export interface SmokeOutcome {
  passed: number;
  /** One line per failed request, naming it and what came back. */
  problems: string[];
}

/** The header values a request set needs, from `env`; each missing variable is a problem of its own. */
export function smokeHeaders(r: SmokeRequest, env: NodeJS.ProcessEnv): { headers: Record<string, string>; missing: string[] } {
  const headers: Record<string, string> = {};
  const missing: string[] = [];
  for (const [header, variable] of Object.entries(r.headersFromEnv ?? {})) {
    const value = env[variable];
    if (value === undefined) missing.push(`environment variable ${variable} (header ${header}) is not set on this worker`);
    else headers[header] = value;
  }
  return { headers, missing };
}

function smokeUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}/${path.replace(/^\/+/, '')}`;
}

/** One request to a gateway: its status and body, or why there was none. */
export async function probe(
  base: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; body: string } | { error: string }> {
  try {
    const res = await request(smokeUrl(base, path), { method: method as 'GET', headers, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
    return { status: res.statusCode, body: await res.body.text() };
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    return { error: e.code ?? e.message };
  }
}

async function sendOne(base: string, r: SmokeRequest, env: NodeJS.ProcessEnv, timeoutMs: number): Promise<string | undefined> {
  const label = `smoke request "${smokeName(r)}" (${r.method} ${r.path})`;
  const { headers, missing } = smokeHeaders(r, env);
  if (missing.length) return `${label}: ${missing.join('; ')}`;
  const res = await probe(base, r.method, r.path, headers, timeoutMs);
  if ('error' in res) return `${label} failed: ${res.error}`;
  if (res.status !== r.expectStatus) return `${label} got HTTP ${res.status}, expected ${r.expectStatus}`;
  if (r.bodyContains !== undefined && !res.body.includes(r.bodyContains))
    return `${label} got HTTP ${res.status} but its body does not contain "${r.bodyContains}"`;
  return undefined;
}

/** Every request once, in the plan's order, against the gateway whose APIs answer at `base`. */
export async function runSmoke(base: string, requests: SmokeRequest[], env: NodeJS.ProcessEnv, timeoutMs = 5000): Promise<SmokeOutcome> {
  // Whatever a header held must not come back in a message (an error text could quote a request).
  const redact = redactor(requests.flatMap((r) => Object.values(smokeHeaders(r, env).headers)).filter((v) => v.length >= 3));
  const problems: string[] = [];
  for (const r of requests) {
    const problem = await sendOne(base, r, env, timeoutMs);
    if (problem) problems.push(redact(problem));
  }
  return { passed: requests.length - problems.length, problems };
}

/** "2 smoke requests passed". */
export function smokeSummary(n: number): string {
  return `${n} smoke request${n === 1 ? '' : 's'} passed`;
}
