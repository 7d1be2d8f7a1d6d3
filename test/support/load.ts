// Traffic and observation during a rolling upgrade, both bounded in time (they stop by themselves after 10 min).
import { request } from 'undici';
import { getHello } from '../../src/activities/tyk-http';
import { sleep } from './services';

const MAX_MS = 10 * 60_000;

/** Steady GETs of the stand-in's slow endpoint (20 ms) through a load balancer, from `clients` loops. */
export function steadyGets(base: string, clients = 4): { stop(): Promise<{ ok: number; failures: string[] }> } {
  const until = Date.now() + MAX_MS;
  let running = true;
  let ok = 0;
  const failures: string[] = [];
  const loops = Array.from({ length: clients }, async () => {
    while (running && Date.now() < until) {
      try {
        const r = await request(`${base}/__standin/slow?ms=20`, { headersTimeout: 5000, bodyTimeout: 5000 });
        if (r.statusCode === 200 && (await r.body.text()) === 'done\n') ok++;
        else failures.push(`HTTP ${r.statusCode}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return { ok, failures };
    },
  };
}

/** The most gateways down at once, sampled every 20 ms. Down means refused or cut; a slow /hello is not down. */
export function downMonitor(urls: string[]): { stop(): Promise<number> } {
  const until = Date.now() + MAX_MS;
  let running = true;
  let maxDown = 0;
  const loop = (async () => {
    while (running && Date.now() < until) {
      const answers = await Promise.all(urls.map((u) => getHello(u, 'hello', 500)));
      maxDown = Math.max(maxDown, answers.filter((a) => !a.body && !/TIMEOUT/.test(a.error ?? '')).length);
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
