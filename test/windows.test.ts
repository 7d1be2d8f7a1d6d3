// Maintenance windows and start --at on the real dev server and engine, with windows computed from the current
// time (not a mocked clock): a closed window lets the run back up and pull but stop nothing until it opens; a
// window that closes mid-run lets the batch in hand finish and holds the next one until a person says go; a
// start delay runs nothing before its time. The dev server cannot skip time, so these windows are seconds long.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DateTime } from 'luxon';
import { getHello } from '../src/activities/tyk-http';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { runCli } from './support/cli';
import { docker, sleep } from './support/services';
import { withTestStack, type TestStack } from './support/stack';
import { keepHistory, waitForGate, waitUntil } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
const ZONE = 'Europe/Berlin';

/** "daily HH:MM:SS-HH:MM:SS Europe/Berlin" from now + a to now + b seconds, in Berlin's wall-clock time. */
function windowFromNow(fromSec: number, toSec: number): { text: string; opens: number; closes: number } {
  const at = (s: number) => DateTime.now().setZone(ZONE).plus({ seconds: s }).startOf('second');
  const [a, b] = [at(fromSec), at(toSec)];
  return { text: `daily ${a.toFormat('HH:mm:ss')}-${b.toFormat('HH:mm:ss')} ${ZONE}`, opens: a.toMillis(), closes: b.toMillis() };
}

const createdAt = async (container: string) => Date.parse((await docker.getContainer(container).inspect()).Created);
const idOf = async (container: string) => (await docker.getContainer(container).inspect()).Id;
const versionOf = async (url: string) => (await getHello(url, 'hello')).body?.version;

const withStack = (prefix: string, gateways: number, fn: (s: TestStack) => Promise<void>) => withTestStack({ prefix, gateways, pump: false }, fn);

