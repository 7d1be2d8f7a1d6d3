// Notifications, worker side: the documented bodies reach real HTTP receivers on 127.0.0.1; retries, the deadline
// and the events filter; config errors; and the webhook URL (with its token) and header values appear in no
// result, error, message, workflow history or worker log line. The workflow side is tested with the upgrades.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingHttpHeaders } from 'node:http';
import { createServer as createTcpServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, Worker, type LogEntry } from '@temporalio/worker';
import { createNotifyActivity } from '../src/activities/notify';
import {
  describeNotifyConfig,
  loadNotifyConfig,
  NotifyConfigError,
  parseNotifyConfig,
  webhookWants,
  type NotifyConfig,
  type WebhookConfig,
} from '../src/notify/config';
import { jsonBody, SCHEMA, slackBody, type NotificationBody } from '../src/notify/format';
import { sendNotification } from '../src/notify/send';
import { NOTIFY_EVENTS, type NotifyEventName, type NotifyRequest } from '../src/shared/types';
import { runCli, spawnCli } from './support/cli';
import { historyText } from './support/history';

// The worker's log, captured: installed before anything creates the runtime.
const logLines: string[] = [];
Runtime.install({ logger: new DefaultLogger('INFO', (e: LogEntry) => logLines.push(`${e.level} ${e.message} ${JSON.stringify(e.meta ?? {})}`)) });

const TOKEN = `tok${randomBytes(12).toString('hex')}`;
const HEADER_SECRET = `Bearer hdr${randomBytes(12).toString('hex')}`;
const UI = 'http://127.0.0.1:8233';
const dir = mkdtempSync(join(process.env.TYK_UPGRADE_TEST_DIR ?? tmpdir(), 'notify-'));

interface Seen {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
}

interface Receiver {
  url: string;
  seen: Seen[];
  close(): Promise<void>;
}

