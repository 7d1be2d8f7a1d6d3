// The hooks driver, for any load balancer with an API: POST a documented JSON body to the plan's beforeStop /
// afterHealthy URL, retried inside the activity until its timeout. A 2xx answer means "done": out of rotation
// and drained, or back in rotation. Auth headers come from the worker's configuration only and are kept out of
// every message and result.
import { ApplicationFailure } from '@temporalio/common';
import { request } from 'undici';
import { ErrorType } from '../../shared/errors';
import { formatDuration } from '../../shared/duration';
import type { LbGateway, LoadBalancerInput } from '../../shared/load-balancer';
import type { Pacer } from './types';

type HooksInput = Extract<LoadBalancerInput, { type: 'hooks' }>;
export type HookEvent = 'beforeStop' | 'afterHealthy';

/** The body every hook receives (docs/load-balancers.md). */
export interface HookBody {
  event: HookEvent;
  container: string;
  host: string | null;
  url: string;
  fromVersion: string | null;
  toVersion: string | null;
  stack?: string;
}

export function hookBody(event: HookEvent, g: LbGateway): HookBody {
  return {
    event,
    container: g.container.replace(/^\//, ''),
    host: g.host ?? null,
    url: g.url,
    fromVersion: g.fromVersion ?? null,
    toVersion: g.toVersion ?? null,
    ...(g.stack ? { stack: g.stack } : {}),
  };
}

// A client error will not get better by asking again (bad token, wrong path), except these.
const RETRYABLE_4XX = new Set([408, 425, 429]);

export async function callHook(
  lb: HooksInput,
  event: HookEvent,
  gateway: LbGateway,
  headers: Record<string, string>,
  pace: Pacer,
): Promise<{ status: number; attempts: number; tookMs: number }> {
  const url = event === 'beforeStop' ? lb.beforeStop : lb.afterHealthy;
  const sent = hookBody(event, gateway);
  const body = JSON.stringify(sent);
  const hide = redactor(Object.values(headers));
  const deadline = pace.startedAt + lb.timeoutMs;
  let attempts = 0;
  let last = 'not called';
  let backoff = 250;
  // At least one call, even when a retried activity finds its deadline gone.
  for (;;) {
    attempts++;
    const beat = () => pace.heartbeat({ startedAt: pace.startedAt, event, attempts, last });
    beat();
    // A hook may take its time (it drains before it answers): keep beating meanwhile.
    const ticker = setInterval(beat, 1000);
    const remaining = Math.max(deadline - Date.now(), 1000);
    const signals = [AbortSignal.timeout(remaining), ...(pace.signal ? [pace.signal] : [])];
    try {
      const res = await request(url, {
        method: 'POST',
        headers: { ...headers, 'content-type': 'application/json' },
        body,
        signal: AbortSignal.any(signals),
        headersTimeout: remaining,
        bodyTimeout: remaining,
      });
      const text = (await res.body.text()).trim();
      if (res.statusCode >= 200 && res.statusCode < 300) return { status: res.statusCode, attempts, tookMs: Date.now() - pace.startedAt };
      last = `HTTP ${res.statusCode}${text ? ` ${JSON.stringify(hide(text).slice(0, 160))}` : ''}`;
      if (res.statusCode >= 400 && res.statusCode < 500 && !RETRYABLE_4XX.has(res.statusCode)) {
        throw failure(
          `${event} hook POST ${url} for ${sent.container} was refused: ${last}` +
            (res.statusCode === 401 || res.statusCode === 403 ? "; check the worker's TYK_UPGRADE_HOOK_HEADERS" : ''),
        );
      }
    } catch (err) {
      if (err instanceof ApplicationFailure) throw err;
      if (pace.signal?.aborted) throw err;
      const e = err as NodeJS.ErrnoException;
      last = e.name === 'TimeoutError' || e.name === 'AbortError' ? 'no answer' : hide(e.code ?? e.message);
    } finally {
      clearInterval(ticker);
    }
    if (Date.now() >= deadline) break;
    await pace.sleep(Math.min(backoff, deadline - Date.now()));
    backoff = Math.min(backoff * 2, 2000);
  }
  throw failure(
    `${event} hook POST ${url} for ${sent.container} did not succeed within ${formatDuration(lb.timeoutMs)} ` +
      `(${attempts} attempt${attempts === 1 ? '' : 's'}; last: ${last})`,
  );
}

function failure(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.LoadBalancerHookFailed, nonRetryable: true, message });
}

/** Replaces every header value and its words ("Bearer TOKEN" → TOKEN), which a receiver might echo, with "***". */
function redactor(values: string[]): (s: string) => string {
  const words = values.flatMap((v) => [v, ...v.split(/\s+/)]);
  const secrets = [...new Set(words)].filter((v) => v.length >= 4).sort((a, b) => b.length - a.length);
  return (s) => secrets.reduce((acc, v) => acc.split(v).join('***'), s);
}
