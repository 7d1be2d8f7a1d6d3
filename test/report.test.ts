// The record of an upgrade for a change ticket: `tyk-upgrade report` (Markdown) and `status --json`, through the
// real CLI against real runs on the real engine. A run that rolls back, then one that succeeds past a four-eyes
// gate; the worker is stopped before the second run's report, which is read from history alone.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { getHello } from '../src/activities/tyk-http';
import { renderReport } from '../src/cli/report';
import type { UpgradeInput, UpgradeStatus } from '../src/shared/types';
import { runCli } from './support/cli';
import { connectTestEnv, FAULTY_REPO, tempDir } from './support/services';
import { testStack } from './support/stack';
import { failureOf, waitForGate } from './support/upgrade';
import { startWorker, type RunningWorker } from './support/worker';

const escapeRegExp = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/** A Markdown table row of the report, cells in order, each cell matched exactly or by a pattern. */
const row = (...cells: (string | RegExp)[]) =>
  new RegExp(`^\\| ${cells.map((c) => (typeof c === 'string' ? escapeRegExp(c) : c.source)).join(' \\| ')} \\|$`, 'm');
const TIME = /\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/;
const DURATION = /\d+ (ms|s)/;

let env: TestWorkflowEnvironment;
let worker: RunningWorker | undefined;
before(async () => {
  env = await connectTestEnv();
  worker = await startWorker(env);
});
after(async () => {
  await worker?.stop();
  await env?.teardown();
});

