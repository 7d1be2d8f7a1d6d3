// How long is a gateway down during our recreate, next to the bare floor measured in the same run?
//
//   ours  = recreateContainer (src/activities/recreate.ts) + checkHealth (src/activities/health.ts), called
//           directly with a real Docker engine: create the v5.3.0 replacement, stop v5.2.0 with the drain timeout,
//           rename both, start the new one, health-check it.
//   floor = a v5.3.0 container created beforehand from the same configuration, then only
//           `docker stop` (same drain timeout) of the old one and `docker start` of the new one.
//
// Downtime, for both: a prober sends GET /hello to 127.0.0.1 every ~10 ms on a fresh connection; the window
// runs from the first probe that fails (old gateway no longer accepting) to the first probe that finds the
// new gateway healthy (status pass, the target version, details.redis pass). Each round gets a fresh stack
// (own gateway port) against one redis-server process started here; rounds alternate which mode goes first.
//
// The stand-ins here (5.2.0 → 5.3.0); bench/downtime-real.ts runs the same measurement on real Tyk.
//
// Run: npm run bench   (or: npm run build && node dist/bench/downtime.js [rounds])
// Env: BENCH_ROUNDS (default 5), REGISTRY_ADDR (default 127.0.0.1:5000), BENCH_DRAIN_SEC (default 30).
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import { createServer } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Docker from 'dockerode';
import { replacementSpec } from '../src/activities/container-spec';
import { checkHealth } from '../src/activities/health';
import { recreateContainer } from '../src/activities/recreate';
import type { HelloBody } from '../src/activities/tyk-http';
import { createStack, removeStack } from '../src/sandbox/stack';
import type { InstancePlan } from '../src/shared/types';

const REGISTRY = process.env.REGISTRY_ADDR ?? '127.0.0.1:5000';
const ROUNDS = Number(process.argv[2] ?? process.env.BENCH_ROUNDS ?? 5);
const DRAIN_SEC = Number(process.env.BENCH_DRAIN_SEC ?? 30);

/** What is upgraded, and how its warm-up is set. */
export interface DowntimeCase {
  fromImage: string;
  toImage: string;
  fromVersion: string;
  toVersion: string;
  /** liveness_check.check_duration through the stack's tyk.conf (src/sandbox/stack.ts). */
  checkDurationMs?: number;
  /** Extra env of the gateway (carried to its replacement like every env). */
  env?: string[];
  /** How the warm-up was set, for the header line. */
  warmup: string;
  /**
   * The old gateway counts as serving once /hello passes on its version with details.redis ("healthy"), or once
   * it passes at all ("answering": a warm-up set for the target that the old version reads as never over).
   */
  oldReady: 'healthy' | 'answering';
  /** What to run when an image is missing. */
  hint: string;
}

const STANDINS: DowntimeCase = {
  fromImage: `${REGISTRY}/standin/tyk-gateway:v5.2.0`,
  toImage: `${REGISTRY}/standin/tyk-gateway:v5.3.0`,
  fromVersion: '5.2.0',
  toVersion: '5.3.0',
  // Tyk 5.2/5.3 read check_duration in whole seconds (src/sandbox/stack.ts): 1 s is the shortest warm-up they have.
  checkDurationMs: 1000,
  warmup: 'check_duration 1 s',
  oldReady: 'healthy',
  hint: 'run `npm run bench` (rig/setup.sh builds the stand-ins) first',
};
const PROBE_EVERY_MS = 10;
const PREFIX = `tykbench-${randomBytes(3).toString('hex')}`;

type Mode = 'ours' | 'floor';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const now = () => performance.now();

// ---------------------------------------------------------------------------------------------------------
// Docker API calls, timed: every request dockerode makes goes through modem.dial.
interface ApiCall {
  what: string;
  start: number;
  end: number;
}

