// How long does a fleet upgrade take, next to the bare floor measured in the same run on the same gateways?
//
//   fleet = two cases, one after the other: 50 gateways on 5 simulated hosts (10 per host), then 200 on 10 (20 per
//           host); each host its own dockerd and loopback address (127.0.0.21-30, see test/support/engines.ts), one
//           `tyk-upgrade worker --host NAME` process per host (the first host's runs the orchestration too, the
//           others `--no-workflows`), no pump, gates off, batches of 5, soak 2 s, on a Temporal dev server this
//           bench starts on its own ports.
//   total = the upgrade workflow from start to close (Temporal's own start and close times). Before the start, the
//           checks `tyk-upgrade start` runs (a dry run on every host's worker, as the CLI does unless --skip-checks)
//           are run and timed on their own: they are not in the total, and they leave the workers' code warm, as
//           for every upgrade started from the CLI. BENCH_SKIP_CHECKS=1 starts it as --skip-checks or the API does,
//           on workers that have not run that code yet.
//   floor = for each batch the upgrade ran, measured afterwards on the same 5 gateways: `docker stop` (same drain
//           timeout) + `docker start` of all 5 in parallel with plain dockerode calls, until the slowest answers a
//           healthy /hello (status pass AND details.redis pass, on the target version, as the product's health
//           check requires); summed over the batches, plus the configured soak of every batch. Measured in three
//           rounds over all the batches (BENCH_FLOOR_ROUNDS); the median round is the floor, and the ratio against
//           the fastest and the slowest round is printed beside it.
// Also printed: where the time goes (stages, the parent's activities, each batch child next to its floor, the
// activities inside the batches, and total − floor split into before / inside / between / after the batches),
// the parent's and the largest child's history length, the peak memory (VmHWM) of each worker process and of
// this one, and the CPU seconds the workers, the Temporal server and the engines used during the upgrade. Last, how total − floor and the histories grow from the small case to the large one. It removes what
// it made (also on Ctrl-C) and stops its engines, keeping their data roots.
//
// Run: npm run bench:fleet   (or: npm run build && node dist/bench/fleet.js)
// Env: BENCH_FLEET_PORT / BENCH_FLEET_UI_PORT (its dev server; default 7743 / 8743), REGISTRY_ADDR,
//      BENCH_FLEET_CASES (default "5x10,10x20": hosts × gateways per host of each case), BENCH_FLOOR_ROUNDS (3),
//      BENCH_SKIP_CHECKS (start without the CLI's checks first).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { defaultPayloadConverter } from '@temporalio/common';
import { tsToMs } from '@temporalio/common/lib/time';
import Docker from 'dockerode';
import { pullImage } from '../src/activities/images';
import { getHello, type HelloBody } from '../src/activities/tyk-http';
import { dryRunPlan } from '../src/client-lib/fleet';
import { startUpgrade } from '../src/client-lib/upgrades';
import { startDevServer, type DevServer } from '../src/devserver/dev-server';
import { removeStack } from '../src/sandbox/stack';
import { instanceKey } from '../src/shared/names';
import type { UpgradeStatus } from '../src/shared/types';
import { startEngine } from '../test/support/engines';
import { servedVersions, startFleet, stopEngines, type Fleet } from '../test/support/fleet';
import { GATEWAY_REPO, sleep } from '../test/support/services';

const PORT = Number(process.env.BENCH_FLEET_PORT ?? 7743);
const UI_PORT = Number(process.env.BENCH_FLEET_UI_PORT ?? 8743);
const CASES = (process.env.BENCH_FLEET_CASES ?? '5x10,10x20').split(',').map((c) => {
  const [hosts, perHost] = c.split('x').map(Number);
  if (!(hosts >= 1 && hosts <= 10 && perHost >= 1)) throw new Error(`BENCH_FLEET_CASES: "${c}" is not HOSTSxPER_HOST (1-10 hosts)`);
  return { hosts, perHost };
});
const MAX_HOSTS = Math.max(...CASES.map((c) => c.hosts));
const BATCH_SIZE = 5;
const SOAK_MS = 2_000;
// 50 stand-in gateways on 2 shared cores: a slow boot must not read as a failed upgrade.
const HEALTH_TIMEOUT_MS = 60_000;
const DRAIN_SEC = 40;
// Rounds of the floor measurement; the median round is the floor (BENCH_FLOOR_ROUNDS, default 3).
const FLOOR_ROUNDS = Math.max(1, Number(process.env.BENCH_FLOOR_ROUNDS ?? 3));
// As `tyk-upgrade start --skip-checks` (or a start through the API): no dry run on the workers before the start.
const SKIP_CHECKS = !!process.env.BENCH_SKIP_CHECKS;
const TARGET = 'v5.3.0';
const TARGET_VERSION = '5.3.0';
const ENGINE_PREFIX = 'benchfleet';
const FIRST_ADDRESS = 21;

