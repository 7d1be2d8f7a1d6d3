// Delivers one event to the webhooks that want it, each in parallel, each retried with backoff until its deadline.
// What comes back (and what is logged) names webhooks only: errors are built from a status code or an error code,
// never from a library's message, and are scrubbed of the URL and header values all the same.
import { request } from 'undici';
import type { NotifyRequest, NotifyResult } from '../shared/types';
import { webhookWants, type WebhookConfig } from './config';
import { bodyFor } from './format';

export interface SendOptions {
  webUi?: string;
  /** Per webhook, all retries included, counted from `startedAt`. */
  deadlineMs: number;
  /** When the first try began (a retried activity keeps its first start); default now. */
  startedAt?: number;
  /** Webhooks that already have this event (an earlier attempt of the activity): not sent again. */
  alreadyDelivered?: ReadonlyMap<string, number>;
  /** Called as soon as a webhook took the event, with the attempts it took. */
  onDelivered?: (webhook: string, attempts: number) => void;
  /** Called before every attempt (the activity heartbeats). */
  onAttempt?: () => void;
  signal?: AbortSignal;
}

export const ATTEMPT_TIMEOUT_MS = 5000;
const FIRST_BACKOFF_MS = 500;
const MAX_BACKOFF_MS = 8000;
// A client error will not get better by asking again (bad token, wrong path), except these.
const RETRYABLE_4XX = new Set([408, 425, 429]);

const CODE_TEXT: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset',
  EPIPE: 'connection reset',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'connection timed out',
  UND_ERR_SOCKET: 'connection closed by the other side',
  UND_ERR_CLOSED: 'connection closed',
};
/** TLS certificate problems are a configuration to fix, not a hiccup to wait out. */
const CERT_CODE = /CERT|SELF_SIGNED|UNABLE_TO_VERIFY|ERR_TLS/;

/** The webhooks for this event, the ones that got it, the ones that did not (and why), in config order. */
export async function sendNotification(webhooks: WebhookConfig[], req: NotifyRequest, opts: SendOptions): Promise<NotifyResult> {
  const targets = webhooks.filter((w) => webhookWants(w, req.event));
  const startedAt = opts.startedAt ?? Date.now();
  const outcomes = await Promise.all(
    targets.map(async (w) => {
      const before = opts.alreadyDelivered?.get(w.name);
      if (before !== undefined) return { webhook: w.name, attempts: before };
      const r = await deliver(w, req, { ...opts, startedAt });
      if (r.error === undefined) opts.onDelivered?.(w.name, r.attempts);
      return r;
    }),
  );
  const result: NotifyResult = { delivered: [], failed: [] };
  for (const { webhook, attempts, error } of outcomes) {
    if (error === undefined) result.delivered.push({ webhook, attempts });
    else result.failed.push({ webhook, attempts, error });
  }
  return result;
}

type Outcome = { webhook: string; attempts: number; error?: string };

async function deliver(w: WebhookConfig, req: NotifyRequest, opts: SendOptions & { startedAt: number }): Promise<Outcome> {
  const body = JSON.stringify(bodyFor(w.format, req, opts.webUi));
  const deadline = opts.startedAt + opts.deadlineMs;
  const scrub = scrubber(w);
  let attempts = 0;
  let backoff = FIRST_BACKOFF_MS;
  // At least one attempt, even when a retried activity finds its deadline gone.
  for (;;) {
    attempts++;
    opts.onAttempt?.();
    const timeoutMs = Math.max(1, Math.min(ATTEMPT_TIMEOUT_MS, deadline - Date.now()));
    const tried = await attempt(w, body, timeoutMs, opts.signal);
    if (tried.ok) return { webhook: w.name, attempts };
    const failed = () => ({ webhook: w.name, attempts, error: scrub(`${tried.error} after ${attempts} attempt${attempts === 1 ? '' : 's'}`) });
    if (!tried.retry || opts.signal?.aborted) return failed();
    // No point waiting for an attempt that would have no time left.
    if (Date.now() + backoff + 100 >= deadline) return failed();
    await sleep(backoff, opts.signal);
    backoff = Math.min(backoff * 2, MAX_BACKOFF_MS);
  }
}

type Attempt = { ok: true } | { ok: false; retry: boolean; error: string };

async function attempt(w: WebhookConfig, body: string, timeoutMs: number, cancel?: AbortSignal): Promise<Attempt> {
  const timeout = AbortSignal.timeout(timeoutMs);
  try {
    const res = await request(w.url, {
      method: 'POST',
      headers: {
        ...(Object.keys(w.headers).some((h) => h.toLowerCase() === 'user-agent') ? {} : { 'user-agent': 'tyk-upgrade' }),
        ...w.headers,
        'content-type': 'application/json',
      },
      body,
      signal: cancel ? AbortSignal.any([timeout, cancel]) : timeout,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    // Read a little of the answer: Slack says why in one word (invalid_token, no_service, channel_not_found).
    const text = (await res.body.text().catch(() => '')).trim();
    if (res.statusCode >= 200 && res.statusCode < 300) return { ok: true };
    const word = /^[a-z_]{1,40}$/.test(text) ? ` ${text}` : '';
    const retry = res.statusCode >= 500 || RETRYABLE_4XX.has(res.statusCode);
    return { ok: false, retry, error: `HTTP ${res.statusCode}${word}` };
  } catch (err) {
    if (timeout.aborted || isTimeout(err)) return { ok: false, retry: true, error: `no answer within ${seconds(timeoutMs)}` };
    if (cancel?.aborted) return { ok: false, retry: false, error: 'cancelled' };
    const code = errorCode(err);
    if (code && CERT_CODE.test(code)) return { ok: false, retry: false, error: `TLS certificate not accepted (${code})` };
    return { ok: false, retry: true, error: code ? `${CODE_TEXT[code] ?? 'request failed'} (${code})` : 'request failed' };
  }
}

function isTimeout(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || (err as Error)?.name === 'TimeoutError';
}

/** The error's code, looked for in its causes too; only a code-shaped word, so nothing else leaks through. */
function errorCode(err: unknown): string | undefined {
  for (let e = err as { code?: unknown; cause?: unknown; errors?: unknown[] } | undefined, depth = 0; e && typeof e === 'object' && depth < 4; depth++) {
    if (typeof e.code === 'string' && /^[A-Z][A-Z0-9_]{1,40}$/.test(e.code)) return e.code;
    e = (e.cause ?? (Array.isArray(e.errors) ? e.errors[0] : undefined)) as typeof e;
  }
  return undefined;
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 100) / 10} s` : `${ms} ms`;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** Removes the webhook's URL, its host and path and query, and its header values from a string (a belt: none should be there). */
export function scrubber(w: Pick<WebhookConfig, 'url' | 'headers'>): (s: string) => string {
  const secrets = new Set<string>([w.url, ...Object.values(w.headers)]);
  try {
    const u = new URL(w.url);
    secrets.add(u.href);
    secrets.add(u.host);
    secrets.add(u.hostname);
    if (u.pathname.length > 1) secrets.add(u.pathname);
    if (u.search.length > 1) secrets.add(u.search.slice(1));
    for (const part of `${u.pathname}/${u.search.slice(1)}`.split(/[/?&=]/)) if (part.length >= 8) secrets.add(part);
  } catch {
    // Config validation accepted it as a URL; nothing more to take apart.
  }
  const list = [...secrets].filter((s) => s.length >= 4).sort((a, b) => b.length - a.length);
  return (s) => list.reduce((out, secret) => out.split(secret).join('[redacted]'), s);
}
