// Each host owns its backup folder: the worker's --backup-dir on that host, never a path from the operator's
// machine. A plan written in one folder and started from another, on two hosts (two workers, each with its own
// folder; both on this machine's engine, which is not what is tested): each host's backup lands in its own
// worker's folder (inside the plan's backupSubfolder), plan, status and report show where. A host whose folder
// is missing or read-only is refused by plan, and by the workflow's preflight before anything stops.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { findUpgrade, finalStatus } from '../src/client-lib/upgrades';
import { renderPlan } from '../src/plan/render';
import { runCli } from './support/cli';
import { spawnHostWorker, type HostWorker } from './support/fleet';
import { connectTestEnv, docker, tempDir, waitFor } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { failureOf } from './support/upgrade';

const ENGINE = 'unix:///var/run/docker.sock';
let env: TestWorkflowEnvironment;
let stacks: TestStack[] = [];
const workers: HostWorker[] = [];
const id = randomBytes(3).toString('hex');
const queue = `bk-${id}`;
const [hx, hy, hz] = ['x', 'y', 'z'].map((h) => `${h}-${id}`);
let readOnly: string;

before(async () => {
  env = await connectTestEnv();
  stacks = [await testStack({ prefix: 'bk-x', pump: false }), await testStack({ prefix: 'bk-y', pump: false })];
  readOnly = tempDir('bk-readonly');
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m,mode=0700', 'tmpfs', readOnly]);
});
after(async () => {
  for (const w of workers) await w.kill();
  for (const s of stacks) await s.remove();
  if (readOnly) execFileSync('umount', ['-l', readOnly]);
  await env?.teardown();
});

async function worker(host: string, backupDir: string): Promise<HostWorker> {
  const w = spawnHostWorker(host, queue, ENGINE, { backupDir });
  workers.push(w);
  await w.ready;
  return w;
}

/** The plan as `init` would write it on a laptop: one gateway on each of two hosts. */
function writePlan(folder: string, hosts: [string, string], extra = ''): string {
  mkdirSync(folder, { recursive: true });
  const file = join(folder, 'plan.yaml');
  const text = renderPlan({
    stack: `bk-${id}`,
    gatewayVersion: 'v5.3.0',
    gateways: stacks.map((s, i) => ({ container: s.gateways[0].container, url: s.gateways[0].url, helloPath: 'hello', host: hosts[i] })),
    pumps: [],
    source: 'test',
  });
  writeFileSync(file, `${text.replace(/^gates: .*$/m, 'gates: []')}${extra}`);
  return file;
}

const gatewayState = async () =>
  Promise.all(stacks.map(async (s) => ((i) => `${i.Id} ${i.State.StartedAt}`)(await docker.getContainer(s.gateways[0].container).inspect())));