const now = () => performance.now();
const sec = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

function healthy(body: HelloBody | undefined): boolean {
  return body?.status === 'pass' && body.details?.redis?.status === 'pass' && body.version === TARGET_VERSION;
}

/** Peak resident memory of a process, from the kernel (MB). */
function peakMb(pid: number | 'self'): number | undefined {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far, from the kernel. */
function cpuSeconds(pid: number | undefined): number | undefined {
  if (!pid) return undefined;
  try {
    // Fields after the command (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;

function freeMb(): string {
  const mem = execFileSync('free', ['-m'], { encoding: 'utf8' }).split('\n')[1].trim().split(/\s+/);
  return `used ${mem[2]} MB, available ${mem[6]} MB of ${mem[1]} MB`;
}

// ---------------------------------------------------------------------------------------------------------
// The floor: bare stop + start of one batch's gateways in parallel, until the slowest is healthy.
interface Gateway {
  key: string;
  docker: Docker;
  container: string;
  url: string;
}

interface Restart {
  key: string;
  stopMs: number;
  startMs: number;
  bootMs: number;
  totalMs: number;
}

async function restart(g: Gateway): Promise<Restart> {
  const c = g.docker.getContainer(g.container);
  const t0 = now();
  await c.stop({ t: DRAIN_SEC });
  const t1 = now();
  await c.start();
  const t2 = now();
  for (;;) {
    const p = await getHello(g.url, 'hello', 1000);
    if (healthy(p.body)) break;
    if (now() - t2 > HEALTH_TIMEOUT_MS) throw new Error(`${g.key} not healthy ${HEALTH_TIMEOUT_MS / 1000} s after docker start`);
    await sleep(20);
  }
  const t3 = now();
  return { key: g.key, stopMs: t1 - t0, startMs: t2 - t1, bootMs: t3 - t2, totalMs: t3 - t0 };
}

async function allHealthy(gs: Gateway[]): Promise<void> {
  const deadline = now() + HEALTH_TIMEOUT_MS;
  for (const g of gs) {
    while (!healthy((await getHello(g.url, 'hello', 1000)).body)) {
      if (now() > deadline) throw new Error(`${g.key} is not healthy on ${TARGET_VERSION} before the floor measurement`);
      await sleep(50);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Where the time goes inside a workflow: every activity with its type, when it was scheduled, started and ended.
interface ActivityRun {
  type: string;
  scheduled: number;
  started: number;
  ended: number;
  /** What the activity returned (recreateContainer: when the old container had stopped and the new one started). */
  result?: unknown;
  /** Task queue and container the activity was for (recreate and health check of one gateway share it). */
  target?: string;
}

async function activityRuns(handle: WorkflowHandle): Promise<ActivityRun[]> {
  const history = await handle.fetchHistory();
  const scheduled = new Map<string, { type: string; at: number; target?: string }>();
  const started = new Map<string, number>();
  const out: ActivityRun[] = [];
  for (const e of history.events ?? []) {
    const at = tsToMs(e.eventTime);
    const sched = e.activityTaskScheduledEventAttributes;
    if (sched) {
      const arg = sched.input?.payloads?.[0]
        ? defaultPayloadConverter.fromPayload<{ container?: string; instance?: { container?: string } }>(sched.input.payloads[0])
        : undefined;
      const container = arg?.container ?? arg?.instance?.container;
      scheduled.set(String(e.eventId), { type: sched.activityType?.name ?? '?', at, target: container && `${sched.taskQueue?.name}/${container}` });
    }
    if (e.activityTaskStartedEventAttributes) started.set(String(e.activityTaskStartedEventAttributes.scheduledEventId), at);
    const done = e.activityTaskCompletedEventAttributes ?? e.activityTaskFailedEventAttributes ?? e.activityTaskTimedOutEventAttributes;
    if (!done) continue;
    const s = scheduled.get(String(done.scheduledEventId));
    const st = started.get(String(done.scheduledEventId));
    const payload = e.activityTaskCompletedEventAttributes?.result?.payloads?.[0];
    if (s && st !== undefined)
      out.push({
        type: s.type,
        target: s.target,
        scheduled: s.at,
        started: st,
        ended: at,
        result: payload ? defaultPayloadConverter.fromPayload(payload) : undefined,
      });
  }
  return out;
}

/** Per activity type: count, run mean / max, queue wait (scheduled → started) mean / max. */
function printActivities(runs: ActivityRun[]): void {
  for (const type of [...new Set(runs.map((r) => r.type))]) {
    const mine = runs.filter((r) => r.type === type);
    const run = mine.map((r) => r.ended - r.started);
    const queue = mine.map((r) => r.started - r.scheduled);
    console.log(
      `  ${type.padEnd(20)} ×${String(mine.length).padEnd(3)} run ${(mean(run) / 1000).toFixed(2)} / ${(max(run) / 1000).toFixed(2)} s   queue ${(mean(queue) / 1000).toFixed(2)} / ${(max(queue) / 1000).toFixed(2)} s`,
    );
  }
}

/**
 * One gateway's way through a batch, from recreateContainer's own stoppedAt / startedAt (mean over all gateways),
 * next to the floor's bare stop, start and boot.
 */
function recreateBreakdown(runs: ActivityRun[], floor: Restart[]): string {
  const recreates = runs.filter((r) => r.type === 'recreateContainer');
  const checks = runs.filter((r) => r.type === 'checkHealth');
  const parts = { toStopped: [] as number[], toStarted: [] as number[], toEnd: [] as number[], handoff: [] as number[], check: [] as number[] };
  for (const r of recreates) {
    const t = r.result as { stoppedAt?: number; startedAt?: number } | undefined;
    const check = checks.find((c) => c.target === r.target);
    if (!t?.stoppedAt || !t.startedAt || !check) continue;
    parts.toStopped.push(t.stoppedAt - r.started);
    parts.toStarted.push(t.startedAt - t.stoppedAt);
    parts.toEnd.push(r.ended - t.startedAt);
    parts.handoff.push(check.started - r.ended);
    parts.check.push(check.ended - check.started);
  }
  const f = (xs: number[]) => (mean(xs) / 1000).toFixed(2);
  return (
    `  per gateway (mean): recreate: create + renames + stop ${f(parts.toStopped)}, start ${f(parts.toStarted)}, return ${f(parts.toEnd)}; ` +
    `hand-off to checkHealth ${f(parts.handoff)}; checkHealth ${f(parts.check)}  |  floor: stop ${f(floor.map((r) => r.stopMs))}, ` +
    `start ${f(floor.map((r) => r.startMs))}, start→healthy ${f(floor.map((r) => r.bootMs))}`
  );
}

const max = (xs: number[]) => xs.reduce((a, b) => Math.max(a, b), 0);
const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);

// ---------------------------------------------------------------------------------------------------------
let server: DevServer | undefined;
let fleet: Fleet | undefined;
let connection: Connection | undefined;
let work: string | undefined;
let cleaned: Promise<void> | undefined;

/** One case's fleet goes: stacks, workers, Redis; its engines stop (data kept). */
async function removeFleet(): Promise<void> {
  const f = fleet;
  fleet = undefined;
  if (f) {
    await f.remove().catch((err) => console.error(`cleanup: ${(err as Error).message}`));
    await stopEngines(f).catch((err) => console.error(`cleanup: ${(err as Error).message}`));
  } else {
    // startFleet failed part-way: remove this bench's containers from whichever of its engines came up.
    for (let n = 1; n <= MAX_HOSTS; n++) {
      const probe = new Docker({ socketPath: `/run/tyk-upgrade-engines/${ENGINE_PREFIX}-${n}/docker.sock` });
      if (
        !(await probe.ping().then(
          () => true,
          () => false,
        ))
      )
        continue;
      const engine = await startEngine({ name: `${ENGINE_PREFIX}-${n}`, address: `127.0.0.${FIRST_ADDRESS + n - 1}` });
      const mine = await engine.docker.listContainers({ all: true, filters: { label: ['io.tyk-upgrade.sandbox'] } });
      for (const name of new Set(mine.map((c) => c.Labels['io.tyk-upgrade.sandbox']).filter((l) => l.startsWith(ENGINE_PREFIX)))) {
        await removeStack(engine.docker, name).catch(() => undefined);
      }
      await engine.remove();
    }
  }
}

/** Everything this bench made goes: the fleet of the case under way, its dev server. */
function cleanup(): Promise<void> {
  cleaned ??= (async () => {
    await removeFleet();
    await connection?.close().catch(() => undefined);
    await server?.stop().catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  })();
  return cleaned;
}

/** What the growth from one case to the next is read from. */
interface CaseFigures {
  gateways: number;
  totalMs: number;
  floorMs: number;
  parentHistory: number;
  runs: number;
  largestChild: number;
}

async function runCase(client: Client, hostCount: number, perHost: number): Promise<CaseFigures> {
  console.log('');
  console.log(`fleet bench: ${hostCount} hosts × ${perHost} gateways, batches of ${BATCH_SIZE}, soak ${SOAK_MS / 1000} s, gates off, no pump`);
  console.log(`  memory before: ${freeMb()}`);

  const t0 = now();
  fleet = await startFleet({
    prefix: ENGINE_PREFIX,
    hosts: hostCount,
    gatewaysPerHost: perHost,
    pump: false,
    firstAddress: FIRST_ADDRESS,
    enginePrefix: ENGINE_PREFIX,
    workers: false,
  });
  // The first host's worker runs the orchestration too; the others only their host's activities (docs/fleet.md).
  for (const [i, h] of fleet.hosts.entries()) await fleet.startWorker(h, i === 0 ? {} : { args: ['--no-workflows'] });
  // The target image on every engine beforehand, so the pull stage costs the same on the first run and later ones.
  for (const h of fleet.hosts) await pullImage(h.engine.docker, `${GATEWAY_REPO}:${TARGET}`, () => undefined, new AbortController().signal);
  console.log(
    `  fleet up in ${sec(now() - t0)}: ${fleet.hosts.length} engines, ${fleet.hosts.length * perHost} gateways, ${fleet.hosts.length} workers; memory: ${freeMb()}`,
  );

  const input = fleet.input({
    gatewayVersion: TARGET,
    batchSize: BATCH_SIZE,
    soakMs: SOAK_MS,
    gates: [],
    healthTimeoutMs: HEALTH_TIMEOUT_MS,
    drainTimeoutSec: DRAIN_SEC,
  });
  // What the upgrade costs in CPU on the shared cores, next to what the gateways need to boot.
  const cpuOf = () => ({
    workers: fleet!.hosts.map((h) => cpuSeconds(h.worker?.child.pid) ?? 0),
    engines: fleet!.hosts.reduce((n, h) => n + (cpuSeconds(h.engine.pid()) ?? 0), 0),
    server: cpuSeconds(server?.pid) ?? 0,
  });
  // What `tyk-upgrade start` does first (src/cli/commands/start.ts): the dry run on every host's worker.
  let checksMs: number | undefined;
  if (!SKIP_CHECKS) {
    const t = now();
    const problems = (await dryRunPlan(client, input, fleet.taskQueue)).flatMap((a) => a.result?.problems ?? [a.error ?? 'no answer']);
    if (problems.length) throw new Error(`the checks before the start found problems: ${problems.join('; ')}`);
    checksMs = now() - t;
  }
  const cpuBefore = cpuOf();
  const handle = await startUpgrade(client, input, { taskQueue: fleet.taskQueue });
  const status: UpgradeStatus = await handle.result();
  const cpuAfter = cpuOf();
  const parent = await handle.describe();
  if (status.outcome !== 'succeeded') throw new Error(`the fleet upgrade ended ${status.outcome}: ${status.reason}`);
  const served = Object.entries(await servedVersions(fleet)).filter(([, v]) => v !== TARGET_VERSION);
  if (served.length) throw new Error(`not on ${TARGET_VERSION} after the upgrade: ${served.map(([k, v]) => `${k} ${v}`).join(', ')}`);
  // Every run of the upgrade (it continues as new past maxHistoryEvents): the first one's start to the last one's close.
  const runs: { start: number; history: number }[] = [];
  for await (const r of client.workflow.list({ query: `WorkflowId = "${handle.workflowId}"` }))
    runs.push({ start: r.startTime.getTime(), history: r.historyLength });
  const firstStart = Math.min(...runs.map((r) => r.start));
  const totalMs = (parent.closeTime as Date).getTime() - firstStart;
  const workerPeaks = fleet.hosts.map((h, i) => [`${h.name}${i === 0 ? ' (workflows too)' : ''}`, peakMb(h.worker?.child.pid as number)] as const);
  console.log(`  memory after the upgrade: ${freeMb()}`);

  // The batch children: duration, history, activities; the parent's own activities.
  const children = [];
  for (const b of status.batches) {
    const h = client.workflow.getHandle(b.workflowId as string);
    const d = await h.describe();
    children.push({
      name: b.name,
      instances: b.instances,
      start: d.startTime.getTime(),
      end: (d.closeTime as Date).getTime(),
      history: d.historyLength,
      runs: await activityRuns(h),
    });
  }
  const parentRuns = await activityRuns(handle);

  // The floor, batch by batch, on the same gateways.
  const gateways = new Map<string, Gateway>();
  for (const h of fleet.hosts) {
    for (const g of h.stack.gateways)
      gateways.set(instanceKey({ host: h.name, container: g.container }), { key: '', docker: h.engine.docker, container: g.container, url: g.url });
  }
  for (const [k, g] of gateways) g.key = k;
  // Several rounds over all the batches: one round's floor swings by 10 % with what the shared cores do meanwhile.
  const rounds: { floors: Restart[][]; slowest: Restart[]; ms: number }[] = [];
  for (let r = 0; r < FLOOR_ROUNDS; r++) {
    const floors: Restart[][] = [];
    for (const c of children) {
      const gs = c.instances.map((k) => gateways.get(k) as Gateway);
      await allHealthy(gs);
      floors.push(await Promise.all(gs.map(restart)));
    }
    const slowest = floors.map((rs) => rs.reduce((a, b) => (b.totalMs > a.totalMs ? b : a)));
    rounds.push({ floors, slowest, ms: slowest.reduce((n, x) => n + x.totalMs, 0) + SOAK_MS * children.length });
  }
  const byFloor = [...rounds].sort((a, b) => a.ms - b.ms);
  const median = byFloor[Math.floor((byFloor.length - 1) / 2)];
  const { slowest } = median;
  const floorMs = median.ms;
  const floors = rounds.flatMap((r) => r.floors);

  // --- report ---
  const ratio = totalMs / floorMs;
  console.log('');
  console.log(
    `total upgrade time   ${sec(totalMs)}  (workflow start → close; ` +
      (checksMs === undefined
        ? 'started without the checks `tyk-upgrade start` runs first, as --skip-checks or the API does)'
        : `the checks \`tyk-upgrade start\` runs before it took ${sec(checksMs)} more, ${((totalMs + checksMs) / floorMs).toFixed(2)} × the floor with them)`),
  );
  console.log(
    `floor                ${sec(floorMs)}  (${children.length} batches: bare stop + start + first healthy /hello of the slowest gateway ${sec(floorMs - SOAK_MS * children.length)}, + soaks ${sec(SOAK_MS * children.length)})`,
  );
  if (rounds.length > 1) console.log(`  the median of ${rounds.length} rounds over all batches: ${rounds.map((r) => sec(r.ms)).join(' / ')}`);
  console.log(
    `ratio total/floor    ${ratio.toFixed(2)}  (goal ≤ 1.10${ratio <= 1.1 ? ', met' : ', NOT met'})` +
      (rounds.length > 1
        ? `; against the fastest round ${(totalMs / byFloor[0].ms).toFixed(2)}, the slowest ${(totalMs / byFloor[byFloor.length - 1].ms).toFixed(2)}`
        : ''),
  );
  const gatewaysStage = status.stages.find((st) => st.name === 'gateways');
  if (gatewaysStage?.startedAt && gatewaysStage.endedAt) {
    const g = Date.parse(gatewaysStage.endedAt) - Date.parse(gatewaysStage.startedAt);
    console.log(`  the gateways stage alone (no preflight, backup, pull, verify): ${sec(g)}, ${(g / floorMs).toFixed(2)} × the floor (goal ≤ 1.05)`);
  }
  const largest = children.reduce((a, b) => (b.history > a.history ? b : a));
  console.log(
    `history length       parent ${parent.historyLength} events in its last run (goal < 2,000${parent.historyLength < 2000 ? ', met' : ', NOT met'}), ${runs.length} run(s) of ${runs.map((r) => r.history).join(' + ')}; largest child ${largest.history} (batch ${largest.name}, goal < 500)`,
  );
  const backups = parentRuns.filter((r) => r.type === 'backupStack').map((r) => r.ended - r.started);
  console.log(
    `backup per host      ${(max(backups) / 1000).toFixed(2)} s at most (${perHost} containers each; goal < 1 s${max(backups) < 1000 ? ', met' : ', NOT met'})`,
  );
  const light = max(workerPeaks.slice(1).map(([, mb]) => mb ?? 0));
  if (workerPeaks.length > 1)
    console.log(`host worker, activities only: ${light.toFixed(0)} MB at most (goal ≤ 150 MB${light <= 150 ? ', met' : ', NOT met'})`);
  console.log(
    `peak memory (VmHWM)  ${workerPeaks.map(([h, mb]) => `${h} ${mb === undefined ? '?' : `${mb.toFixed(0)} MB`}`).join(', ')}; this process ${(peakMb('self') ?? 0).toFixed(0)} MB`,
  );

  const workerCpu = cpuAfter.workers.map((t, i) => t - cpuBefore.workers[i]);
  console.log(
    `CPU used             workers ${workerCpu.reduce((a, b) => a + b, 0).toFixed(1)} s (${workerCpu.map((t) => t.toFixed(1)).join(' / ')}), ` +
      `Temporal server ${(cpuAfter.server - cpuBefore.server).toFixed(1)} s, dockerd ${(cpuAfter.engines - cpuBefore.engines).toFixed(1)} s; ` +
      `the machine has ${((totalMs / 1000) * availableParallelism()).toFixed(0)} core-seconds in that time`,
  );

  console.log('');
  console.log('where the time goes: stages (workflow clock)');
  for (const s of status.stages) {
    if (!s.startedAt || !s.endedAt) continue;
    console.log(`  ${s.name.padEnd(16)} ${sec(Date.parse(s.endedAt) - Date.parse(s.startedAt)).padStart(8)}  ${s.state}`);
  }
  console.log('activities of the parent (mean / max over hosts; queue = scheduled → started)');
  printActivities(parentRuns);
  console.log('batches: the child from start to close = recreate + health check of all 5 (up) + soak of all 5 + the rest;');
  console.log('         floor = the slowest bare stop + start + healthy of the same 5, + the 2 s soak');
  const lastEnd = (runs: ActivityRun[], type: string, otherwise: number) =>
    runs.filter((r) => r.type === type).reduce((t, r) => Math.max(t, r.ended), otherwise);
  let prevEnd = firstStart;
  const excess = { before: 0, up: 0, soak: 0, between: 0, after: 0 };
  children.forEach((c, i) => {
    const f = slowest[i];
    const healthyAt = lastEnd(c.runs, 'checkHealth', c.start);
    const soakedAt = lastEnd(c.runs, 'soakHealth', healthyAt);
    const [up, soak, rest, gap] = [healthyAt - c.start, soakedAt - healthyAt, c.end - soakedAt, c.start - prevEnd];
    const firstActivity = c.runs.reduce((t, r) => Math.min(t, r.scheduled), c.end) - c.start;
    if (i === 0) excess.before = gap;
    else excess.between += gap;
    excess.up += up - f.totalMs;
    excess.soak += soak - SOAK_MS;
    excess.between += rest;
    prevEnd = c.end;
    const hosts = [...new Set(c.instances.map((k) => k.split('/')[0]))].join(',');
    console.log(
      `  batch ${c.name.padEnd(3)} ${sec(c.end - c.start).padStart(7)} (up ${(up / 1000).toFixed(2)} of which to the first activity ${(firstActivity / 1000).toFixed(2)}, soak ${(soak / 1000).toFixed(2)}, rest ${(rest / 1000).toFixed(2)})  ` +
        `floor ${sec(f.totalMs + SOAK_MS).padStart(7)} (stop ${(f.stopMs / 1000).toFixed(2)}, start ${(f.startMs / 1000).toFixed(2)}, start→healthy ${(f.bootMs / 1000).toFixed(2)})  ` +
        `gap before ${(gap / 1000).toFixed(2)}  history ${c.history}  on ${hosts}`,
    );
  });
  excess.after = (parent.closeTime as Date).getTime() - prevEnd;
  console.log('activities inside the batches (mean / max over all batches)');
  printActivities(children.flatMap((c) => c.runs));
  console.log(
    recreateBreakdown(
      children.flatMap((c) => c.runs),
      floors.flat(),
    ),
  );
  console.log(`total − floor = ${sec(totalMs - floorMs)}:`);
  console.log(`  before the first batch (preflight, backup, pull)            ${sec(excess.before).padStart(7)}`);
  console.log(`  recreate + health check over the bare stop/start/healthy    ${sec(excess.up).padStart(7)}`);
  console.log(`  soak beyond its configured ${SOAK_MS / 1000} s                              ${sec(excess.soak).padStart(7)}`);
  console.log(`  between batches (child close, parent, next child start)     ${sec(excess.between).padStart(7)}`);
  console.log(`  after the last batch (verify, old containers)               ${sec(excess.after).padStart(7)}`);
  console.log(
    `load average now: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (2 cores; other work on the machine adds noise)`,
  );
  const names = fleet.hosts.map((h) => h.name);
  await removeFleet();
  const left = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => names.some((n) => l.includes(`--host ${n}`)));
  console.log(`cleanup: stacks removed, ${left.length} worker processes left, engines stopped (data roots kept)`);
  if (left.length) throw new Error(`${left.length} worker processes left after the case`);
  return {
    gateways: hostCount * perHost,
    totalMs,
    floorMs,
    parentHistory: runs.reduce((n, r) => n + r.history, 0),
    runs: runs.length,
    largestChild: largest.history,
  };
}

async function main(): Promise<void> {
  const wall0 = now();
  work = mkdtempSync(join(tmpdir(), 'benchfleet-'));
  // The test support modules put their folders here and reach Temporal through TEMPORAL_ADDRESS.
  process.env.TYK_UPGRADE_TEST_DIR = work;
  server = await startDevServer({ port: PORT, uiPort: UI_PORT, logFile: join(work, 'temporal.log') });
  process.env.TEMPORAL_ADDRESS = server.address;
  console.log(`fleet bench: dev server ${server.address} (UI ${server.uiUrl}); cases ${CASES.map((c) => `${c.hosts}×${c.perHost}`).join(', ')}`);
  connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection });
  const figures: CaseFigures[] = [];
  for (const c of CASES) figures.push(await runCase(client, c.hosts, c.perHost));

  if (figures.length > 1) {
    const [a, b] = [figures[0], figures[figures.length - 1]];
    const x = (m: number, n: number) => `${(m / n).toFixed(2)} ×`;
    console.log('');
    console.log(`growth from ${a.gateways} to ${b.gateways} gateways (${x(b.gateways, a.gateways)} the gateways):`);
    console.log(`  floor          ${sec(a.floorMs)} → ${sec(b.floorMs)}  (${x(b.floorMs, a.floorMs)})`);
    console.log(`  total − floor  ${sec(a.totalMs - a.floorMs)} → ${sec(b.totalMs - b.floorMs)}  (${x(b.totalMs - b.floorMs, a.totalMs - a.floorMs)})`);
    console.log(`  total / floor  ${(a.totalMs / a.floorMs).toFixed(2)} → ${(b.totalMs / b.floorMs).toFixed(2)}`);
    console.log(
      `  parent history ${a.parentHistory} → ${b.parentHistory} events over all runs (${a.runs} → ${b.runs} runs), largest child ${a.largestChild} → ${b.largestChild}`,
    );
  }
  await cleanup();
  console.log(`bench wall time: ${sec(now() - wall0)}; dev server stopped`);
}

const onSignal = () => void cleanup().finally(() => process.exit(130));
process.once('SIGINT', onSignal);
process.once('SIGTERM', onSignal);
main().catch(async (err) => {
  console.error(`bench: ${(err as Error).stack ?? err}`);
  for (const h of fleet?.hosts ?? []) console.error(`worker of ${h.name}, last output:\n${h.worker?.output().split('\n').slice(-15).join('\n')}`);
  await cleanup();
  process.exit(1);
});