function instrument(docker: Docker, calls: ApiCall[]): void {
  const modem = docker.modem as unknown as { dial: (opts: { method: string; path: string }, cb: (err: unknown, data: unknown) => void) => unknown };
  const dial = modem.dial.bind(modem);
  modem.dial = (opts, cb) => {
    const start = now();
    return dial(opts, (err, data) => {
      calls.push({ what: classify(opts.method, opts.path), start, end: now() });
      cb(err, data);
    });
  };
}

function classify(method: string, path: string): string {
  const p = path.split('?')[0];
  if (p === '/containers/create') return 'create';
  const m = /^\/(containers|images)\/.+\/([a-z]+)$/.exec(p);
  if (!m) return `${method} ${p}`;
  if (m[1] === 'images') return m[2] === 'json' ? 'image-inspect' : `image-${m[2]}`;
  return m[2] === 'json' ? 'inspect' : m[2];
}

// ---------------------------------------------------------------------------------------------------------
// The prober: GET /hello on a new TCP connection every ~10 ms, for the whole life of a round.
interface Probe {
  t: number;
  answered: boolean;
  /** The version /hello reported, whatever its status (the gateway answers HTTP). */
  answeredOn?: string;
  /** The version when /hello said pass, with or without details (in its warm-up). */
  passingOn?: string;
  healthyOn?: string;
}

function probeOnce(port: number): Promise<{ answered: boolean; body?: HelloBody }> {
  return new Promise((resolve) => {
    const req = http.request({ host: '127.0.0.1', port, path: '/hello', method: 'GET', agent: false, timeout: 1000 }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => {
        try {
          resolve({ answered: true, body: JSON.parse(text) as HelloBody });
        } catch {
          resolve({ answered: true });
        }
      });
      res.on('error', () => resolve({ answered: false }));
    });
    req.on('timeout', () => req.destroy(new Error('probe timeout')));
    req.on('error', () => resolve({ answered: false }));
    req.end();
  });
}

/** The version /hello reports when the gateway is fully healthy (past the warm-up, Redis check passing). */
function healthyVersion(body: HelloBody | undefined): string | undefined {
  if (body?.status !== 'pass' || body.details?.redis?.status !== 'pass') return undefined;
  return body.version;
}

class Prober {
  readonly probes: Probe[] = [];
  private running = true;
  private readonly loop: Promise<void>;

  constructor(private readonly port: number) {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    while (this.running) {
      const t = now();
      const r = await probeOnce(this.port);
      this.probes.push({
        t,
        answered: r.answered,
        answeredOn: r.body?.version,
        passingOn: r.body?.status === 'pass' ? r.body.version : undefined,
        healthyOn: healthyVersion(r.body),
      });
      const wait = PROBE_EVERY_MS - (now() - t);
      if (wait > 0) await sleep(wait);
    }
  }

  async waitFor(pred: (p: Probe) => boolean, after: number, timeoutMs: number, what: string): Promise<Probe> {
    const deadline = now() + timeoutMs;
    let from = 0;
    for (;;) {
      for (; from < this.probes.length; from++) {
        const p = this.probes[from];
        if (p.t >= after && pred(p)) return p;
      }
      if (now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
      await sleep(PROBE_EVERY_MS);
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Redis and ports (small copies of test/support/services.ts, which would also install Temporal's native
// runtime on import and so inflate this process's RSS).
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function portAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(true));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(false)));
  });
}

interface Redis {
  port: number;
  child: ChildProcess;
  dir: string;
}

