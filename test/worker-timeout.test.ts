// Never a silent hang: `init`, `plan` and `start` with the only worker (and, for a fleet, one host's worker)
// SIGKILLed a second before. A killed worker still shows as a poller for a minute, so the CLI's poller check
// passes; each call must still end within --worker-timeout with exit 6, name the queue or host that did not
// answer and what to start, and leave nothing Running on the server. A worker back within the deadline is used.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { WorkflowNotFoundError } from '@temporalio/common';
import { renderPlan } from '../src/plan/render';
import { SA_RUN, workflowIdFor } from '../src/shared/names';
import { runCli, spawnCli, type CliResult } from './support/cli';
import { spawnHostWorker } from './support/fleet';
import { connectTestEnv, sleep, tempDir, waitFor } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { spawnWorker, type WorkerProcess } from './support/worker-process';
import { randomBytes } from 'node:crypto';

const DEADLINE_S = 8;
/** The CLI's own start (Node, connecting, the poller check) on a busy two-core machine, on top of the deadline. */
const SLACK_MS = 8000;

let env: TestWorkflowEnvironment;
let stack: TestStack;
let dir: string;
before(async () => {
  env = await connectTestEnv();
  stack = await testStack({ prefix: 'wto', pump: false });
  dir = tempDir('worker-timeout');
});
after(async () => {
  await stack?.remove();
  await env?.teardown();
});

/** A plan for the test stack; with hosts, its one gateway on the first host and a made-up one on the second. */
function planFile(name: string, hosts?: [string, string]): string {
  const g = stack.gateways[0];
  const file = join(dir, `${name}.yaml`);
  writeFileSync(
    file,
    renderPlan({
      stack: stack.name,
      gatewayVersion: 'v5.3.0',
      gateways: hosts
        ? [
            { container: g.container, url: g.url, helloPath: 'hello', host: hosts[0] },
            { container: 'tyk-gateway', url: 'http://127.0.0.1:1', helloPath: 'hello', host: hosts[1] },
          ]
        : [{ container: g.container, url: g.url, helloPath: 'hello' }],
      pumps: [],
      source: 'test',
    }),
  );
  return file;
}

async function startedWorker(queue: string): Promise<WorkerProcess> {
  const w = spawnWorker(queue);
  await waitFor('the worker polls', async () => (/worker: polling task queue/.test(w.output()) ? true : undefined), 60_000);
  await sleep(1000); // its polls reach the server
  return w;
}

/** Ended within the deadline with exit 6, naming who did not answer; the look-only run it started is terminated and tagged. */
async function refusedInTime(r: CliResult, who: RegExp, fix: RegExp): Promise<void> {
  assert.equal(r.code, 6, `exit 6 expected:\n${r.stdout}\n${r.stderr}`);
  assert.ok(r.ms < DEADLINE_S * 1000 + SLACK_MS, `ended after ${r.ms} ms; the deadline is ${DEADLINE_S} s`);
  assert.match(r.stderr, new RegExp(`no worker took the work of ${who.source} within ${DEADLINE_S} s \\(--worker-timeout\\)`));
  assert.match(r.stderr, fix);
  assert.match(r.stderr, /nothing was changed/);
  const id = /The look-only run (\S+) was terminated/.exec(r.stderr)?.[1];
  assert.ok(id, r.stderr);
  const d = await env.client.workflow.getHandle(id).describe();
  assert.equal(d.status.name, 'TERMINATED', `${id} is not left running`);
  // The wait itself, on the server's clock: from the run's start to its end, the deadline and a little more.
  const lived = (d.closeTime as Date).getTime() - d.startTime.getTime();
  assert.ok(lived > DEADLINE_S * 1000 - 500 && lived < DEADLINE_S * 1000 + 1500, `${id} lived ${lived} ms; the deadline is ${DEADLINE_S} s`);
  assert.equal(d.typedSearchAttributes.get(SA_RUN), 'look');
}