/** A webhook receiver on 127.0.0.1; `answer` decides each reply (status, body), by request number from 1. */
async function receiver(answer: (n: number) => { status: number; body?: string } | 'hang' = () => ({ status: 200, body: 'ok' })): Promise<Receiver> {
  const seen: Seen[] = [];
  const server = createHttpServer((req, res) => {
    let body = '';
    req.on('data', (d) => (body += d));
    req.on('end', () => {
      seen.push({ path: req.url ?? '', headers: req.headers, body });
      const a = answer(seen.length);
      if (a === 'hang') return; // never answers
      res.writeHead(a.status, { 'content-type': 'text/plain' }).end(a.body ?? '');
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hooks/${TOKEN}?token=${TOKEN}`,
    seen,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const s = createTcpServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

const hook = (name: string, url: string, extra: Partial<WebhookConfig> = {}): WebhookConfig => ({ name, url, format: 'json', headers: {}, ...extra });

function request(event: NotifyEventName, extra: Partial<NotifyRequest> = {}): NotifyRequest {
  const base: NotifyRequest = {
    event,
    id: `tyk-upgrade-prod/run-1/${NOTIFY_EVENTS.indexOf(event)}`,
    at: '2026-11-26T12:10:00.000Z',
    workflowId: 'tyk-upgrade-prod',
    runId: 'run-1',
    namespace: 'default',
    stack: 'prod',
    gatewayVersion: 'v5.3.0',
    pumpVersion: 'v1.10.0',
    stage: 'before-gateways',
    outcome: 'running',
    summary: `prod: ${event}`,
  };
  if (event.startsWith('gate.')) {
    base.gate = {
      gate: 'before-gateways',
      state: event === 'gate.decided' ? 'approved' : 'waiting',
      waitingSince: '2026-11-26T12:00:00.000Z',
      required: 2,
      approvals:
        event === 'gate.decided'
          ? [
              { by: 'alice', at: '2026-11-26T12:05:00.000Z' },
              { by: 'bob', at: '2026-11-26T12:09:00.000Z', comment: 'CHG-1234' },
            ]
          : [{ by: 'alice', at: '2026-11-26T12:05:00.000Z' }],
      ...(event === 'gate.decided' ? { by: 'alice, bob', at: '2026-11-26T12:09:00.000Z', comment: 'CHG-1234' } : {}),
    };
  }
  if (event === 'upgrade.paused')
    base.pause = { number: 1, state: 'waiting', since: '2026-11-26T12:00:00.000Z', reason: '2 of 4 gateways failed (budget 1)', failed: ['gw-2', 'gw-3'] };
  if (event === 'upgrade.waiting-for-window')
    base.pause = {
      number: 1,
      kind: 'window',
      opensAt: '2026-11-28T01:00:00.000Z',
      state: 'waiting',
      since: '2026-11-26T12:00:00.000Z',
      reason: 'the window Sat 02:00-04:00 Europe/Berlin is closed',
      failed: [],
    };
  if (/^upgrade\.(failed|rolled-back|rejected|timed-out|cancelled|partial|succeeded)$/.test(event)) {
    base.outcome = event.slice('upgrade.'.length) as NotifyRequest['outcome'];
    base.reason = `ended: ${event}`;
  }
  return { ...base, ...extra };
}

/** The commands each event documents (docs/notifications.md). */
const COMMANDS: Partial<Record<NotifyEventName, string[]>> = {
  'gate.waiting': ['approve', 'reject', 'rejectAndRollBack', 'status'],
  'gate.reminder': ['approve', 'reject', 'rejectAndRollBack', 'status'],
  'upgrade.paused': ['retry', 'continue', 'rollback', 'status'],
  'upgrade.waiting-for-window': ['continue', 'rollback', 'status'],
};

function assertNoSecret(text: string, what: string, url?: string): void {
  assert.ok(!text.includes(TOKEN), `${what} holds the webhook token: ${text}`);
  assert.ok(!text.includes(HEADER_SECRET) && !text.includes(HEADER_SECRET.slice(7)), `${what} holds a header value: ${text}`);
  if (url) {
    assert.ok(!text.includes(url), `${what} holds the URL: ${text}`);
    assert.ok(!text.includes(new URL(url).host), `${what} holds the webhook's host: ${text}`);
  }
}

/** A history as text with every payload decoded: its bytes, JSON-encoded, would hide whatever they hold. */
describe('notification bodies', () => {
  it('every event reaches a JSON receiver with the documented body, and a Slack receiver with text, link and commands', async () => {
    const json = await receiver();
    const slack = await receiver();
    try {
      const webhooks = [hook('audit', json.url), hook('chat', slack.url, { format: 'slack' })];
      for (const event of NOTIFY_EVENTS) {
        const req = request(event);
        const result = await sendNotification(webhooks, req, { webUi: UI, deadlineMs: 10_000 });
        assert.deepEqual(
          result,
          {
            delivered: [
              { webhook: 'audit', attempts: 1 },
              { webhook: 'chat', attempts: 1 },
            ],
            failed: [],
          },
          event,
        );
      }
      assert.equal(json.seen.length, NOTIFY_EVENTS.length);
      assert.equal(slack.seen.length, NOTIFY_EVENTS.length);
      const link = `${UI}/namespaces/default/workflows/tyk-upgrade-prod/run-1/history`;
      NOTIFY_EVENTS.forEach((event, i) => {
        const seen = json.seen[i];
        assert.equal(seen.headers['content-type'], 'application/json');
        const b = JSON.parse(seen.body) as NotificationBody;
        assert.equal(b.schema, SCHEMA);
        assert.equal(b.event, event);
        assert.equal(b.id, request(event).id);
        assert.equal(b.at, '2026-11-26T12:10:00.000Z');
        assert.equal(b.summary, `prod: ${event}`);
        assert.deepEqual(b.upgrade, {
          workflowId: 'tyk-upgrade-prod',
          runId: 'run-1',
          namespace: 'default',
          stack: 'prod',
          gatewayVersion: 'v5.3.0',
          pumpVersion: 'v1.10.0',
          stage: 'before-gateways',
          outcome: request(event).outcome,
          webUi: link,
        });
        assert.deepEqual(Object.keys(b.commands), COMMANDS[event] ?? ['status'], event);
        assert.equal(b.commands.status, 'tyk-upgrade status tyk-upgrade-prod');
        assert.match(b.text, new RegExp(`^prod: ${event.replace('.', '\\.')}\n`));
        assert.ok(b.text.includes(link), `${event}: text has the link`);
        if (event.startsWith('gate.')) assert.equal(b.gate?.gate, 'before-gateways');
        else assert.equal(b.gate, undefined);
        if (request(event).reason) assert.equal(b.reason, `ended: ${event}`);

        const s = JSON.parse(slack.seen[i].body) as Record<string, unknown>;
        assert.deepEqual(Object.keys(s), ['text'], 'a Slack incoming-webhook body is {"text": …}');
        const text = s.text as string;
        assert.ok(text.startsWith(`*prod: ${event}*\n`), text);
        assert.ok(text.includes(`<${link}|Open in the Temporal Web UI>`), text);
        for (const cmd of Object.values(b.commands))
          assert.ok(text.includes(`\`${cmd.replace(/</g, '&lt;').replace(/>/g, '&gt;')}\``), `${event}: ${cmd} in backticks`);
      });
      // The exact commands a person pastes.
      const waiting = JSON.parse(json.seen[0].body) as NotificationBody;
      assert.deepEqual(waiting.commands, {
        approve: 'tyk-upgrade approve tyk-upgrade-prod --gate before-gateways --by <your-name>',
        reject: 'tyk-upgrade reject tyk-upgrade-prod --gate before-gateways --reason "..."',
        rejectAndRollBack: 'tyk-upgrade reject tyk-upgrade-prod --gate before-gateways --reason "..." --rollback',
        status: 'tyk-upgrade status tyk-upgrade-prod',
      });
      const paused = JSON.parse(json.seen[NOTIFY_EVENTS.indexOf('upgrade.paused')].body) as NotificationBody;
      assert.equal(paused.commands.retry, 'tyk-upgrade resume tyk-upgrade-prod retry');
      assert.match(paused.text, /Failed: gw-2, gw-3\./);
      const window = JSON.parse(json.seen[NOTIFY_EVENTS.indexOf('upgrade.waiting-for-window')].body) as NotificationBody;
      assert.equal(window.commands.continue, 'tyk-upgrade resume tyk-upgrade-prod continue');
      assert.match(window.text, /next window opens 2026-11-28T01:00:00.000Z/);
    } finally {
      await json.close();
      await slack.close();
    }
  });

  it('four-eyes shows "1 of 2 approvals (alice)"; a decided gate says who and the comment; another namespace is in every command', () => {
    const waiting = jsonBody(request('gate.waiting', { namespace: 'tyk-prod' }), UI);
    assert.match(waiting.text, /1 of 2 approvals \(alice\)\./);
    assert.match(waiting.text, /waiting since 2026-11-26T12:00:00.000Z \(10 min\)/);
    assert.equal(waiting.upgrade.webUi, `${UI}/namespaces/tyk-prod/workflows/tyk-upgrade-prod/run-1/history`);
    for (const cmd of Object.values(waiting.commands)) assert.match(cmd, / --namespace tyk-prod$/);
    const decided = slackBody(request('gate.decided'), UI).text;
    assert.match(decided, /Gate before-gateways: approved by alice, bob at 2026-11-26T12:09:00.000Z \("CHG-1234"\)\./);
    assert.match(decided, /2 of 2 approvals \(alice, bob\)\./);
    // One approver needed: no count to show.
    assert.doesNotMatch(jsonBody(request('gate.waiting', { gate: { gate: 'before-pump', state: 'waiting' } }), UI).text, /approvals/);
    // No Web UI address: no link, null in the body.
    const noUi = jsonBody(request('upgrade.failed'), undefined);
    assert.equal(noUi.upgrade.webUi, null);
    assert.doesNotMatch(noUi.text, /Web UI/);
    // What people typed is escaped for Slack (no injected links or mentions).
    const text = slackBody(request('upgrade.failed', { reason: 'see <https://evil.example|here> & <!channel>' }), UI).text;
    assert.ok(text.includes('see &lt;https://evil.example|here&gt; &amp; &lt;!channel&gt;'), text);
  });
});

describe('delivery', () => {
  it('a receiver that answers 500 then 200 gets the event once, on the second attempt', async () => {
    const r = await receiver((n) => (n === 1 ? { status: 500, body: 'oops' } : { status: 200 }));
    try {
      const delivered: string[] = [];
      const result = await sendNotification([hook('audit', r.url)], request('gate.waiting'), { deadlineMs: 10_000, onDelivered: (w) => delivered.push(w) });
      assert.deepEqual(result, { delivered: [{ webhook: 'audit', attempts: 2 }], failed: [] });
      assert.deepEqual(delivered, ['audit']);
      assert.equal(r.seen.length, 2);
      const ids = r.seen.map((s) => (JSON.parse(s.body) as NotificationBody).id);
      assert.deepEqual(ids, [request('gate.waiting').id, request('gate.waiting').id], 'the same id on the retry, for receivers that deduplicate');
    } finally {
      await r.close();
    }
  });

  it('a receiver that is down gives a failed entry within the deadline, naming neither the URL, its token nor a header value', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/services/${TOKEN}?key=${TOKEN}`;
    const started = Date.now();
    const result = await sendNotification([hook('ops', url, { headers: { Authorization: HEADER_SECRET } })], request('upgrade.failed'), { deadlineMs: 3000 });
    const took = Date.now() - started;
    assert.deepEqual(result.delivered, []);
    assert.equal(result.failed.length, 1);
    const f = result.failed[0];
    assert.equal(f.webhook, 'ops');
    assert.ok(f.attempts >= 2, `retried: ${f.attempts} attempts`);
    assert.equal(f.error, `connection refused (ECONNREFUSED) after ${f.attempts} attempts`);
    assert.ok(took < 3000 + 1000, `ended within the deadline (took ${took} ms)`);
    assertNoSecret(JSON.stringify(result), 'the result', url);
  });

  it('a receiver that never answers: each attempt ends within what is left of the deadline ("no answer within …")', async () => {
    const r = await receiver(() => 'hang');
    try {
      const started = Date.now();
      const result = await sendNotification([hook('slow', r.url)], request('gate.waiting'), { deadlineMs: 1500 });
      const took = Date.now() - started;
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0].error, 'no answer within 1.5 s after 1 attempt');
      assert.ok(took < 1500 + 1000, `took ${took} ms`);
      assertNoSecret(JSON.stringify(result), 'the result', r.url);
    } finally {
      await r.close();
    }
  });

  it('404 is not retried; Slack’s one-word reason is kept; 429 is retried', async () => {
    const gone = await receiver(() => ({ status: 404, body: 'no_service' }));
    const busy = await receiver((n) => (n < 3 ? { status: 429 } : { status: 200 }));
    try {
      const result = await sendNotification([hook('gone', gone.url), hook('busy', busy.url)], request('upgrade.succeeded'), { deadlineMs: 10_000 });
      assert.deepEqual(result, {
        delivered: [{ webhook: 'busy', attempts: 3 }],
        failed: [{ webhook: 'gone', attempts: 1, error: 'HTTP 404 no_service after 1 attempt' }],
      });
      assert.equal(gone.seen.length, 1);
      assert.equal(busy.seen.length, 3);
    } finally {
      await gone.close();
      await busy.close();
    }
  });

  it('a receiver that keeps failing is reported with its status code after several attempts; a body that is not one word is left out', async () => {
    const r = await receiver(() => ({ status: 503, body: `upstream https://127.0.0.1/hooks/${TOKEN} down` }));
    try {
      const result = await sendNotification([hook('flaky', r.url)], request('upgrade.failed'), { deadlineMs: 2500 });
      const f = result.failed[0];
      assert.ok(f.attempts >= 3, `${f.attempts} attempts`);
      assert.equal(r.seen.length, f.attempts);
      assert.equal(f.error, `HTTP 503 after ${f.attempts} attempts`);
    } finally {
      await r.close();
    }
  });

  it('each webhook gets only the events it asked for, with its own headers; webhooks already delivered are not sent again', async () => {
    const gates = await receiver();
    const failures = await receiver();
    try {
      const webhooks = [
        hook('gates', gates.url, { format: 'slack', events: ['gate.*'], headers: { Authorization: HEADER_SECRET, 'X-Team': 'ops' } }),
        hook('failures', failures.url, { events: ['upgrade.failed', 'upgrade.rolled-back'] }),
      ];
      assert.deepEqual(await sendNotification(webhooks, request('gate.waiting'), { deadlineMs: 5000 }), {
        delivered: [{ webhook: 'gates', attempts: 1 }],
        failed: [],
      });
      assert.deepEqual(await sendNotification(webhooks, request('upgrade.rolled-back'), { deadlineMs: 5000 }), {
        delivered: [{ webhook: 'failures', attempts: 1 }],
        failed: [],
      });
      assert.deepEqual(await sendNotification(webhooks, request('upgrade.succeeded'), { deadlineMs: 5000 }), { delivered: [], failed: [] });
      assert.equal(gates.seen.length, 1);
      assert.equal(gates.seen[0].headers.authorization, HEADER_SECRET);
      assert.equal(gates.seen[0].headers['x-team'], 'ops');
      assert.equal(failures.seen.length, 1);
      assert.equal(failures.seen[0].headers.authorization, undefined, 'one webhook’s headers never go to another');
      assert.equal((JSON.parse(failures.seen[0].body) as NotificationBody).event, 'upgrade.rolled-back');

      // A retried activity: "gates" already has gate.reminder, so only the others are sent to.
      const all = [...webhooks, hook('all', failures.url)];
      const again = await sendNotification(all, request('gate.reminder'), { deadlineMs: 5000, alreadyDelivered: new Map([['gates', 2]]) });
      assert.deepEqual(again, {
        delivered: [
          { webhook: 'gates', attempts: 2 },
          { webhook: 'all', attempts: 1 },
        ],
        failed: [],
      });
      assert.equal(gates.seen.length, 1, 'not sent twice');
      assert.equal(failures.seen.length, 2);
    } finally {
      await gates.close();
      await failures.close();
    }
  });
});

describe('config', () => {
  const URL_ = `https://chat.example.net/services/T000/B000/${TOKEN}`;

  function problem(text: string): string {
    try {
      parseNotifyConfig(text, 'notify.yaml', {});
    } catch (err) {
      assert.ok(err instanceof NotifyConfigError, String(err));
      assertNoSecret(err.message, 'the config error', URL_);
      return err.message;
    }
    assert.fail(`accepted:\n${text}`);
  }

  it('reads a full file: formats, filters, headers, reminder, deadline, Web UI; the start line names no URL', () => {
    const c = parseNotifyConfig(
      [
        'webUi: https://temporal.example.com/',
        'reminderEvery: 30m',
        'deadline: 45s',
        'webhooks:',
        '  - name: ops-slack',
        `    url: ${URL_}`,
        '    format: slack',
        '    events: ["gate.*", "upgrade.failed", "upgrade.rolled-back"]',
        `    headers: { Authorization: "${HEADER_SECRET}" }`,
        '  - name: audit',
        `    url: http://127.0.0.1:9/audit?token=${TOKEN}`,
      ].join('\n'),
      'notify.yaml',
      {},
    );
    assert.equal(c.webUi, 'https://temporal.example.com');
    assert.equal(c.reminderMs, 30 * 60_000);
    assert.equal(c.deadlineMs, 45_000);
    assert.deepEqual(
      c.webhooks.map((w) => [w.name, w.format, w.events, w.headers]),
      [
        ['ops-slack', 'slack', ['gate.*', 'upgrade.failed', 'upgrade.rolled-back'], { Authorization: HEADER_SECRET }],
        ['audit', 'json', undefined, {}],
      ],
    );
    const line = describeNotifyConfig(c);
    assert.equal(
      line,
      'notifications: 2 webhooks (ops-slack: slack, gate.* upgrade.failed upgrade.rolled-back; audit: json, all events); reminders every 30 min; from notify.yaml',
    );
    assertNoSecret(line, 'the start line', URL_);
    assert.ok(
      webhookWants(c.webhooks[0], 'gate.reminder') && !webhookWants(c.webhooks[0], 'upgrade.succeeded') && webhookWants(c.webhooks[1], 'upgrade.paused'),
    );
    // JSON is accepted too; defaults: 30 s deadline, no reminders, TEMPORAL_UI_URL for links.
    const j = parseNotifyConfig(JSON.stringify({ webhooks: [{ name: 'a', url: URL_ }] }), 'n.json', { TEMPORAL_UI_URL: 'http://127.0.0.1:8233' });
    assert.deepEqual([j.deadlineMs, j.reminderMs, j.webUi], [30_000, undefined, 'http://127.0.0.1:8233']);
  });

  it('refuses a missing url, a bad format, an unknown event, a bad duration, a duplicate name and an unknown key, naming the field and never the URL', () => {
    assert.match(problem('webhooks:\n  - name: ops\n    format: slack'), /notify\.yaml: webhooks\[0\]\.url: is missing; it must be the webhook URL/);
    assert.match(problem(`webhooks:\n  - name: ops\n    url: ${URL_}\n    format: teams`), /webhooks\[0\]\.format: must be json or slack/);
    const unknown = problem(`webhooks:\n  - name: ops\n    url: ${URL_}\n    events: [gate.waiting, gate.opened]`);
    assert.match(unknown, /webhooks\[0\]\.events\[1\]: "gate\.opened" is not an event; valid: gate\.waiting, gate\.reminder, gate\.decided, upgrade\.paused/);
    assert.match(problem(`reminderEvery: 30\nwebhooks:\n  - name: ops\n    url: ${URL_}`), /reminderEvery: 30 has no unit; write it like 30s or 30m/);
    assert.match(problem(`deadline: soon\nwebhooks:\n  - name: ops\n    url: ${URL_}`), /deadline: "soon" is not a duration/);
    assert.match(problem(`webhooks:\n  - name: ops\n    url: ${URL_}\n  - name: ops\n    url: ${URL_}`), /webhooks\[1\]\.name: "ops" is used twice/);
    assert.match(
      problem(`webhooks:\n  - name: ops\n    url: ${URL_}\n    channel: "#ops"`),
      /webhooks\[0\]\.channel: unknown key; allowed here: name, url, format, events, headers/,
    );
    assert.match(problem(`webhooks:\n  - name: ops\n    url: ftp://h/${TOKEN}`), /webhooks\[0\]\.url: must use http:\/\/ or https:\/\//);
    assert.match(problem(`webhooks:\n  - name: ops\n    url: not a url ${TOKEN}`), /webhooks\[0\]\.url: is not a URL/);
    assert.match(problem(`webhooks:\n  - name: ops\n    url: https://user:${TOKEN}@h/x`), /webhooks\[0\]\.url: must not carry credentials/);
    assert.match(
      problem(`webhooks:\n  - name: ops\n    url: ${URL_}\n    headers: { Authorization: 3 }`),
      /webhooks\[0\]\.headers\.Authorization: must be a one-line string/,
    );
    assert.match(problem(`webhooks:\n  - name: ops\n    url: ${URL_}\n    events: []`), /webhooks\[0\]\.events: is empty/);
    // Broken YAML: the parser's own message would quote the line (the URL); only the line number is given.
    assert.match(problem(`webhooks:\n  - name: ops\n    url: "${URL_}\n`), /notify\.yaml is not valid YAML or JSON at line \d/);
  });

  it('the environment alternative: one webhook "default"; both a file and a URL, or a bad value, are refused without the URL', () => {
    const { config } = loadNotifyConfig(undefined, { TYK_UPGRADE_WEBHOOK_URL: URL_, TYK_UPGRADE_WEBHOOK_FORMAT: 'slack' });
    assert.deepEqual(config?.webhooks, [{ name: 'default', url: URL_, format: 'slack', headers: {} }]);
    assert.equal(loadNotifyConfig(undefined, {}).config, undefined, 'nothing configured: no notifications');
    const refused = (env: Record<string, string>, file?: string) => {
      try {
        loadNotifyConfig(file, env);
      } catch (err) {
        assertNoSecret((err as Error).message, 'the error', URL_);
        return (err as Error).message;
      }
      return assert.fail('accepted');
    };
    assert.match(refused({ TYK_UPGRADE_WEBHOOK_URL: URL_, TYK_UPGRADE_WEBHOOK_FORMAT: 'xml' }), /TYK_UPGRADE_WEBHOOK_FORMAT must be json or slack/);
    assert.match(refused({ TYK_UPGRADE_WEBHOOK_URL: `gopher://x/${TOKEN}` }), /TYK_UPGRADE_WEBHOOK_URL must use http/);
    assert.match(refused({ TYK_UPGRADE_WEBHOOK_URL: URL_ }, join(dir, 'x.yaml')), /--notify and TYK_UPGRADE_WEBHOOK_URL are both set/);
    assert.match(refused({ TYK_UPGRADE_NOTIFY_FILE: join(dir, 'none.yaml') }), /none\.yaml: it does not exist/);
    // A file others can read is accepted, with a warning to chmod it.
    const open = join(dir, 'open.yaml');
    writeFileSync(open, `webhooks:\n  - name: ops\n    url: ${URL_}\n`);
    chmodSync(open, 0o644);
    assert.match(loadNotifyConfig(open, {}).warnings.join('\n'), /readable by other users \(mode 644\).*chmod 600/);
    chmodSync(open, 0o600);
    assert.deepEqual(loadNotifyConfig(open, {}).warnings, []);
  });
});

describe('the notify activity on a real Temporal server', () => {
  let nativeConnection: NativeConnection;
  let connection: Connection;
  let client: Client;

  before(async () => {
    const address = process.env.TEMPORAL_ADDRESS;
    assert.ok(address, 'TEMPORAL_ADDRESS is set by the test runner (npm test)');
    nativeConnection = await NativeConnection.connect({ address });
    connection = await Connection.connect({ address });
    client = new Client({ connection, namespace: 'default' });
  });
  after(async () => {
    await connection?.close();
    await nativeConnection?.close();
  });

  const createWorker = (config: NotifyConfig | undefined, taskQueue: string) =>
    Worker.create({
      connection: nativeConnection,
      namespace: 'default',
      taskQueue,
      workflowsPath: require.resolve('./workflows/notify-call'),
      activities: createNotifyActivity(config),
    });

  async function withWorker<T>(config: NotifyConfig | undefined, fn: (taskQueue: string) => Promise<T>): Promise<T> {
    const taskQueue = `notify-${randomBytes(4).toString('hex')}`;
    return (await createWorker(config, taskQueue)).runUntil(fn(taskQueue));
  }

  it('delivers, reports a dead webhook as failed without failing, and keeps the URL, token and headers out of history and log', async () => {
    const good = await receiver();
    const down = `http://127.0.0.1:${await closedPort()}/hooks/${TOKEN}`;
    const config: NotifyConfig = {
      source: 'test',
      webUi: UI,
      reminderMs: 60_000,
      deadlineMs: 2000,
      webhooks: [
        hook('chat', good.url, { format: 'slack', events: ['gate.*', 'upgrade.failed'], headers: { Authorization: HEADER_SECRET } }),
        hook('down', down, { events: ['gate.*'] }),
      ],
    };
    try {
      const workflowId = `notify-test-${randomBytes(4).toString('hex')}`;
      const result = await withWorker(config, (taskQueue) =>
        client.workflow.execute('notifyCall', { taskQueue, workflowId, args: [request('gate.waiting', { workflowId })] }),
      );
      assert.deepEqual(result.delivered, [{ webhook: 'chat', attempts: 1 }]);
      assert.equal(result.failed.length, 1);
      assert.equal(result.failed[0].webhook, 'down');
      assert.match(result.failed[0].error, /^connection refused \(ECONNREFUSED\) after \d+ attempts$/);
      assert.equal(result.reminderMs, 60_000, 'a webhook takes gate.reminder, so the interval is passed on');
      assert.equal(good.seen.length, 1);
      assert.equal(good.seen[0].headers.authorization, HEADER_SECRET);

      const history = historyText(await client.workflow.getHandle(workflowId).fetchHistory());
      assert.ok(history.includes('ECONNREFUSED'), 'the history holds the result');
      assertNoSecret(history, 'the workflow history', good.url);
      assertNoSecret(history, 'the workflow history', down);
      const log = logLines.join('\n');
      assert.match(log, /notification gate\.waiting delivered to webhook chat \(1 attempt\)/);
      assert.match(log, /notification gate\.waiting not delivered to webhook down: connection refused/);
      assertNoSecret(log, "the worker's log", good.url);
      assertNoSecret(log, "the worker's log", down);

      // No webhook wants upgrade.succeeded: nothing sent, at once.
      const none = await withWorker(config, (taskQueue) =>
        client.workflow.execute('notifyCall', { taskQueue, workflowId: `${workflowId}-b`, args: [request('upgrade.succeeded')] }),
      );
      assert.deepEqual(none, { delivered: [], failed: [], reminderMs: 60_000 });
      assert.equal(good.seen.length, 1, 'nothing more was sent');
    } finally {
      await good.close();
    }
  });

  it('a worker that stops mid-send: the retry on another worker sends only to the webhooks that did not get the event', async () => {
    const fast = await receiver();
    // The first request hangs until the first worker is gone; later ones are answered.
    const slow = await receiver((n) => (n === 1 ? 'hang' : { status: 200 }));
    const config: NotifyConfig = { source: 'test', deadlineMs: 60_000, webhooks: [hook('fast', fast.url), hook('slow', slow.url)] };
    const taskQueue = `notify-${randomBytes(4).toString('hex')}`;
    try {
      const first = await createWorker(config, taskQueue);
      const firstRun = first.run();
      const handle = await client.workflow.start('notifyCall', {
        taskQueue,
        workflowId: `notify-retry-${randomBytes(4).toString('hex')}`,
        args: [request('upgrade.failed')],
      });
      const until = Date.now() + 30_000;
      while (!(fast.seen.length === 1 && slow.seen.length === 1) && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      assert.equal(fast.seen.length, 1);
      // Heartbeats are throttled: give the one that says "fast has it" time to reach the server.
      await new Promise((r) => setTimeout(r, 3000));
      first.shutdown();
      await firstRun;
      const second = await createWorker(config, taskQueue);
      const result = await second.runUntil(handle.result());
      assert.deepEqual(result, {
        delivered: [
          { webhook: 'fast', attempts: 1 },
          { webhook: 'slow', attempts: 1 },
        ],
        failed: [],
      });
      assert.equal(fast.seen.length, 1, 'the webhook that had the event did not get it again');
      assert.equal(slow.seen.length, 2);
      const history = await handle.fetchHistory();
      const started = history.events?.find((e) => e.activityTaskStartedEventAttributes)?.activityTaskStartedEventAttributes;
      assert.ok((started?.attempt ?? 0) >= 2, `the activity ran again (attempt ${started?.attempt})`);
    } finally {
      await fast.close();
      await slow.close();
    }
  });

  it('a worker without notifications answers at once with nothing sent and no reminders', async () => {
    const result = await withWorker(undefined, (taskQueue) =>
      client.workflow.execute('notifyCall', { taskQueue, workflowId: `notify-none-${randomBytes(4).toString('hex')}`, args: [request('gate.waiting')] }),
    );
    assert.deepEqual(result, { delivered: [], failed: [] });
  });
});

describe('tyk-upgrade worker --notify', () => {
  const URL_ = `https://hooks.example.com/services/${TOKEN}`;

  it('a bad file: exit 2, the message names the file and the field, never the URL, and no worker starts', async () => {
    const bad = join(dir, 'bad-notify.yaml');
    writeFileSync(bad, `webhooks:\n  - name: ops\n    url: ${URL_}\n    format: teams\n    headers: { Authorization: "${HEADER_SECRET}" }\n`, { mode: 0o600 });
    const r = await runCli(['worker', '--task-queue', `notify-${randomBytes(4).toString('hex')}`, '--notify', bad], { timeoutMs: 60_000 });
    assert.equal(r.code, 2, r.stderr);
    assert.match(r.stderr, new RegExp(`${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: webhooks\\[0\\]\\.format: must be json or slack`));
    assertNoSecret(r.stdout + r.stderr, 'the CLI output', URL_);
    assert.doesNotMatch(r.stderr, /polling/);

    const env = await runCli(['worker', '--task-queue', `notify-${randomBytes(4).toString('hex')}`], {
      env: { TYK_UPGRADE_WEBHOOK_URL: `ftp://h/${TOKEN}` },
      timeoutMs: 60_000,
    });
    assert.equal(env.code, 2, env.stderr);
    assert.match(env.stderr, /TYK_UPGRADE_WEBHOOK_URL must use http/);
    assertNoSecret(env.stdout + env.stderr, 'the CLI output', URL_);
  });

  it("a good file: a fleet host's worker starts, says which webhooks (never the URL), and serves notify on the main queue", async () => {
    const rx = await receiver();
    const good = join(dir, 'good-notify.yaml');
    writeFileSync(
      good,
      `webhooks:\n  - name: ops-slack\n    url: ${URL_}\n    format: slack\n    events: ["gate.*"]\n    headers: { Authorization: "${HEADER_SECRET}" }\n  - name: audit\n    url: ${rx.url}\n`,
      { mode: 0o600 },
    );
    const mainQueue = `notify-${randomBytes(4).toString('hex')}`;
    const w = spawnCli(['worker', '--host', `h-${randomBytes(3).toString('hex')}`, '--task-queue', mainQueue, '--notify', good, '--log-level', 'INFO']);
    const address = process.env.TEMPORAL_ADDRESS as string;
    const native = await NativeConnection.connect({ address });
    const connection = await Connection.connect({ address });
    try {
      await w.waitFor(/^notifications: /, 90_000);
      assert.match(w.output(), /notifications: 2 webhooks \(ops-slack: slack, gate\.\*; audit: json, all events\)/);
      // The workflow runs elsewhere; its notify activity goes to the main queue, where only the host's worker serves it.
      const workflowQueue = `notify-wf-${randomBytes(4).toString('hex')}`;
      const worker = await Worker.create({
        connection: native,
        namespace: 'default',
        taskQueue: workflowQueue,
        workflowsPath: require.resolve('./workflows/notify-call'),
      });
      const client = new Client({ connection, namespace: 'default' });
      const result = await worker.runUntil(
        client.workflow.execute('notifyCall', {
          taskQueue: workflowQueue,
          workflowId: `notify-fleet-${randomBytes(4).toString('hex')}`,
          args: [request('upgrade.rolled-back'), mainQueue],
        }),
      );
      assert.deepEqual(result, { delivered: [{ webhook: 'audit', attempts: 1 }], failed: [] });
      assert.equal(rx.seen.length, 1);
      assert.equal((JSON.parse(rx.seen[0].body) as NotificationBody).event, 'upgrade.rolled-back');
      await w.waitFor(/notification upgrade\.rolled-back delivered to webhook audit/, 10_000);
    } finally {
      await w.stop();
      await connection.close();
      await native.close();
      await rx.close();
    }
    assertNoSecret(w.output(), "the worker's output and log", URL_);
    assertNoSecret(w.output(), "the worker's output and log", rx.url);
  });
});
