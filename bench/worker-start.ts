// How long a worker takes from its start to its first poll, with the workflow bundle the build writes and without
// it (what every worker did before: webpack at each start). Each round spawns `tyk-upgrade worker` as a process
// against a dev server started here and times it until the server lists it as a workflow-task poller
// (DescribeTaskQueue): node's start, the imports, the connection, the workflow code, the first poll.
//   prebuilt  dist/ as the build leaves it (dist/workflow-bundle.js beside dist/src)
//   bundling  a copy of dist/src without the bundle beside it: the worker bundles at start, as in development
// Printed: each round, the medians and their ratio (not asserted).
//
// Run: npm run bench   (or: npm run build && node dist/bench/worker-start.js [rounds])
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Client, Connection } from '@temporalio/client';
import { startDevServer } from '../src/devserver/dev-server';
import { freePort } from '../test/support/services';

const ROUNDS = Number(process.argv[2] ?? process.env.BENCH_WORKER_ROUNDS ?? 5);
const MODES = ['prebuilt', 'bundling'] as const;
type Mode = (typeof MODES)[number];
const REPO = join(__dirname, '..', '..');

/** dist/src alone, beside the repository's node_modules and package.json: no prebuilt bundle next to it. */
function treeWithoutBundle(dir: string): string {
  cpSync(join(REPO, 'dist', 'src'), join(dir, 'dist', 'src'), { recursive: true });
  cpSync(join(REPO, 'package.json'), join(dir, 'package.json'));
  symlinkSync(join(REPO, 'node_modules'), join(dir, 'node_modules'));
  return join(dir, 'dist', 'src', 'client.js');
}

async function startToFirstPoll(client: Client, address: string, entry: string): Promise<{ ms: number; output: string }> {
  const taskQueue = `worker-start-${randomBytes(4).toString('hex')}`;
  const t0 = performance.now();
  const child = spawn(process.execPath, [entry, 'worker', '--task-queue', taskQueue], {
    env: { ...process.env, TEMPORAL_ADDRESS: address },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise((r) => child.once('exit', r));
  try {
    const identity = `${child.pid}@`;
    for (;;) {
      const res = await client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: 1 });
      if ((res.pollers ?? []).some((p) => p.identity?.startsWith(identity))) return { ms: performance.now() - t0, output };
      if (child.exitCode !== null) throw new Error(`the worker exited with ${child.exitCode}:\n${output}`);
      if (performance.now() - t0 > 120_000) throw new Error(`no poll within 120 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'tyk-upgrade-bench-worker-'));
  const server = await startDevServer({
    port: await freePort(),
    uiPort: await freePort(),
    dbFile: join(dir, 'temporal.db'),
    logFile: join(dir, 'temporal.log'),
  });
  const connection = await Connection.connect({ address: server.address });
  const client = new Client({ connection, namespace: server.namespace });
  const entries: Record<Mode, string> = { prebuilt: join(REPO, 'dist', 'src', 'client.js'), bundling: treeWithoutBundle(join(dir, 'tree')) };
  const times: Record<Mode, number[]> = { prebuilt: [], bundling: [] };
  console.log(
    `tyk-upgrade worker start → first workflow-task poll, ${ROUNDS} rounds per mode, order alternating; load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')}`,
  );
  try {
    for (let n = 0; n < ROUNDS; n++) {
      for (let k = 0; k < MODES.length; k++) {
        const mode = MODES[(n + k) % MODES.length];
        const r = await startToFirstPoll(client, server.address, entries[mode]);
        // The development path must say it bundles, the prebuilt one must not: otherwise this measures nothing.
        if (/bundling the workflow code now/.test(r.output) !== (mode === 'bundling')) throw new Error(`${mode}: unexpected worker output:\n${r.output}`);
        times[mode].push(r.ms);
        console.log(`  round ${n + 1} ${mode.padEnd(9)} ${(r.ms / 1000).toFixed(2)} s`);
      }
    }
  } finally {
    await connection.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  const [pre, bun] = [median(times.prebuilt), median(times.bundling)];
  console.log(`\nmedian start → first poll: prebuilt bundle ${(pre / 1000).toFixed(2)} s, bundling at start ${(bun / 1000).toFixed(2)} s`);
  console.log(`ratio prebuilt/bundling: ${(pre / bun).toFixed(2)}x`);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(`worker-start bench failed: ${(err as Error).message}`);
    process.exit(1);
  },
);