/** Nothing of this queue is Running on the server (visibility catches up within a moment). */
async function nothingRunning(queue: string): Promise<void> {
  const running = async () => {
    const ids: string[] = [];
    for await (const w of env.client.workflow.list({ query: `TaskQueue = "${queue}" AND ExecutionStatus = "Running"` })) ids.push(w.workflowId);
    return ids;
  };
  await waitFor('no run left Running', async () => ((await running()).length ? undefined : true), 10_000, 250).catch(async () =>
    assert.deepEqual(await running(), [], `left Running on ${queue}`),
  );
}

async function noUpgrade(): Promise<void> {
  await assert.rejects(env.client.workflow.getHandle(workflowIdFor(stack.name)).describe(), WorkflowNotFoundError, 'no upgrade was started');
}

describe('the only worker SIGKILLed a second before', () => {
  it('init, plan and start each end within --worker-timeout with exit 6, name the task queue and what to start, and leave nothing running', async () => {
    const queue = `wto-${randomBytes(3).toString('hex')}`;
    const w = await startedWorker(queue);
    await w.kill();
    await sleep(1000);
    const plan = planFile('one');
    const timeout = ['--worker-timeout', `${DEADLINE_S}s`, '--task-queue', queue];
    const who = new RegExp(`task queue "${queue}"`);
    const fix = new RegExp(`Start \`tyk-upgrade dev\` \\(one machine\\) or \`tyk-upgrade worker --task-queue ${queue}\``);
    await refusedInTime(await runCli(['init', '--gateway-version', 'v5.3.0', '-o', join(dir, 'init.yaml'), ...timeout]), who, fix);
    await refusedInTime(await runCli(['plan', '-f', plan, ...timeout]), who, fix);
    await refusedInTime(await runCli(['start', '-f', plan, ...timeout]), who, fix);
    await nothingRunning(queue);
    await noUpgrade();
  });

  it('a worker that comes back within the deadline is simply used', async () => {
    const queue = `wto-${randomBytes(3).toString('hex')}`;
    await (await startedWorker(queue)).kill();
    await sleep(1000);
    const planning = spawnCli(['plan', '-f', planFile('back'), '--task-queue', queue, '--worker-timeout', '60s']);
    await sleep(3000);
    const again = await startedWorker(queue);
    try {
      assert.equal(await planning.exited, 0, planning.output());
      assert.match(planning.output(), /Dry run: nothing was changed/);
      assert.match(planning.output(), /Ready\. Start it with/);
    } finally {
      await again.stop();
    }
    await nothingRunning(queue);
  });
});

describe("one host's worker of a fleet SIGKILLed a second before", () => {
  it('init, plan and start end within --worker-timeout with exit 6 naming that host; nothing is left running', async () => {
    const queue = `wto-fleet-${randomBytes(3).toString('hex')}`;
    const [alive, dead] = [`a-${randomBytes(2).toString('hex')}`, `b-${randomBytes(2).toString('hex')}`];
    // Both "hosts" use this machine's engine: what is tested is who answers on which queue.
    const workers = [alive, dead].map((h) => spawnHostWorker(h, queue, 'unix:///var/run/docker.sock'));
    try {
      await Promise.all(workers.map((w) => w.ready));
      await sleep(1000);
      await workers[1].kill('SIGKILL');
      await sleep(1000);
      const plan = planFile('fleet', [alive, dead]);
      const timeout = ['--worker-timeout', `${DEADLINE_S}s`, '--task-queue', queue];
      const who = new RegExp(`host "${dead}" \\(task queue tyk-upgrade\\.host\\.${dead}\\)`);
      const fix = new RegExp(`Start \`tyk-upgrade worker --host ${dead}\` on that machine`);
      await refusedInTime(await runCli(['init', '--gateway-version', 'v5.3.0', '-o', join(dir, 'fleet-init.yaml'), ...timeout]), who, fix);
      await refusedInTime(await runCli(['plan', '-f', plan, ...timeout]), who, fix);
      await refusedInTime(await runCli(['start', '-f', plan, ...timeout]), who, fix);
      await nothingRunning(queue);
      await noUpgrade();
    } finally {
      for (const w of workers) await w.kill();
    }
  });
});
