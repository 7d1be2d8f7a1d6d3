// A real HAProxy (Debian's haproxy 2.6, installed by rig/packages.sh) in front of a test's gateways: one frontend
// on a free 127.0.0.1 port, one backend whose servers are health-checked on /hello every 500 ms, the Runtime API
// on a unix socket (level admin; a second one at level operator) and optionally on 127.0.0.1 TCP. Runs in the foreground (-db) as a child of the
// test; no chroot or user switch, so it needs nothing from /etc/haproxy.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runtimeCommand, serversOf, serverStat } from '../../src/activities/load-balancer/haproxy-runtime';
import type { LoadBalancerInput } from '../../src/shared/load-balancer';
import { freePort, tempDir, waitFor } from './services';

export interface HaproxyServerSpec {
  name: string;
  /** host:port, e.g. 127.0.0.1:18080 */
  address: string;
}

export interface TestHaproxy {
  frontendUrl: string;
  socketPath: string;
  /** The same API at `level operator` (may read, may not `set server`): how a misconfigured socket looks. */
  operatorSocketPath: string;
  /** host:port of the TCP Runtime API, when asked for. */
  address?: string;
  backend: string;
  /** The process's log (health-check transitions, state changes), for failure messages. */
  log(): string;
  stop(): Promise<void>;
}

/**
 * `retries: false` turns off HAProxy's retry of a failed connection on another server (`retries 0`, no
 * `redispatch`): a request sent to a gateway that does not listen then fails where a client sees it, instead of
 * being quietly sent elsewhere.
 */
export async function startHaproxy(opts: { servers: HaproxyServerSpec[]; backend?: string; tcpApi?: boolean; retries?: boolean }): Promise<TestHaproxy> {
  const dir = tempDir('haproxy');
  const backend = opts.backend ?? 'tyk';
  const frontendPort = await freePort();
  const apiAddress = opts.tcpApi ? `127.0.0.1:${await freePort()}` : undefined;
  const socketPath = join(dir, 'admin.sock');
  const operatorSocketPath = join(dir, 'operator.sock');
  const cfg = join(dir, 'haproxy.cfg');
  writeFileSync(
    cfg,
    `global
  stats socket ${socketPath} mode 600 level admin
  stats socket ${operatorSocketPath} mode 600 level operator
${apiAddress ? `  stats socket ipv4@${apiAddress} level admin\n` : ''}  nbthread 1

defaults
  mode http
  timeout connect 1s
  timeout client 30s
  timeout server 30s
${opts.retries === false ? '  retries 0\n' : '  retries 2\n  option redispatch 1\n'}
frontend fe
  bind 127.0.0.1:${frontendPort}
  default_backend ${backend}

backend ${backend}
  balance roundrobin
  option httpchk GET /hello
  http-check expect string '"status":"pass"'
  default-server check inter 500ms fall 2 rise 2
  # Which server answered, so tests can count requests per server.
  http-response set-header X-Served-By %s
${opts.servers.map((s) => `  server ${s.name} ${s.address}`).join('\n')}
`,
  );
  let output = '';
  const child: ChildProcess = spawn('haproxy', ['-f', cfg, '-db'], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      'haproxy to answer on its stats socket',
      async () => {
        if (child.exitCode !== null) throw new Error(`haproxy exited with ${child.exitCode}: ${output.trim()}`);
        return (await runtimeCommand({ socket: socketPath }, 'show info', 1000)).includes('Name: HAProxy') ? true : undefined;
      },
      10_000,
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return { frontendUrl: `http://127.0.0.1:${frontendPort}`, socketPath, operatorSocketPath, address: apiAddress, backend, log: () => output, stop };
}

/** The plan's HAProxy driver for a test's HAProxy, with short waits. */
export const lbOf = (h: TestHaproxy): Extract<LoadBalancerInput, { type: 'haproxy' }> => ({
  type: 'haproxy',
  socket: h.socketPath,
  backend: h.backend,
  drainTimeoutMs: 10_000,
  readyTimeoutMs: 15_000,
});

/**
 * HAProxy in front of a stack's gateways (servers gw1, gw2, …), each seen UP before the test goes on. Without
 * HAProxy's retries: a request sent to a gateway that is not listening (put back too early, or never taken out)
 * fails where the traffic sees it, so "no failed request" is the driver's doing, not a retry's.
 */
export async function haproxyFor(stack: { gateways: { url: string }[] }): Promise<TestHaproxy> {
  const h = await startHaproxy({
    servers: stack.gateways.map((g, i) => ({ name: `gw${i + 1}`, address: g.url.replace('http://', '') })),
    retries: false,
  });
  for (const s of stack.gateways.map((_, i) => `gw${i + 1}`)) {
    await waitFor(
      `HAProxy to see ${s} UP`,
      async () => ((await serverStat({ socket: h.socketPath }, h.backend, s))?.status === 'UP' ? true : undefined),
      15_000,
    );
  }
  return h;
}

/** Each server as "gw1 UP READY": its health (show stat) and its admin state (show servers state; 0 is ready). */
export async function serverStates(h: TestHaproxy): Promise<string[]> {
  const admin = (await serversOf({ socket: h.socketPath }, h.backend)) ?? [];
  const out: string[] = [];
  for (const s of admin) {
    const stat = await serverStat({ socket: h.socketPath }, h.backend, s.server);
    out.push(`${s.server} ${stat?.status} ${s.adminState === 0 ? 'READY' : s.adminState & 0x8 ? 'DRAIN' : `ADMIN ${s.adminState}`}`);
  }
  return out;
}