describe('tyk-upgrade report and status --json', () => {
  it('record a rollback and a four-eyes success: versions, approvers and comments, failure, backup hash, durations, the plan', async () => {
    const stack = await testStack({ prefix: 'report', pump: false });
    try {
      const gw = stack.gateways[0].container;
      const id = `tyk-upgrade-${stack.name}`;
      const secrets = [stack.redisPassword, JSON.parse(readFileSync(join(stack.gateways[0].confDir, 'tyk.conf'), 'utf8')).secret as string];
      const queue = worker!.taskQueue;

      // 1. A target that exits at start: rolled back, the old version back.
      const bad = await startUpgrade(
        env.client,
        stack.input({ gates: ['before-gateways'], gatewayRepository: FAULTY_REPO('exit-at-start'), healthTimeoutMs: 8_000, soakMs: 0, startedBy: 'sam' }),
        { taskQueue: queue },
      );
      await waitForGate(env.client, id, 'before-gateways');
      await decide(env.client, id, 'approve', { by: 'carol', comment: 'CHG-1233' });
      const failure = await failureOf(bad.result());
      assert.equal(failure.status.outcome, 'rolled-back');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0', 'the old version serves again');
      const r1 = await runCli(['report', id]);
      assert.equal(r1.code, 0, r1.stderr);
      assert.match(r1.stdout, new RegExp(`^# Tyk upgrade of stack \`${stack.name}\`: rolled-back$`, 'm'));
      assert.match(r1.stdout, row('Reason', new RegExp(`.*${escapeRegExp(gw)} is not healthy on 5\\.3\\.0.*`)));
      assert.match(
        r1.stdout,
        row('', `\`${gw}\``, 'gateway', '1', '5.2.0', '5.3.0', '5.2.0', 'rolled-back', '', /.*not healthy on 5\.3\.0.*/),
        'before 5.2.0, after 5.2.0 again',
      );
      assert.match(r1.stdout, /^## Failures and rollbacks\n\nFailed instances: 1 \(budget 0\)\./m);
      assert.match(r1.stdout, row(`\`${gw}\``, 'rolled-back', '5.2.0', /.*(exited with code 1|is restarting).*/));
      assert.match(r1.stdout, row('before-gateways', 'carol', TIME, 'CHG-1233'), 'a single approver, with the comment');
      assert.match(r1.stdout, row('1', gw, 'failed', `\`${id}/batch-1\``, ''), 'the batch names its child workflow');
      assert.match(r1.stdout, /^## Notifications\n\nNone sent or recorded for this run\.$/m);

      // 2. Four-eyes at the gate, then a clean upgrade to 5.3.0.
      const plan = stack.input({ gates: ['before-gateways'], approvals: 2, startedBy: 'sam', soakMs: 0 });
      const good = await startUpgrade(env.client, plan, { taskQueue: queue });
      await waitForGate(env.client, id, 'before-gateways');
      await decide(env.client, id, 'approve', { by: 'alice', comment: 'CHG-1234' });
      await decide(env.client, id, 'approve', { by: 'bob' });
      assert.equal((await good.result()).outcome, 'succeeded');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0');
      // A finished upgrade's record needs no worker: it comes from the history.
      const workerBackups = worker!.backupDir;
      await worker!.stop();
      worker = undefined;

      const r2 = await runCli(['report', stack.name]);
      assert.equal(r2.code, 0, r2.stderr);
      const md = r2.stdout;
      assert.match(md, new RegExp(`^# Tyk upgrade of stack \`${stack.name}\`: succeeded$`, 'm'));
      assert.match(md, row('Workflow id', `\`${id}\``));
      assert.match(md, row('Run id', `\`${good.firstExecutionRunId}\``));
      assert.match(md, row('Web UI', `${process.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${id}/${good.firstExecutionRunId}/history`));
      assert.match(md, row('Started by', /sam .*/));
      assert.match(md, row('Outcome', 'succeeded'));
      assert.match(md, row('Duration', DURATION));
      assert.match(
        md,
        row('', `\`${gw}\``, 'gateway', '1', '5.2.0', '5.3.0', '5.3.0', 'upgraded', '1 API, 1 policy: same as before', ''),
        'before 5.2.0, after 5.3.0, serving the same',
      );
      assert.match(md, row('before-gateways', 'approved', TIME, '2 of 2', new RegExp(`approved at ${TIME.source}`)));
      assert.match(md, row('before-gateways', 'alice', TIME, 'CHG-1234'));
      assert.match(md, row('before-gateways', 'bob', TIME, ''));
      assert.match(md, /^- Gates: before-gateways; approvals needed per gate: 2; no approval timeout$/m);
      assert.match(md, /^- Four-eyes: 2 distinct approvers; the starter may approve$/m);
      assert.match(md, /^- Backups: in the worker's own folder \(`worker --backup-dir`\); old containers removed/m);
      for (const stage of ['preflight', 'backup', 'pull', 'before-gateways', 'gateways', 'verify'])
        assert.match(md, row(stage, 'done', TIME, TIME, DURATION), `stage ${stage} with its duration`);
      assert.match(md, row('before-pump', 'skipped', /.*/, /.*/, /.*/));
      assert.match(md, /^- Pauses: none\n- Abort: none$/m);

      // The manifest hash in the record is the hash of the manifest file on disk.
      const json = await runCli(['status', id, '--json']);
      assert.equal(json.code, 0, json.stderr);
      const record = JSON.parse(json.stdout) as { input: unknown; status: UpgradeStatus & { stages: { durationMs?: number }[] } };
      const backup = record.status.backups[0];
      assert.ok(backup.manifest.startsWith(`${workerBackups}/`), `${backup.manifest} is in the worker's folder ${workerBackups}`);
      const onDisk = createHash('sha256').update(readFileSync(backup.manifest)).digest('hex');
      assert.equal(backup.manifestSha256, onDisk);
      assert.match(md, row('', `\`${backup.dir}\``, `\`${backup.manifest}\``, `\`${onDisk}\``, String(backup.files), /BGSAVE done on .*/));

      // status --json: the plan exactly as started, each stage's duration, the fields it always had.
      assert.deepEqual(record.input, JSON.parse(JSON.stringify(plan)));
      assert.equal(record.status.outcome, 'succeeded');
      assert.deepEqual(
        record.status.gates.find((g) => g.gate === 'before-gateways')?.approvals?.map((a) => [a.by, a.comment]),
        [
          ['alice', 'CHG-1234'],
          ['bob', undefined],
        ],
      );
      for (const st of record.status.stages) {
        if (st.state === 'done') assert.equal(st.durationMs, Date.parse(st.endedAt!) - Date.parse(st.startedAt!), st.name);
        else assert.equal(st.durationMs, undefined, st.name);
      }
      for (const secret of secrets) assert.ok(!md.includes(secret) && !json.stdout.includes(secret), 'no tyk.conf secret or Redis password in the record');

      // --out writes the same text; an existing file is refused and left as it was.
      const out = join(tempDir('report-out'), 'CHG-1234.md');
      assert.equal((await runCli(['report', id, '--out', out])).code, 0);
      assert.equal(`${readFileSync(out, 'utf8')}\n`, md, 'the file holds what the report prints');
      writeFileSync(out, 'mine');
      const again = await runCli(['report', id, '--out', out]);
      assert.equal(again.code, 2);
      assert.match(again.stderr, /CHG-1234\.md already exists; write elsewhere with --out FILE, or replace it with --force/);
      assert.equal(readFileSync(out, 'utf8'), 'mine');

      const unknown = await runCli(['report', `tyk-upgrade-${stack.name}-nosuch`]);
      assert.equal(unknown.code, 7, unknown.stderr);
      assert.match(
        unknown.stderr,
        new RegExp(`no report for tyk-upgrade-${stack.name}-nosuch: there is no such upgrade workflow; list them with \`tyk-upgrade list\``),
      );
    } finally {
      await stack.remove();
    }
  });
});

// What the runs above cannot show cheaply (notifications arrive with the worker's webhooks; a paused fleet), rendered
// from a status as the workflow would report it.
describe('report rendering of the rarer parts of a record', () => {
  const exec = {
    workflowId: 'tyk-upgrade-prod',
    runId: 'r1',
    temporalStatus: 'FAILED',
    taskQueue: 'tyk-upgrade',
    startTime: new Date('2026-11-26T10:00:00Z'),
    closeTime: new Date('2026-11-26T10:42:30Z'),
    historyLength: 300,
  };
  const input: UpgradeInput = {
    stack: 'prod',
    gateways: [{ container: 'gw-1', url: 'http://10.0.0.1:8080', helloPath: 'hello', host: 'web-1' }],
    pumps: [],
    gatewayVersion: 'v5.3.0',
    allowDowngrade: false,
    gates: ['before-gateways'],
    drainTimeoutSec: 40,
    healthTimeoutMs: 120_000,
    batchSize: [1, '50%'],
    onFailure: 'pause',
    backupDir: '/var/backups/tyk',
    keepOldContainers: false,
    window: ['Sat 02:00-04:00 Europe/Berlin'],
  };
  const status: UpgradeStatus = {
    stack: 'prod',
    outcome: 'rolled-back',
    stage: 'gateways',
    stages: [{ name: 'gateways', state: 'failed', startedAt: '2026-11-26T10:01:00Z', endedAt: '2026-11-26T10:42:00Z' }],
    instances: [{ role: 'gateway', container: 'gw-1', host: 'web-1', batch: 1, fromVersion: '5.2.0', toVersion: '5.3.0', state: 'rolled-back' }],
    gates: [
      { gate: 'before-gateways', state: 'rejected', by: 'erin', at: '2026-11-26T10:00:30Z', comment: 'CAB | said no', waitingSince: '2026-11-26T10:00:10Z' },
    ],
    hosts: ['web-1'],
    batches: [{ name: '1', instances: ['web-1/gw-1'], state: 'rolled-back', workflowId: 'tyk-upgrade-prod/batch-1' }],
    failures: { count: 0, budget: 0 },
    pause: {
      number: 1,
      state: 'decided',
      since: '2026-11-26T10:05:00Z',
      reason: '1 instance failed',
      failed: ['web-1/gw-1'],
      choice: 'rollback',
      by: 'dave',
      at: '2026-11-26T10:40:00Z',
      comment: 'CHG-9',
    },
    backups: [],
    notifications: [{ event: 'upgrade.paused', at: '2026-11-26T10:05:01Z', delivered: ['ops-slack'], failed: [{ webhook: 'pager', error: 'HTTP 500' }] }],
    errors: ['warning: something odd'],
    reason: 'dave chose to roll back: 1 instance failed',
  };

  it('shows notifications with their failures, a pause and its decision, a rejection, windows and rollback children; no status: says so', () => {
    const md = renderReport({ exec, input, status, webUi: 'http://ui/x', now: new Date() });
    assert.match(md, row('upgrade.paused', '2026-11-26 10:05:01Z', 'ops-slack', 'pager: HTTP 500'));
    assert.match(
      md,
      /^- Pause 1 \(failures past the budget\), since 2026-11-26 10:05:00Z: 1 instance failed — failed: web-1\/gw-1\n {2}- Decision: \*\*rollback\*\* by dave at 2026-11-26 10:40:00Z: CHG-9$/m,
    );
    assert.match(md, row('before-gateways', 'rejected', '2026-11-26 10:00:10Z', '0 of 1', 'rejected by erin at 2026-11-26 10:00:30Z: CAB \\| said no'));
    assert.match(md, row('1', 'web-1/gw-1', 'rolled-back', '`tyk-upgrade-prod/batch-1`', '`tyk-upgrade-prod/rollback-1`'));
    assert.match(md, row('web-1', '`gw-1`', 'gateway', '1', '5.2.0', '5.3.0', '5.2.0', 'rolled-back', '', ''));
    assert.match(md, /^- Maintenance windows: Sat 02:00-04:00 Europe\/Berlin$/m);
    assert.match(md, /^- Batches: 1, 50% .*; maxUnavailable per pool: all but one of the pool$/m);
    assert.match(md, row('Duration', '43 min'));
    assert.match(md, row('gateways', 'failed', '2026-11-26 10:01:00Z', '2026-11-26 10:42:00Z', '41 min'));
    assert.match(md, /^## Warnings\n\n- warning: something odd$/m);
    assert.match(md, /^## Backups\n\nNone: the run ended before its backup\.$/m);

    const none = renderReport({ exec: { ...exec, temporalStatus: 'TERMINATED' }, input, status: undefined, webUi: 'http://ui/x', now: new Date() });
    assert.match(none, row('Outcome', 'no status (Temporal: TERMINATED)'));
    assert.match(none, /^No status is available for this run/m);
  });
});