describe('maintenance windows', () => {
  it('a window closed now: backup and pull run, no container stops until it opens, then the upgrade goes on by itself', () =>
    withStack('win-closed', 1, async (stack) => {
      const w = windowFromNow(20, 300);
      const gw = stack.gateways[0];
      const before = await idOf(gw.container);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [], window: [w.text] }), { taskQueue: t.worker.taskQueue });
      const waiting = await waitUntil(t.env.client, handle.workflowId, 'the window pause', (s) => s.pause?.kind === 'window' && s.pause.state === 'waiting');
      assert.deepEqual(
        waiting.stages.filter((s) => ['preflight', 'backup', 'pull'].includes(s.name)).map((s) => s.state),
        ['done', 'done', 'done'],
        'everything that stops nothing ran',
      );
      assert.equal(waiting.window?.state, 'closed');
      assert.equal(Date.parse(waiting.pause?.opensAt ?? ''), w.opens, 'it says when the window opens');
      assert.equal(waiting.backups.length, 1);
      assert.equal(await idOf(gw.container), before, 'the gateway container was not touched');
      assert.equal(await versionOf(gw.url), '5.2.0');

      const cli = await runCli(['status', handle.workflowId]);
      assert.match(cli.stdout, /WAITING FOR THE MAINTENANCE WINDOW since .*: outside the maintenance window \(daily .* Europe\/Berlin\); the next opens at /);
      assert.match(cli.stdout, new RegExp(`resume ${handle.workflowId} continue\\|rollback`));

      const done = await handle.result();
      await keepHistory(handle, 'window-closed-then-open', t.env.client);
      assert.equal(done.outcome, 'succeeded');
      assert.equal(await versionOf(gw.url), '5.3.0');
      assert.ok((await createdAt(gw.container)) >= w.opens, 'the new gateway was created only once the window had opened');
      assert.equal(done.pause?.by, 'maintenance window', 'the window, not a person, let it go on');
      assert.equal(done.window?.state, 'open');
    }));

  it('a window that closes mid-run: the batch in hand finishes, the next waits; retry is refused, continue goes on', () =>
    withStack('win-mid', 2, async (stack) => {
      // Open now; closes while batch 1 soaks. The next one is tomorrow, so only a person can let batch 2 go.
      const w = windowFromNow(-60, 25);
      const [g1, g2] = stack.gateways;
      const second = await idOf(g2.container);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: ['before-gateways'], window: [w.text], batchSize: 1, soakMs: 25_000 }), {
        taskQueue: t.worker.taskQueue,
      });
      const gate = await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      assert.equal(gate.window?.state, 'open');
      assert.ok(Date.now() < w.closes - 5000, 'the test reached the gate well inside the window (a slow machine would make this test meaningless)');
      await decide(t.env.client, handle.workflowId, 'approve', { by: 'alice' });

      const paused = await waitUntil(t.env.client, handle.workflowId, 'the window pause', (s) => s.pause?.kind === 'window' && s.pause.state === 'waiting');
      assert.ok(Date.now() >= w.closes, 'it paused once the window had closed');
      assert.deepEqual(
        paused.batches.map((b) => b.state),
        ['done', 'pending'],
        'batch 1 finished after the window closed; batch 2 never started',
      );
      assert.equal(await versionOf(g1.url), '5.3.0');
      assert.equal(await idOf(g2.container), second, 'the second gateway was not touched');
      assert.equal(await versionOf(g2.url), '5.2.0');

      const retry = await runCli(['resume', handle.workflowId, 'retry', '--by', 'dave']);
      assert.notEqual(retry.code, 0);
      assert.match(retry.stderr, /waits for its maintenance window .* not on failed instances: choose continue \(go on now, outside the window\) or rollback/);
      const go = await runCli(['resume', handle.workflowId, 'continue', '--by', 'dave', '--comment', 'CHG-77 extended']);
      assert.equal(go.code, 0, go.stderr);

      const done = await handle.result();
      await keepHistory(handle, 'window-closes-mid-run', t.env.client);
      assert.equal(done.outcome, 'succeeded');
      assert.equal(await versionOf(g2.url), '5.3.0');
      assert.deepEqual([done.window?.state, done.window?.overriddenBy], ['overridden', 'dave']);
      assert.ok(done.errors.some((e) => /dave chose to go on outside the maintenance window/.test(e)));
    }));

  it('start --at 15 s ahead: status and list say when; nothing runs until then', () =>
    withStack('win-at', 1, async (stack) => {
      const gw = stack.gateways[0];
      const before = await idOf(gw.container);
      // Far enough ahead for four CLI processes to answer on a busy 2-core machine.
      const at = new Date(Date.now() + 15_000);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [] }), { taskQueue: t.worker.taskQueue, startAt: at });

      // Asked at once, side by side: all of it must happen before the start time.
      const [status, jsonOut, list, report] = await Promise.all([
        runCli(['status', handle.workflowId]),
        runCli(['status', handle.workflowId, '--json']),
        runCli(['list', '--limit', '20']),
        runCli(['report', handle.workflowId]),
      ]);
      assert.ok(Date.now() < at.getTime(), 'the CLI answered before the start time (else this test proves nothing)');
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /Scheduled: starts at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \(in \d+ s; start --at\)\. Nothing has run yet/);
      assert.match(report.stdout, /scheduled to start at .* \(start --at\); nothing has run yet/);
      const json = JSON.parse(jsonOut.stdout);
      // The delay is measured when the start request is made, a few milliseconds after `at` was chosen.
      assert.ok(Math.abs(Date.parse(json.scheduledFor) - at.getTime()) < 1000, `status --json says when: ${json.scheduledFor}`);
      assert.match(list.stdout, new RegExp(`${handle.workflowId}\\s.*scheduled for \\d{4}-`));

      await sleep(Math.max(0, at.getTime() - Date.now() - 1000));
      assert.equal(await idOf(gw.container), before, 'nothing ran before its time');
      const done = await handle.result();
      assert.equal(done.outcome, 'succeeded');
      assert.ok(
        Date.parse(done.stages[0].startedAt ?? '') >= at.getTime() - 50,
        `preflight began at ${done.stages[0].startedAt}, not before ${at.toISOString()}`,
      );
      assert.ok((await createdAt(gw.container)) >= at.getTime());
      assert.equal(await versionOf(gw.url), '5.3.0');
    }));
});
