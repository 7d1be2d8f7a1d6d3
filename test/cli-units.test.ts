// The CLI's pure parts: plan parsing with line numbers, the version policy, durations, the plan → workflow
// input mapping, watch's event lines and exit codes, Web UI links. No engine or server needed.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseDuration } from '../src/shared/duration';
import { toUpgradeInput } from '../src/plan/load';
import { parsePlanText } from '../src/plan/parse';
import { problems } from './support/plan-problems';
import { renderPlan } from '../src/plan/render';
import { checkTargetVersion } from '../src/plan/version-policy';
import { describeGateDecision } from '../src/cli/decisions';
import { statusEvents } from '../src/cli/status-events';
import { uiBase } from '../src/cli/temporal';
import { exitCodeFor } from '../src/cli/watch';
import type { UpgradeStatus } from '../src/shared/types';

const PLAN = `stack: prod
gateway:
  version: 5.3.0
  instances:
    - container: gw-1
      url: http://gw-1.tyk.internal:8080/
pump:
  version: v1.10.0
  container: pump
  healthUrl: http://127.0.0.1:8083/health
`;

describe('plan files', () => {
  it('a minimal plan gets the documented defaults', () => {
    const input = toUpgradeInput(parsePlanText(PLAN, '/plans/p.yaml'), {});
    assert.deepEqual(input, {
      stack: 'prod',
      gateways: [{ container: 'gw-1', url: 'http://gw-1.tyk.internal:8080', helloPath: 'hello' }],
      pumps: [{ container: 'pump', healthUrl: 'http://127.0.0.1:8083/health' }],
      gatewayVersion: 'v5.3.0',
      pumpVersion: 'v1.10.0',
      allowDowngrade: false,
      gates: ['before-gateways', 'before-pump'],
      drainTimeoutSec: 40,
      healthTimeoutMs: 120_000,
      batchSize: 1,
      soakMs: 5_000,
      keepOldContainers: false,
    });
    assert.ok(!('backupDir' in input), "no folder of the operator's machine reaches the workers");
  });

  it('settings and command-line overrides reach the workflow input', () => {
    const text = `${PLAN}gates: []\napprovalTimeout: 1h30m\ndrainTimeout: 1500ms\nhealthTimeout: 45s\nbatchSize: 2\nsoak: 0s\nbackupSubfolder: team-a/prod\nkeepOldContainers: true\n`;
    const input = toUpgradeInput(parsePlanText(text, 'p.yaml'), { gatewayVersion: 'v5.8.3', allowDowngrade: true });
    assert.equal(input.gatewayVersion, 'v5.8.3');
    assert.equal(input.allowDowngrade, true);
    assert.deepEqual(input.gates, []);
    assert.equal(input.approvalTimeoutMs, 5_400_000);
    assert.equal(input.drainTimeoutSec, 2);
    assert.equal(input.healthTimeoutMs, 45_000);
    assert.equal(input.batchSize, 2);
    assert.equal(input.soakMs, 0);
    assert.equal(input.backupDir, 'team-a/prod', 'a subfolder, resolved by each host worker against its own folder');
    assert.equal(input.keepOldContainers, true);
  });

  it('each problem names its field and line; all are reported at once', () => {
    const text =
      PLAN.replace('version: 5.3.0', 'version: 5.3').replace('      url: http://gw-1.tyk.internal:8080/', '      url: ftp://x\n      hellopath: ping') +
      'batchSize: 0\n';
    assert.deepEqual(problems(text), [
      '3: gateway.version: "5.3" names a release line, not a release (that tag moves with every patch); name an exact release such as v5.3.0',
      '6: gateway.instances[0].url: "ftp://x" must use http:// or https://',
      '7: gateway.instances[0].hellopath: unknown key (did you mean "helloPath"?); allowed here: container, url, helloPath, host, pool, apiUrl',
      '12: batchSize: 0 is not a whole number of at least 1',
    ]);
  });

  it("backupDir (0.3: a folder on the operator's machine) is refused with what to write instead; a subfolder may not climb out", () => {
    const [old] = problems(`${PLAN}backupDir: /home/op/plans/.tyk-upgrade/backups\n`);
    assert.match(
      old,
      /^11: backupDir: backups now live in each host worker's own folder \(`tyk-upgrade worker --backup-dir DIR`; \/var\/lib\/tyk-upgrade\/backups under the systemd unit/,
    );
    assert.match(old, /delete this line, or name a folder inside it with backupSubfolder: NAME$/);
    for (const bad of ['/var/backups', '../up', 'a/../../b', '~/x', 'a//b', 'with space']) {
      assert.deepEqual(
        problems(`${PLAN}backupSubfolder: "${bad}"\n`),
        [
          `11: backupSubfolder: "${bad}" must be a relative folder name inside each worker's backup folder (letters, digits, "_", ".", "-", "/" between names; no "..")`,
        ],
        bad,
      );
    }
  });

  it('a missing key is reported at the mapping that should hold it', () => {
    assert.deepEqual(problems(PLAN.replace('  container: pump\n', '')), ['7: pump.container: is missing; it must be a container name']);
  });

  it('rules across fields: a container listed twice, a gate twice', () => {
    const text = `${PLAN.replace('  container: pump', '  container: gw-1')}gates: [before-pump, before-pump]\n`;
    assert.deepEqual(problems(text), ['9: pump.container: "gw-1" is already listed at gateway.instances[0]', '11: gates[1]: "before-pump" is listed twice']);
  });

  it('allowPrerelease: true lets a pre-release through', () => {
    const plan = parsePlanText(`${PLAN.replace('version: 5.3.0', 'version: v5.5.0-rc1')}allowPrerelease: true\n`, 'p.yaml');
    assert.equal(plan.gateway.version, 'v5.5.0-rc1');
  });

  it('a plan written by init reads back as the same plan', () => {
    const text = renderPlan({
      stack: 'blue',
      gatewayVersion: 'v5.3.0',
      gateways: [
        { container: 'blue-gw-1', url: 'http://127.0.0.1:8080', helloPath: 'hello', current: '5.2.0' },
        { container: 'blue-gw-2', url: 'http://127.0.0.1:8081', helloPath: 'health', current: '5.2.0' },
      ],
      pumpVersion: 'v1.10.0',
      pumps: [{ container: 'blue-pump', healthUrl: 'http://127.0.0.1:8083/health', current: '1.9.0' }],
      source: 'test',
    });
    const input = toUpgradeInput(parsePlanText(text, '/x/plan.yaml'), {});
    assert.deepEqual(
      input.gateways.map((g) => g.helloPath),
      ['hello', 'health'],
    );
    assert.equal(input.pumps[0]?.container, 'blue-pump');
    assert.match(text, /# runs 5\.2\.0 now/);
  });
});

describe('version policy', () => {
  const cases: [unknown, boolean, string][] = [
    ['v5.3.0', false, 'v5.3.0'],
    ['5.3.0', false, 'v5.3.0'],
    [' 5.3.0 ', false, 'v5.3.0'],
    ['5.3', false, 'names a release line'],
    ['v5', false, 'names a release line'],
    [5.3, false, 'names a release line'],
    ['latest', false, 'is not allowed: it moves'],
    ['LATEST', false, 'is not allowed: it moves'],
    ['v5.3.0-rc1', false, 'is a pre-release; add --allow-prerelease'],
    ['v5.3.0-rc1', true, 'v5.3.0-rc1'],
    ['5.3.0.1', false, 'is not a version'],
    ['v5.3.0+build', false, 'is not a version'],
    ['', false, 'must be an exact release'],
    [undefined, false, 'must be an exact release'],
  ];
  for (const [value, pre, expected] of cases) {
    it(`${JSON.stringify(value)}${pre ? ' with pre-releases allowed' : ''} → ${expected}`, () => {
      const c = checkTargetVersion(value, pre, 'add --allow-prerelease');
      if (c.ok) assert.equal(c.tag, expected);
      else assert.ok(c.message.includes(expected), c.message);
    });
  }
});

describe('durations', () => {
  it('Go-style durations, and refusals with the fix', () => {
    assert.deepEqual(parseDuration('30s'), { ok: true, ms: 30_000 });
    assert.deepEqual(parseDuration('1h30m'), { ok: true, ms: 5_400_000 });
    assert.deepEqual(parseDuration('250ms'), { ok: true, ms: 250 });
    assert.deepEqual(parseDuration('1.5s'), { ok: true, ms: 1500 });
    assert.deepEqual(parseDuration(30), { ok: false, message: '30 has no unit; write it like 30s or 30m' });
    assert.equal(parseDuration('5 minutes').ok, false);
    assert.equal(parseDuration('5d').ok, false);
    assert.equal(parseDuration('').ok, false);
  });
});

function status(over: Partial<UpgradeStatus> = {}): UpgradeStatus {
  return {
    stack: 's',
    outcome: 'running',
    stage: 'preflight',
    stages: ['preflight', 'backup', 'pull', 'before-gateways', 'gateways', 'before-pump', 'pump', 'verify'].map((name) => ({
      name,
      state: 'pending',
    })) as UpgradeStatus['stages'],
    instances: [],
    gates: [
      { gate: 'before-gateways', state: 'not-reached' },
      { gate: 'before-pump', state: 'not-reached' },
    ],
    hosts: [],
    batches: [],
    failures: { count: 0, budget: 0 },
    backups: [],
    errors: [],
    ...over,
  };
}

describe('watch', () => {
  it('prints what changed, a decision before what it let run, a new wait last', () => {
    const waiting = status({
      stages: status().stages.map((s) => ({
        ...s,
        state: ['preflight', 'backup', 'pull'].includes(s.name) ? 'done' : s.name === 'before-gateways' ? 'running' : 'pending',
      })),
      instances: [{ role: 'gateway', container: 'gw', fromVersion: '5.2.0', toVersion: '5.3.0', state: 'pending' }],
      gates: [
        { gate: 'before-gateways', state: 'waiting', waitingSince: 'x' },
        { gate: 'before-pump', state: 'not-reached' },
      ],
    });
    assert.deepEqual(statusEvents(undefined, waiting), [
      'stage preflight: done',
      'stage backup: done',
      'stage pull: done',
      'gw (gateway): 5.2.0 → 5.3.0, pending',
      'gate before-gateways: waiting for approval',
    ]);
    const next = status({
      ...waiting,
      stages: waiting.stages.map((s) => (s.name === 'before-gateways' ? { ...s, state: 'done' } : s.name === 'gateways' ? { ...s, state: 'running' } : s)),
      instances: [{ ...waiting.instances[0], state: 'recreating' }],
      gates: [{ gate: 'before-gateways', state: 'approved', by: 'alice', comment: 'ok' }, waiting.gates[1]],
    });
    assert.deepEqual(statusEvents(waiting, next), ['gate before-gateways: approved by alice ("ok")', 'stage gateways: running', 'gw: recreating']);
    assert.deepEqual(statusEvents(next, next), []);
    const rolledBack = {
      ...next,
      outcome: 'rolled-back' as const,
      reason: 'rolled back: gw is not healthy',
      errors: ['warning: x', 'rolled back: gw is not healthy'],
    };
    assert.deepEqual(statusEvents(next, rolledBack), ['warning: x', 'upgrade rolled-back: rolled back: gw is not healthy']);
  });

  it('under four-eyes, each approval is shown with the count, and a window wait says so', () => {
    const gate = (approvals: { by: string; at: string; comment?: string }[], state: 'waiting' | 'approved' = 'waiting') =>
      status({
        gates: [
          {
            gate: 'before-gateways',
            state,
            waitingSince: 'x',
            required: 2,
            approvals,
            ...(state === 'approved' ? { by: approvals.map((a) => a.by).join(', ') } : {}),
          },
        ],
      });
    const none = gate([]);
    assert.deepEqual(
      statusEvents(undefined, none).filter((l) => l.startsWith('gate')),
      ['gate before-gateways: waiting for approval (0 of 2 approvals)'],
    );
    const one = gate([{ by: 'alice', at: 'x', comment: 'CHG-5' }]);
    assert.deepEqual(statusEvents(none, one), ['gate before-gateways: approved by alice ("CHG-5") (1 of 2 approvals)']);
    const both = gate(
      [
        { by: 'alice', at: 'x', comment: 'CHG-5' },
        { by: 'bob', at: 'y' },
      ],
      'approved',
    );
    assert.deepEqual(statusEvents(one, both), ['gate before-gateways: approved by alice, bob']);
    const waitWindow = status({
      pause: {
        number: 1,
        kind: 'window',
        state: 'waiting',
        since: 'x',
        reason: 'outside the maintenance window (Sat 02:00-04:00 UTC); the next opens at y',
        failed: [],
      },
    });
    assert.deepEqual(statusEvents(status(), waitWindow), [
      'waiting for the maintenance window: outside the maintenance window (Sat 02:00-04:00 UTC); the next opens at y',
    ]);
  });

  it('exit codes follow the outcome', () => {
    assert.equal(exitCodeFor('COMPLETED', status({ outcome: 'succeeded' })), 0);
    assert.equal(exitCodeFor('FAILED', status({ outcome: 'failed' })), 8);
    assert.equal(exitCodeFor('FAILED', status({ outcome: 'rolled-back' })), 9);
    assert.equal(exitCodeFor('FAILED', status({ outcome: 'rejected' })), 10);
    assert.equal(exitCodeFor('FAILED', status({ outcome: 'timed-out' })), 10);
    assert.equal(exitCodeFor('CANCELLED', undefined), 10);
    assert.equal(exitCodeFor('TERMINATED', undefined), 10);
    assert.equal(exitCodeFor('TIMED_OUT', undefined), 8);
  });
});

describe('Web UI links', () => {
  it('TEMPORAL_UI_URL wins; Temporal Cloud; else the dev server convention', () => {
    assert.equal(uiBase('127.0.0.1:7233', 'http://ui.example:8080/'), 'http://ui.example:8080');
    const saved = process.env.TEMPORAL_UI_URL;
    delete process.env.TEMPORAL_UI_URL; // the test run sets it
    try {
      assert.equal(uiBase('my-ns.a1b2c.tmprl.cloud:7233'), 'https://cloud.temporal.io');
      assert.equal(uiBase('127.0.0.1:7233'), 'http://127.0.0.1:8233');
    } finally {
      if (saved !== undefined) process.env.TEMPORAL_UI_URL = saved;
    }
  });
});

describe('what approve says', () => {
  it('a four-eyes approval that leaves the gate waiting says so, with who; the one that opens it names everyone', () => {
    const waiting = {
      gate: 'before-gateways' as const,
      state: 'waiting' as const,
      required: 2,
      approvals: [{ by: 'dave', at: '2026-12-01T10:00:00.000Z' }],
    };
    assert.equal(
      describeGateDecision('approve', 'tyk-upgrade-prod', waiting),
      'Gate before-gateways of tyk-upgrade-prod: approval 1 of 2 recorded (dave); waiting for 1 more',
    );
    const open = {
      ...waiting,
      state: 'approved' as const,
      by: 'dave, erin',
      at: '2026-12-01T10:01:00.000Z',
      comment: 'CHG-5',
      approvals: [...waiting.approvals, { by: 'erin', at: '2026-12-01T10:01:00.000Z', comment: 'CHG-5' }],
    };
    assert.match(
      describeGateDecision('approve', 'tyk-upgrade-prod', open),
      /^Approved gate before-gateways of tyk-upgrade-prod \(by dave, erin at \d\d:\d\d:\d\d: "CHG-5"\)$/,
    );
    assert.ok(!/undefined/.test(describeGateDecision('approve', 'x', { ...waiting, approvals: [] })));
  });
});
