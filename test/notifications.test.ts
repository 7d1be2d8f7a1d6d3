// Notifications end to end: `tyk-upgrade worker --notify FILE` as a process, real HTTP receivers on 127.0.0.1,
// a real upgrade on the dev server and engine. Every event reaches the receivers with the documented body; a
// receiver that answers 500 first gets each event once; one that is down leaves a warning and never fails the
// upgrade; the webhook URLs (tokens in path and query) appear nowhere in history, CLI output or the worker's log.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getHello } from '../src/activities/tyk-http';
import { decide, resolvePause, startUpgrade } from '../src/client-lib/upgrades';
import type { NotifyEventName } from '../src/shared/types';
import { runCli, spawnCli, type CliProcess } from './support/cli';
import { connectTestEnv, FAULTY_REPO, freePort, tempDir } from './support/services';
import { withTestStack, type TestStack } from './support/stack';
import { historyText, upgradeHistories } from './support/history';
import { failureOf, keepHistory, waitForGate, waitUntil } from './support/upgrade';

interface Received {
  path: string;
  body: Record<string, unknown> & { id?: string; event?: NotifyEventName; text?: string };
  answered: number;
}

/** A webhook receiver; `answer` picks the status for each request (e.g. 500 the first time an id is seen). */
async function receiver(answer: (r: Received, seen: Received[]) => number): Promise<{ port: number; got: Received[]; close(): Promise<void> }> {
  const got: Received[] = [];
  const port = await freePort();
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => (raw += d));
    req.on('end', () => {
      const r: Received = { path: req.url ?? '', body: JSON.parse(raw), answered: 0 };
      r.answered = answer(r, got);
      got.push(r);
      res.writeHead(r.answered, { 'content-type': 'text/plain' }).end(r.answered === 200 ? 'ok' : 'try again');
    });
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return { port, got, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

const TOKEN = `tok${randomBytes(8).toString('hex')}`;
const QUERY_TOKEN = `q${randomBytes(8).toString('hex')}`;
const DOWN_TOKEN = `down${randomBytes(8).toString('hex')}`;

let env: TestWorkflowEnvironment;
let worker: CliProcess;
let json: Awaited<ReturnType<typeof receiver>>;
let slack: Awaited<ReturnType<typeof receiver>>;
let downPort: number;
const queue = `notify-${randomBytes(4).toString('hex')}`;
const outputs: string[] = [];

before(async () => {
  env = await connectTestEnv();
  json = await receiver(() => 200);
  // The first attempt at each event fails, as a busy chat server's would.
  slack = await receiver((r, seen) => (seen.some((s) => s.body.text === r.body.text) ? 200 : 500));
  downPort = await freePort(); // nothing listens there
  const dir = tempDir('notify');
  const file = join(dir, 'notify.yaml');
  writeFileSync(
    file,
    [
      `webUi: ${process.env.TEMPORAL_UI_URL}`,
      'reminderEvery: 2s',
      'deadline: 6s',
      'webhooks:',
      '  - name: audit',
      `    url: http://127.0.0.1:${json.port}/hooks/${TOKEN}?token=${QUERY_TOKEN}`,
      '  - name: chat',
      `    url: http://127.0.0.1:${slack.port}/services/${TOKEN}`,
      '    format: slack',
      '    events: ["gate.waiting", "gate.decided", "upgrade.*"]',
      '  - name: pager',
      `    url: http://127.0.0.1:${downPort}/${DOWN_TOKEN}`,
      '    events: ["upgrade.succeeded", "upgrade.rolled-back", "upgrade.paused"]',
    ].join('\n'),
    { mode: 0o600 },
  );
  worker = spawnCli(['worker', '--task-queue', queue, '--notify', file]);
  await worker.waitFor(new RegExp(`worker: polling task queue "${queue}"`), 120_000);
});
after(async () => {
  await worker?.stop();
  await json?.close();
  await slack?.close();
  await env?.teardown();
});

const events = (r: Received[], id: string) =>
  r.filter((x) => String(x.body.upgrade && (x.body.upgrade as { workflowId: string }).workflowId) === id || x.body.text?.includes(id));

function noUrlIn(text: string, where: string): void {
  for (const secret of [TOKEN, QUERY_TOKEN, DOWN_TOKEN, `127.0.0.1:${json.port}`, `127.0.0.1:${slack.port}`, `127.0.0.1:${downPort}`]) {
    assert.ok(!text.includes(secret), `${where} must not contain ${secret}`);
  }
}

const withStack = (prefix: string, fn: (s: TestStack) => Promise<void>) => withTestStack({ prefix, pump: false }, fn);

describe('notifications', () => {
  it('gate waiting (and its reminder), decided, succeeded: each delivered once, in the documented bodies; a dead receiver is a warning', () =>
    withStack('notify-ok', async (stack) => {
      const handle = await startUpgrade(env.client, stack.input({ gates: ['before-gateways'], soakMs: 0 }), { taskQueue: queue });
      const id = handle.workflowId;
      await waitForGate(env.client, id, 'before-gateways');
      // Long enough for at least one reminder (every 2 s).
      await waitUntil(env.client, id, 'a reminder', () => json.got.some((r) => r.body.event === 'gate.reminder' && events([r], id).length > 0));
      await decide(env.client, id, 'approve', { by: 'alice', comment: 'CHG-1234' });
      const done = await handle.result();
      await keepHistory(handle, 'notify-succeeded', env.client);
      assert.equal(done.outcome, 'succeeded', 'a receiver that is down does not fail the upgrade');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0');

      // The generic JSON body, as docs/notifications.md documents it.
      const mine = events(json.got, id);
      const waiting = mine.find((r) => r.body.event === 'gate.waiting')!.body as Record<string, any>;
      assert.equal(waiting.schema, 'tyk-upgrade.notification/v1');
      assert.equal(waiting.upgrade.stack, stack.name);
      assert.equal(waiting.upgrade.webUi, `${process.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${id}/${handle.firstExecutionRunId}/history`);
      assert.equal(waiting.gate.gate, 'before-gateways');
      assert.match(waiting.commands.approve, new RegExp(`^tyk-upgrade approve ${id} --gate before-gateways --by `));
      assert.match(waiting.commands.reject, new RegExp(`^tyk-upgrade reject ${id} --gate before-gateways`));
      const decided = mine.find((r) => r.body.event === 'gate.decided')!.body as Record<string, any>;
      assert.deepEqual([decided.gate.state, decided.gate.by, decided.gate.comment], ['approved', 'alice', 'CHG-1234']);
      assert.equal(mine.at(-1)!.body.event, 'upgrade.succeeded', 'the outcome is the last word');
      const ids = mine.map((r) => r.body.id);
      assert.equal(new Set(ids).size, ids.length, 'each event once');
      assert.ok(mine.filter((r) => r.body.event === 'gate.reminder').length >= 1);

      // Slack-compatible text, each event once though every first attempt got a 500.
      const chat = events(slack.got, id);
      const delivered = chat.filter((r) => r.answered === 200);
      assert.deepEqual(
        delivered.map((r) => (r.body.text as string).split('\n')[0]).length,
        3,
        `gate.waiting, gate.decided and upgrade.succeeded once each: ${delivered.map((r) => r.body.text).join(' | ')}`,
      );
      assert.equal(chat.length, 6, 'each one failed once, then was retried');
      assert.match(delivered[0].body.text as string, new RegExp(`<${process.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${id}/[^|]+\\|`));
      assert.match(delivered[0].body.text as string, new RegExp(`tyk-upgrade approve ${id} --gate before-gateways`));

      // What the run recorded: names only; the dead receiver as a warning.
      const pager = done.notifications?.find((n) => n.event === 'upgrade.succeeded')?.failed.find((f) => f.webhook === 'pager');
      assert.ok(pager, 'the failed delivery is recorded');
      assert.match(pager.error, /ECONNREFUSED|connection refused/);
      assert.ok(done.errors.some((e) => /warning: notification upgrade\.succeeded not delivered to webhook pager/.test(e)));
      assert.deepEqual(done.notifications?.find((n) => n.event === 'gate.decided')?.delivered.sort(), ['audit', 'chat']);

      // The URLs and their tokens: nowhere a person or Temporal keeps.
      const runs = await upgradeHistories(env.client, id);
      assert.match(historyText(runs[0].history), /gate\.waiting/, 'the history is decoded text (the check below could not fail otherwise)');
      assert.ok(runs.length > 1, 'the batch children are searched too');
      for (const r of runs) noUrlIn(historyText(r.history), `the workflow history of ${r.workflowId}`);
      for (const args of [
        ['status', id],
        ['status', id, '--json'],
        ['report', id],
      ]) {
        const r = await runCli(args);
        assert.equal(r.code, 0, r.stderr);
        outputs.push(r.stdout + r.stderr);
        noUrlIn(r.stdout + r.stderr, `tyk-upgrade ${args.join(' ')}`);
      }
      assert.match(outputs.at(-1)!, /pager/, 'the report lists the notifications');
      noUrlIn(worker.output(), "the worker's log");
      assert.match(worker.output(), /notifications: 3 webhooks/);
    }));

  it('a pause and a rollback are announced; the upgrade is not held up by the receivers', () =>
    withStack('notify-pause', async (stack) => {
      const handle = await startUpgrade(
        env.client,
        stack.input({ gates: [], gatewayRepository: FAULTY_REPO('exit-at-start'), healthTimeoutMs: 8_000, soakMs: 0, onFailure: 'pause' }),
        { taskQueue: queue },
      );
      const id = handle.workflowId;
      await waitUntil(env.client, id, 'the pause', (s) => s.pause?.state === 'waiting');
      await waitUntil(env.client, id, 'the paused notification', () => events(json.got, id).some((r) => r.body.event === 'upgrade.paused'));
      const paused = events(json.got, id).find((r) => r.body.event === 'upgrade.paused')!.body as Record<string, any>;
      assert.deepEqual(
        [paused.commands.retry, paused.commands.continue, paused.commands.rollback],
        ['retry', 'continue', 'rollback'].map((c) => `tyk-upgrade resume ${id} ${c}`),
      );
      await resolvePause(env.client, id, { choice: 'rollback', by: 'bob' });
      const f = await failureOf(handle.result());
      assert.equal(f.status.outcome, 'rolled-back');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');
      const last = events(json.got, id).at(-1)!.body;
      assert.equal(last.event, 'upgrade.rolled-back');
      assert.match(String(last.reason), /bob chose to roll back/);
      for (const r of await upgradeHistories(env.client, id)) noUrlIn(historyText(r.history), `the workflow history of ${r.workflowId}`);
      noUrlIn(worker.output(), "the worker's log");
    }));
});