describe('each host owns its backup folder', () => {
  it('a host whose folder is read-only or missing is refused by plan and at preflight, with its name, before anything stops', async () => {
    const x = join(tempDir('bk-x-worker'), 'backups');
    await worker(hx, x);
    const z = await worker(hz, readOnly);
    // The warning is one of the worker's start lines, not necessarily before the line that says it polls.
    const warning = new RegExp(
      `warning: backup folder ${readOnly} is on a read-only file system; mount it read-write, or start the worker of ${hz} with --backup-dir DIR`,
    );
    await waitFor('the read-only warning in the worker output', async () => (warning.test(z.output()) ? true : undefined), 10_000).catch(() => undefined);
    assert.match(z.output(), warning);
    const plan = writePlan(tempDir('bk-laptop'), [hx, hz]);
    const before = await gatewayState();

    const dry = await runCli(['plan', '-f', plan, '--task-queue', queue]);
    assert.equal(dry.code, 4, dry.stdout + dry.stderr);
    assert.match(dry.stdout, new RegExp(`^  - host ${hz}: backup folder ${readOnly} is on a read-only file system`, 'm'));
    assert.doesNotMatch(dry.stdout, new RegExp(`host ${hx}: backup folder`), 'the writable host is fine');

    // The workflow's own preflight refuses too, when the checks are skipped.
    const started = await runCli(['start', '-f', plan, '--task-queue', queue, '--skip-checks']);
    assert.equal(started.code, 0, started.stderr);
    const exec = await findUpgrade(env.client, `bk-${id}`);
    const f = await failureOf(env.client.workflow.getHandle(exec.workflowId, exec.runId).result());
    assert.match(f.message, new RegExp(`^host ${hz}: backup folder ${readOnly} is on a read-only file system`));
    assert.equal(f.status.stages.find((s) => s.name === 'preflight')?.state, 'failed');
    assert.equal(f.status.stages.find((s) => s.name === 'backup')?.state, 'pending', 'refused before the backup');
    assert.deepEqual(await gatewayState(), before, 'no gateway was stopped or replaced');
    assert.deepEqual(readdirSync(x), [], 'nothing was written on the other host either');

    // A folder removed after the worker started (an unmounted disk, say) is not made again behind its back.
    rmSync(x, { recursive: true });
    const gone = await runCli(['plan', '-f', plan, '--task-queue', queue]);
    assert.equal(gone.code, 4);
    assert.match(
      gone.stdout,
      new RegExp(`^  - host ${hx}: backup folder ${x} does not exist; create it for the worker's user \\(root\\): \`mkdir -p -m 700 ${x}\``, 'm'),
    );
    assert.ok(!existsSync(x));
  });

  it('a plan written on another machine: each host backs up into its own worker folder, as plan, status and report say', async () => {
    const [x, y] = [join(tempDir('bk-x2'), 'backups'), join(tempDir('bk-y2'), 'backups')];
    await worker(`${hx}2`, x);
    await worker(hy, y);
    const laptop = tempDir('bk-laptop');
    const written = writePlan(join(laptop, 'plans'), [`${hx}2`, hy], 'backupSubfolder: change-42\n');
    // Copied elsewhere and started from a third folder: none of these paths may matter.
    const elsewhere = join(tempDir('bk-ci'), 'checkout');
    mkdirSync(elsewhere);
    copyFileSync(written, join(elsewhere, 'plan.yaml'));
    const cwd = tempDir('bk-cwd');
    const stack = `bk-${id}`;

    const dry = await runCli(['plan', '-f', join(elsewhere, 'plan.yaml'), '--task-queue', queue], { cwd });
    assert.equal(dry.code, 0, dry.stdout + dry.stderr);
    assert.match(dry.stdout, /^Backup, before anything changes, on each host to its worker's folder/m);
    assert.match(dry.stdout, new RegExp(`^  ${hx}2: ${x}/change-42/${stack}/<run id>/${hx}2$`, 'm'));
    assert.match(dry.stdout, new RegExp(`^  ${hy}: ${y}/change-42/${stack}/<run id>/${hy}$`, 'm'));

    const started = await runCli(['start', '-f', join(elsewhere, 'plan.yaml'), '--task-queue', queue, '--watch'], { cwd, timeoutMs: 180_000 });
    assert.equal(started.code, 0, started.stdout + started.stderr);
    const exec = await findUpgrade(env.client, stack);
    const status = await finalStatus(env.client, exec.workflowId, exec.runId);
    assert.equal(status?.outcome, 'succeeded');
    const dirs = Object.fromEntries((status?.backups ?? []).map((b) => [b.host, b.dir]));
    assert.deepEqual(dirs, { [`${hx}2`]: join(x, 'change-42', stack, exec.runId, `${hx}2`), [hy]: join(y, 'change-42', stack, exec.runId, hy) });
    for (const dir of Object.values(dirs)) assert.ok(existsSync(join(dir, 'manifest.json')), `${dir} holds the backup`);
    for (const folder of [laptop, elsewhere, cwd])
      assert.ok(!existsSync(join(folder, '.tyk-upgrade')) && !existsSync(join(folder, 'plans', '.tyk-upgrade')), `nothing under ${folder}`);

    const shown = await runCli(['status', exec.workflowId]);
    for (const [host, dir] of Object.entries(dirs)) assert.match(shown.stdout, new RegExp(`^Backup: ${host}:${dir} \\(`, 'm'));
    const report = await runCli(['report', exec.workflowId]);
    assert.match(report.stdout, /^- Backups: in `change-42` inside each host worker's own folder \(`worker --backup-dir`\)/m);
    for (const [host, dir] of Object.entries(dirs))
      assert.match(report.stdout, new RegExp(`^\\| ${host} \\| \`${dir}\` \\| \`${dir}/manifest\\.json\` \\|`, 'm'));
  });
});
