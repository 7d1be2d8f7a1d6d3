// Observation during a rolling upgrade behind nginx: how many gateways were down at once, and what the traffic
// through nginx (test/support/traffic.ts) says about it. The monitor is bounded in time (it stops by itself after 10 min).
import assert from 'node:assert/strict';
import { getHello } from '../../src/activities/tyk-http';
import type { Nginx } from './nginx';
import { sleep } from './services';
import { describeTraffic, type TrafficResult } from './traffic';

const MAX_MS = 10 * 60_000;
/** A /hello that has not answered in this time counts as down: a hung gateway serves no one either. */
const DOWN_AFTER_MS = 2000;

/** The most gateways down at once, sampled every 20 ms. Down means refused, cut, or no answer within 2 s. */
export function downMonitor(urls: string[]): { stop(): Promise<number> } {
  const until = Date.now() + MAX_MS;
  let running = true;
  let maxDown = 0;
  const loop = (async () => {
    while (running && Date.now() < until) {
      const answers = await Promise.all(urls.map((u) => getHello(u, 'hello', DOWN_AFTER_MS)));
      maxDown = Math.max(maxDown, answers.filter((a) => !a.body).length);
      await sleep(20);
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return maxDown;
    },
  };
}

/**
 * What a roll behind nginx without a load-balancer driver can promise, checked from the client's side and from
 * nginx's own log: nginx always had a live upstream (it never answered "no live upstreams", and no GET — which it
 * retries on another upstream — failed); the only failures are POSTs cut in flight on a gateway being stopped
 * (nginx does not resend a POST it has sent), at most one per client per stop; and the traffic ran throughout.
 */
export function assertServedThroughNginx(r: TrafficResult, nginx: Nginx, opts: { stops: number; clients?: number }): void {
  const shown = describeTraffic(r);
  assert.equal(r.stoppedBy, 'stop', `the traffic ran until the test stopped it (${shown})`);
  assert.ok(r.GET.ok > 100 && r.POST.ok > 100, `traffic flowed throughout (${shown})`);
  const log = nginx.errorLog();
  assert.doesNotMatch(log, /no live upstreams/, `nginx ran out of live gateways (${shown}):\n${log.slice(-2000)}`);
  assert.deepEqual(r.GET.failed, [], `no GET failed through nginx (${shown})`);
  assert.ok(
    r.POST.failed.every((f) => f === 'HTTP 502'),
    `each failed POST is nginx's 502 for a request its gateway cut: ${[...new Set(r.POST.failed)].join('; ')}`,
  );
  const most = opts.stops * (opts.clients ?? 4);
  assert.ok(r.POST.failed.length <= most, `at most one cut POST per client per gateway stop (${most}): ${shown}`);
}
