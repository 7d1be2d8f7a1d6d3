// What the load-balancer step buys, measured in one run: a real rolling upgrade (the workflow, on a Temporal dev
// server started here, with an in-process worker) of three v5.2.0 stand-in gateways to v5.3.0, batch size 1,
// 3 s soak, while clients send GET and POST of a 30 ms endpoint through the load balancer. Modes:
//   haproxy+driver  HAProxy (Debian's), the plan's loadBalancer: haproxy (lbDrain before each stop, lbReady after)
//   nginx           nginx with proxy_next_upstream, no driver (the behaviour without this feature)
//   haproxy         the same HAProxy, no driver (is it the driver or the load balancer?)
// Printed: failed requests per method and the upgrade's duration per mode, and the ratios against nginx.
//
// Run: npm run bench   (or: npm run build && node dist/bench/load-balancer.js [rounds])
// Env: BENCH_LB_ROUNDS (default 1), REGISTRY_ADDR (default 127.0.0.1:5000).
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import { startUpgrade } from '../src/client-lib/upgrades';
import { startDevServer } from '../src/devserver/dev-server';
import { createUpgradeWorker } from '../src/worker';
import { startHaproxy } from '../test/support/haproxy';
import { startNginx } from '../test/support/nginx';
import { freePort, waitFor } from '../test/support/services';
import { testStack } from '../test/support/stack';
import { startTraffic, type TrafficResult } from '../test/support/traffic';
import { serverStat } from '../src/activities/load-balancer/haproxy-runtime';
import type { LoadBalancerInput } from '../src/shared/load-balancer';

const ROUNDS = Number(process.argv[2] ?? process.env.BENCH_LB_ROUNDS ?? 1);
const SOAK_MS = 3_000;
const MODES = ['haproxy+driver', 'nginx', 'haproxy'] as const;
type Mode = (typeof MODES)[number];

interface RoundResult {
  mode: Mode;
  outcome: string;
  upgradeMs: number;
  traffic: TrafficResult;
}

async function round(client: Client, taskQueue: string, mode: Mode): Promise<RoundResult> {
  const stack = await testStack({ prefix: `lbbench-${mode.replace('+', '-')}`, gateways: 3, pump: false });
  const addresses = stack.gateways.map((g) => g.url.replace('http://', ''));
  let stop: () => Promise<void> = async () => undefined;
  try {
    let url: string;
    let loadBalancer: LoadBalancerInput | undefined;
    if (mode === 'nginx') {
      const nginx = await startNginx(addresses);
      stop = async () => nginx.stop();
      url = nginx.url;
    } else {
      const h = await startHaproxy({ servers: addresses.map((address, i) => ({ name: `gw${i + 1}`, address })) });
      stop = h.stop;
      url = h.frontendUrl;
      for (let i = 1; i <= addresses.length; i++) {
        await waitFor(
          `HAProxy to see gw${i} UP`,
          async () => ((await serverStat({ socket: h.socketPath }, h.backend, `gw${i}`))?.status === 'UP' ? true : undefined),
          15_000,
        );
      }
      if (mode === 'haproxy+driver')
        loadBalancer = { type: 'haproxy' as const, socket: h.socketPath, backend: h.backend, drainTimeoutMs: 10_000, readyTimeoutMs: 15_000 };
    }
    const traffic = startTraffic(url);
    const started = performance.now();
    const handle = await startUpgrade(client, stack.input({ gates: [], batchSize: 1, soakMs: SOAK_MS, ...(loadBalancer ? { loadBalancer } : {}) }), {
      taskQueue,
    });
    const result = await handle.result();
    const upgradeMs = performance.now() - started;
    await new Promise((r) => setTimeout(r, 300));
    return { mode, outcome: result.outcome, upgradeMs, traffic: await traffic.stop() };
  } finally {
    await stop();
    await stack.remove();
  }
}

const failed = (rs: RoundResult[], m: 'GET' | 'POST') => rs.reduce((n, r) => n + r.traffic[m].failed.length, 0);
const total = (rs: RoundResult[], m: 'GET' | 'POST') => rs.reduce((n, r) => n + r.traffic[m].failed.length + r.traffic[m].ok, 0);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

async function main(): Promise<void> {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`bad number of rounds: ${ROUNDS}`);
  const dir = mkdtempSync(join(tmpdir(), 'tyk-upgrade-lbbench-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: join(dir, 'temporal.db'),
    logFile: join(dir, 'temporal.log'),
  });
  const native = await NativeConnection.connect({ address: server.address });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const taskQueue = `lbbench-${randomBytes(4).toString('hex')}`;
  const worker = await createUpgradeWorker({ connection: native, namespace: server.namespace, taskQueue, backupDir: join(dir, 'backups') });
  const running = worker.run();
  const results: RoundResult[] = [];
  console.log(
    `tyk-upgrade load-balancer bench: 3 gateways v5.2.0 → v5.3.0, batch size 1, soak ${SOAK_MS / 1000} s, 4 clients alternating GET and POST ` +
      `of a 30 ms endpoint through the load balancer; ${ROUNDS} round${ROUNDS === 1 ? '' : 's'} per mode, order rotating; load average ${loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}`,
  );
  try {
    for (let n = 0; n < ROUNDS; n++) {
      for (let k = 0; k < MODES.length; k++) {
        const r = await round(client, taskQueue, MODES[(n + k) % MODES.length]);
        results.push(r);
        const line = (m: 'GET' | 'POST') => `${m} ${r.traffic[m].failed.length}/${r.traffic[m].ok + r.traffic[m].failed.length} failed`;
        const why = [...new Set([...r.traffic.GET.failed, ...r.traffic.POST.failed])].join('; ');
        console.log(
          `  round ${n + 1} ${r.mode.padEnd(15)} ${r.outcome}, upgrade ${(r.upgradeMs / 1000).toFixed(1)} s, ${line('GET')}, ${line('POST')}${why ? ` (${why})` : ''}`,
        );
      }
    }
  } finally {
    worker.shutdown();
    await running;
    await native.close();
    await connection.close();
    await server.stop();
  }

  const of = (m: Mode) => results.filter((r) => r.mode === m);
  const base = of('nginx');
  console.log('');
  console.log('mode              failed GET        failed POST       upgrade (median)   ratio to nginx (duration)');
  for (const m of MODES) {
    const rs = of(m);
    const d = median(rs.map((r) => r.upgradeMs));
    const cell = (x: 'GET' | 'POST') => `${failed(rs, x)} of ${total(rs, x)}`.padEnd(18);
    console.log(
      `${m.padEnd(18)}${cell('GET')}${cell('POST')}${`${(d / 1000).toFixed(1)} s`.padEnd(19)}${(d / median(base.map((r) => r.upgradeMs))).toFixed(2)}x`,
    );
  }
  const rate = (rs: RoundResult[]) => (failed(rs, 'GET') + failed(rs, 'POST')) / Math.max(1, total(rs, 'GET') + total(rs, 'POST'));
  const driver = rate(of('haproxy+driver'));
  const nginx = rate(base);
  console.log(
    `failed-request rate, haproxy+driver / nginx: ${nginx === 0 ? (driver === 0 ? 'both 0 in this run' : 'nginx had none') : `${(driver / nginx).toFixed(2)}x`} ` +
      `(${(driver * 1e4).toFixed(2)} vs ${(nginx * 1e4).toFixed(2)} per 10,000 requests)`,
  );
  if (results.some((r) => r.outcome !== 'succeeded')) process.exitCode = 1;
}

main().catch((err) => {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  process.exit(1);
});
