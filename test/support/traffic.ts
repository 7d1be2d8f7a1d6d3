// Steady traffic through a load balancer while an upgrade runs: clients that alternate a GET and a POST of a slow
// endpoint (tens of ms, so requests are in flight when a gateway stops), counted per method. By default the
// stand-in's own slow endpoint; `target` sends them through an API of the gateway to an upstream instead (real Tyk
// has no such endpoint of its own). Bounded in count and time so a stuck run cannot loop forever; a run that
// reached a bound says so (`stoppedBy`), so a test can tell "no request failed" from "no request was sent for the
// last minute".
import { request } from 'undici';

export interface MethodCount {
  ok: number;
  /** What each failed request got: an HTTP status or an error message. */
  failed: string[];
}

export interface TrafficResult {
  GET: MethodCount;
  POST: MethodCount;
  /** Requests per server, from HAProxy's X-Served-By (empty behind nginx). */
  servedBy: Record<string, number>;
  /** Why the clients stopped: `stop()`, or a bound reached before it (traffic then ended early, silently). */
  stoppedBy: 'stop' | 'maxRequests' | 'maxMs';
}

export interface Traffic {
  /** Stops the clients once their requests in flight are answered. */
  stop(): Promise<TrafficResult>;
  /** Settles when the clients have stopped, by stop() or by reaching a bound. */
  ended: Promise<TrafficResult>;
}

/** Where the requests go and what a right answer is: e.g. an API's listen path to test/support/upstream.ts. */
export interface TrafficTarget {
  path(slowMs: number): string;
  /** The answer to `sent` (the POST body, '' for a GET) is the right one. */
  answered(method: 'GET' | 'POST', sent: string, body: string): boolean;
}

const STANDIN_SLOW: TrafficTarget = { path: (ms) => `/__standin/slow?ms=${ms}`, answered: (_m, _s, body) => body === 'done\n' };

/** Through an API whose listen path is `listenPath` to the echoing upstream: its answer names the method and body. */
export function upstreamApi(listenPath: string): TrafficTarget {
  return {
    path: (ms) => `${listenPath.replace(/\/$/, '')}/slow?ms=${ms}`,
    answered: (method, sent, body) => {
      try {
        const seen = JSON.parse(body) as { method?: string; body?: string };
        return seen.method === method && seen.body === sent;
      } catch {
        return false;
      }
    },
  };
}

export function startTraffic(
  baseUrl: string,
  opts: { clients?: number; slowMs?: number; maxRequests?: number; maxMs?: number; target?: TrafficTarget } = {},
): Traffic {
  const slowMs = opts.slowMs ?? 30;
  const target = opts.target ?? STANDIN_SLOW;
  const maxRequests = opts.maxRequests ?? 40_000;
  const until = Date.now() + (opts.maxMs ?? 300_000);
  const result: TrafficResult = { GET: { ok: 0, failed: [] }, POST: { ok: 0, failed: [] }, servedBy: {}, stoppedBy: 'stop' };
  let running = true;
  let sent = 0;
  const bounded = () => {
    if (sent >= maxRequests) result.stoppedBy = 'maxRequests';
    else if (Date.now() >= until) result.stoppedBy = 'maxMs';
    else return false;
    return true;
  };
  const client = async (n: number) => {
    for (let i = n; running && !bounded(); i++) {
      sent++;
      const method = i % 2 ? 'POST' : 'GET';
      const count = result[method];
      const sentBody = method === 'POST' ? JSON.stringify({ order: i }) : '';
      try {
        const r = await request(`${baseUrl}${target.path(slowMs)}`, {
          method,
          ...(method === 'POST' ? { body: sentBody, headers: { 'content-type': 'application/json' } } : {}),
          headersTimeout: 10_000,
          bodyTimeout: 10_000,
        });
        const body = await r.body.text();
        const by = r.headers['x-served-by'];
        if (typeof by === 'string') result.servedBy[by] = (result.servedBy[by] ?? 0) + 1;
        if (r.statusCode === 200 && target.answered(method, sentBody, body)) count.ok++;
        else count.failed.push(`HTTP ${r.statusCode}`);
      } catch (err) {
        count.failed.push((err as Error).message);
      }
    }
  };
  const ended = Promise.all(Array.from({ length: opts.clients ?? 4 }, (_, n) => client(n))).then(() => result);
  return {
    ended,
    stop: () => {
      running = false;
      return ended;
    },
  };
}

/** "0 of 1234 failed" style, for the comparison lines. */
export function describeTraffic(r: TrafficResult): string {
  const one = (m: 'GET' | 'POST') => `${m} ${r[m].failed.length} failed of ${r[m].ok + r[m].failed.length}`;
  return `${one('GET')}, ${one('POST')}${r.stoppedBy === 'stop' ? '' : `; stopped early at its ${r.stoppedBy} bound`}`;
}