async function startRedis(): Promise<Redis> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), `${PREFIX}-redis-`));
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: 'ignore',
  });
  const deadline = Date.now() + 10_000;
  while (!(await portAnswers(port))) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with ${child.exitCode}`);
    if (Date.now() > deadline) throw new Error('redis-server did not listen within 10 s');
    await sleep(50);
  }
  return { port, child, dir };
}

async function stopRedis(r: Redis): Promise<void> {
  if (r.child.exitCode === null && r.child.signalCode === null) {
    const gone = new Promise((res) => r.child.once('exit', res));
    r.child.kill('SIGTERM');
    await gone;
  }
  rmSync(r.dir, { recursive: true, force: true });
}

// ---------------------------------------------------------------------------------------------------------
interface RoundResult {
  mode: Mode;
  round: number;
  downtimeMs: number;
  /** First failed probe → first answer of any kind from the new gateway (before its warm-up is over). */
  noAnswerMs: number;
  /** Milestones relative to the stop request. */
  firstFailAfterStopReq: number;
  stopMs: number;
  /** From the stop call's answer to the start call's request: what runs while nothing is serving. */
  gapMs: number;
  gapCalls: string[];
  startMs: number;
  /** From the start call's answer to the first healthy probe: the new gateway's own boot + warm-up. */
  bootMs: number;
  /** Docker work before the stop (ours: inspects + create; floor: none, done before the clock). */
  preStopMs: number;
  preStopCalls: string[];
  /** Ours: when checkHealth returned, relative to the first healthy probe (negative = it saw it first). */
  checkHealthLagMs?: number;
  callsDuringDown: number;
}

const stackDirs: string[] = [];
const stackNames: string[] = [];

async function round(docker: Docker, calls: ApiCall[], redis: Redis, c: DowntimeCase, mode: Mode, n: number): Promise<RoundResult> {
  const name = `${PREFIX}-${n}-${mode}`;
  const dir = mkdtempSync(join(tmpdir(), `${name}-`));
  stackNames.push(name);
  stackDirs.push(dir);
  const port = await freePort();
  const stack = await createStack(docker, {
    name,
    dir,
    gatewayImage: c.fromImage,
    gateways: 1,
    gatewayPort: port,
    redisPort: redis.port,
    checkDurationMs: c.checkDurationMs,
    ...(c.env ? { gatewayExtra: { Env: c.env } } : {}),
  });
  const container = stack.gateways[0].container;
  const prober = new Prober(port);
  try {
    // The old gateway must be fully healthy before the clock starts.
    const oldServing = (p: Probe) => (c.oldReady === 'healthy' ? p.healthyOn : p.passingOn) === c.fromVersion;
    await prober.waitFor(oldServing, 0, 30_000, `${container} serving on ${c.fromVersion}`);

    let floorNew: string | undefined;
    if (mode === 'floor') {
      // Same configuration as our replacement would get, created before the measured window.
      const old = await docker.getContainer(container).inspect();
      const oldImage = await docker.getImage(old.Image).inspect();
      const spec = replacementSpec(old, oldImage, c.toImage, `${container}-floor-new`);
      floorNew = (await docker.createContainer(spec.create)).id;
    }
    await sleep(50);

    calls.length = 0;
    const t0 = now();
    let checkHealthDone: number | undefined;
    if (mode === 'ours') {
      const noop = () => undefined;
      await recreateContainer(docker, { container, toImage: c.toImage, drainTimeoutSec: DRAIN_SEC }, noop);
      const instance: InstancePlan = {
        role: 'gateway',
        container,
        containerId: '',
        fromImage: c.fromImage,
        toImage: c.toImage,
        fromVersion: c.fromVersion,
        toVersion: c.toVersion,
        url: stack.gateways[0].url,
        helloPath: 'hello',
      };
      await checkHealth(docker, { instance, version: `v${c.toVersion}`, timeoutMs: 30_000 }, (s) => s, noop);
      checkHealthDone = now();
    } else {
      await docker.getContainer(container).stop({ t: DRAIN_SEC });
      await docker.getContainer(floorNew!).start();
    }
    const healthy = await prober.waitFor((p) => p.healthyOn === c.toVersion, t0, 30_000, `${container} healthy on ${c.toVersion}`);
    // Failed: serving neither as the old gateway did before the clock nor healthy on the target.
    const firstFail = await prober.waitFor((p) => !oldServing(p) && p.healthyOn !== c.toVersion, t0, 1, 'the first failed probe');
    if (firstFail.t > healthy.t) throw new Error('no failed probe before the new gateway was healthy');
    const firstAnswer = await prober.waitFor((p) => p.answeredOn === c.toVersion, t0, 1, 'the first answer from the new gateway');

    const mine = calls.filter((c) => c.start >= t0).sort((a, b) => a.start - b.start);
    const stop = mine.find((c) => c.what === 'stop');
    const start = mine.find((c) => c.what === 'start' && stop && c.start >= stop.end);
    if (!stop || !start) throw new Error(`stop/start calls not seen: ${mine.map((c) => c.what).join(', ')}`);
    const gap = mine.filter((c) => c.start >= stop.end && c.start < start.start);
    const pre = mine.filter((c) => c.end <= stop.start);
    return {
      mode,
      round: n,
      downtimeMs: healthy.t - firstFail.t,
      noAnswerMs: firstAnswer.t - firstFail.t,
      firstFailAfterStopReq: firstFail.t - stop.start,
      stopMs: stop.end - stop.start,
      gapMs: start.start - stop.end,
      gapCalls: gap.map((c) => `${c.what} ${(c.end - c.start).toFixed(0)}`),
      startMs: start.end - start.start,
      bootMs: healthy.t - start.end,
      preStopMs: stop.start - t0,
      preStopCalls: pre.map((c) => c.what),
      checkHealthLagMs: checkHealthDone !== undefined ? checkHealthDone - healthy.t : undefined,
      callsDuringDown: mine.filter((c) => c.start >= firstFail.t && c.start <= healthy.t).length,
    };
  } finally {
    await prober.stop();
    await removeStack(docker, name, dir);
  }
}

// ---------------------------------------------------------------------------------------------------------
function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  // Nearest rank: with 5 samples p50 is the 3rd, p90 the 5th (the worst).
  return s[Math.max(0, Math.ceil(q * s.length) - 1)];
}
const med = (xs: number[]) => quantile(xs, 0.5);
const ms = (x: number) => `${x.toFixed(0).padStart(5)} ms`;

function describe(r: RoundResult): string {
  const gap = r.gapCalls.length ? ` [${r.gapCalls.join(', ')}]` : '';
  return (
    `round ${r.round} ${r.mode.padEnd(5)} downtime ${ms(r.downtimeMs)}  ` +
    `(pre-stop ${r.preStopMs.toFixed(0)} [${r.preStopCalls.join(' ') || '-'}]; stop ${r.stopMs.toFixed(0)}, ` +
    `not accepting ${r.firstFailAfterStopReq.toFixed(0)} after stop request; gap ${r.gapMs.toFixed(0)}${gap}; ` +
    `start ${r.startMs.toFixed(0)}; start→healthy ${r.bootMs.toFixed(0)}; no answer at all ${r.noAnswerMs.toFixed(0)}` +
    (r.checkHealthLagMs !== undefined ? `; checkHealth returned ${r.checkHealthLagMs >= 0 ? '+' : ''}${r.checkHealthLagMs.toFixed(0)} vs prober` : '') +
    `)`
  );
}

/** Runs the bench for one case and prints its report; resolves with the medians and their ratio. */
export async function benchDowntime(c: DowntimeCase): Promise<{ ours: number; floor: number; ratio: number }> {
  if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`bad number of rounds: ${ROUNDS}`);
  const docker = new Docker();
  for (const image of [c.fromImage, c.toImage]) {
    await docker
      .getImage(image)
      .inspect()
      .catch(() => {
        throw new Error(`${image} is not on the engine: ${c.hint}`);
      });
  }
  const calls: ApiCall[] = [];
  instrument(docker, calls);
  const redis = await startRedis();
  const results: RoundResult[] = [];
  const load0 = loadavg();
  const cleanup = async () => {
    for (const [i, name] of stackNames.entries()) await removeStack(docker, name, stackDirs[i]).catch(() => undefined);
    await stopRedis(redis).catch(() => undefined);
  };
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  console.log(
    `tyk-upgrade downtime bench: ${c.fromImage} → v${c.toVersion} (target image already on the engine), ` +
      `${ROUNDS} rounds per mode, alternating order; probe GET /hello every ${PROBE_EVERY_MS} ms; ` +
      `${c.warmup}; drain timeout ${DRAIN_SEC} s; load average ${load0.map((l) => l.toFixed(2)).join(' ')}`,
  );
  try {
    for (let n = 1; n <= ROUNDS; n++) {
      const order: Mode[] = n % 2 === 1 ? ['ours', 'floor'] : ['floor', 'ours'];
      for (const mode of order) {
        const r = await round(docker, calls, redis, c, mode, n);
        results.push(r);
        console.log(describe(r));
      }
    }
  } finally {
    await cleanup();
  }

  const of = (mode: Mode) => results.filter((r) => r.mode === mode);
  const col = (mode: Mode, f: (r: RoundResult) => number) => of(mode).map(f);
  console.log('');
  console.log(`                              median      p90   (nearest rank over ${ROUNDS})`);
  for (const mode of ['ours', 'floor'] as Mode[]) {
    const d = col(mode, (r) => r.downtimeMs);
    const label = mode === 'ours' ? 'ours (recreate+checkHealth)' : 'floor (stop+start)';
    console.log(`downtime ${label.padEnd(28)}${ms(med(d))} ${ms(quantile(d, 0.9))}`);
  }
  const ours = med(col('ours', (r) => r.downtimeMs));
  const floor = med(col('floor', (r) => r.downtimeMs));
  const ratio = ours / floor;
  console.log(`ratio of medians ours/floor: ${ratio.toFixed(2)}x (ours ${(ours - floor).toFixed(0)} ms longer)`);
  console.log('');
  console.log('where the downtime goes (medians, ms)      ours   floor');
  const rows: [string, (r: RoundResult) => number][] = [
    ['stop request → first failed probe', (r) => r.firstFailAfterStopReq],
    ['stop call (SIGTERM → engine says stopped)', (r) => r.stopMs],
    ['gap: stop answered → start requested', (r) => r.gapMs],
    ['start call', (r) => r.startMs],
    ['start answered → first healthy probe', (r) => r.bootMs],
    ['  of the downtime: no HTTP answer at all', (r) => r.noAnswerMs],
    ['docker calls during the downtime', (r) => r.callsDuringDown],
    ['before the stop (not downtime)', (r) => r.preStopMs],
  ];
  for (const [label, f] of rows) {
    console.log(`  ${label.padEnd(42)}${med(col('ours', f)).toFixed(0).padStart(5)} ${med(col('floor', f)).toFixed(0).padStart(7)}`);
  }
  const lag = col('ours', (r) => r.checkHealthLagMs ?? 0);
  console.log(`  checkHealth returned after the prober saw healthy: median ${med(lag).toFixed(0)} ms (not downtime)`);

  const left = (await docker.listContainers({ all: true })).filter((info) => info.Names.some((x) => x.startsWith(`/${PREFIX}`)));
  const rssMb = process.resourceUsage().maxRSS / 1024;
  console.log('');
  console.log(`peak RSS of this process: ${rssMb.toFixed(1)} MB`);
  console.log(
    `load average now: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores; other work on the machine adds noise)`,
  );
  console.log(
    `cleanup: ${left.length} bench containers left, redis-server ${redis.child.exitCode !== null || redis.child.signalCode !== null ? 'stopped' : 'STILL RUNNING'}`,
  );
  if (left.length) process.exitCode = 1;
  return { ours, floor, ratio };
}

if (require.main === module) {
  benchDowntime(STANDINS).catch((err) => {
    console.error(`bench: ${(err as Error).stack ?? err}`);
    process.exit(1);
  });
}
