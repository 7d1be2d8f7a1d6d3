// Healthy means serving: real upgrades where the new gateway must load the same APIs and policies and answer the
// plan's smoke requests. Real Tyk (5.3.0 → 5.8.10, the rig's builds from Tyk's source) and the stand-ins, with
// several file-based APIs and policies; a target that drops an API (real 5.8.10 refuses a listen path 5.3.0 loads;
// the stand-in drops-api build refuses one definition); smoke requests that pass, that fail only on the new version,
// that fail today; Redis facts from Tyk's docs at preflight; and no secret of the Gateway API anywhere.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fetchInventory } from '../src/activities/gateway-api';
import { getHello } from '../src/activities/tyk-http';
import { dryRunPlan } from '../src/client-lib/fleet';
import { getStatus, startUpgrade } from '../src/client-lib/upgrades';
import { renderDetails } from '../src/workflows/details';
import { workflowIdFor } from '../src/shared/names';
import type { UpgradeInput, UpgradeStatus } from '../src/shared/types';
import { runCli } from './support/cli';
import { historyText } from './support/history';
import { docker, FAULTY_REPO, REAL_GATEWAY_REPO, tempDir, waitFor } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { startUpstream, type Upstream } from './support/upstream';
import { failureOf, keepHistory } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';
import { spawnWorker } from './support/worker-process';

const t = useUpgradeWorker();

let upstream: Upstream;
before(async () => {
  upstream = await startUpstream();
});
after(() => upstream?.stop());

const api = (id: string, name: string, listenPath: string, extra: Record<string, unknown> = {}) => ({
  name,
  api_id: id,
  org_id: 'default',
  use_keyless: true,
  active: true,
  version_data: { not_versioned: true, versions: { Default: { name: 'Default' } } },
  proxy: { listen_path: listenPath, target_url: `${upstream.url}/${id}/`, strip_listen_path: true },
  ...extra,
});

const policy = (id: string, name: string) => ({ id, name, org_id: 'default', rate: 100, per: 1, active: true, access_rights: {} });

/**
 * Several file-based APIs and policies on every gateway of the stack, loaded the way Tyk loads them: at start. The
 * gateways are restarted and the test waits until each lists them all through its Gateway API.
 */
async function serve(stack: TestStack, apps: Record<string, object>, policies: Record<string, object>): Promise<void> {
  for (const g of stack.gateways) {
    for (const [file, def] of Object.entries(apps)) writeFileSync(join(g.confDir, 'apps', file), `${JSON.stringify(def, null, 2)}\n`);
    for (const [file, pol] of Object.entries(policies)) writeFileSync(join(g.confDir, 'policies', file), `${JSON.stringify(pol, null, 2)}\n`);
  }
  await Promise.all(stack.gateways.map((g) => docker.getContainer(g.container).restart({ t: 5 })));
  for (const g of stack.gateways) {
    await waitFor(
      `${g.container} to serve ${Object.keys(apps).length} more APIs`,
      async () => {
        const hello = (await getHello(g.url, 'hello')).body;
        if (hello?.details?.redis?.status !== 'pass') return undefined;
        const inv = await fetchInventory(g.url, stack.secret);
        return Object.values(apps).every((a) => inv.apis.some((x) => x.id === (a as { api_id: string }).api_id)) ? inv : undefined;
      },
      60_000,
      250,
    );
  }
}

/** Three APIs (one of them switched off), proxied to the test's upstream. */
const apps = () => ({
  'orders.json': api('orders', 'Orders', '/orders/'),
  'users.json': api('users', 'Users', '/users/'),
  'inactive.json': api('inactive', 'Switched off', '/off/', { active: false }),
});
const POLICIES = { 'gold.json': policy('gold', 'Gold'), 'silver.json': policy('silver', 'Silver') };

const base = (stack: TestStack, o: Partial<UpgradeInput> = {}) => stack.input({ gates: [], pumps: [], pumpVersion: undefined, soakMs: 1_000, ...o });

/** The parent's and every child's history, payloads decoded. */
async function allHistories(workflowId: string, status: UpgradeStatus): Promise<string> {
  const ids = [workflowId, ...status.batches.map((b) => b.workflowId).filter((w): w is string => !!w)];
  const texts = await Promise.all(ids.map(async (id) => historyText(await t.env.client.workflow.getHandle(id).fetchHistory())));
  return texts.join('\n');
}

describe('inventory: the new gateway loads the same APIs and policies', () => {
  it('stand-ins 5.2.0 → 5.3.0 with several file-based APIs and policies: the same inventory, counted in status and report', async () => {
    const stack = await testStack({ prefix: 'srv-same', gateways: 2, pump: false });
    try {
      await serve(stack, apps(), POLICIES);
      const handle = await startUpgrade(t.env.client, base(stack, { batchSize: 1 }), { taskQueue: t.worker.taskQueue });
      const result = await handle.result();
      await keepHistory(handle, 'serving-inventory-same', t.env.client);
      assert.equal(result.outcome, 'succeeded', result.reason);
      // The stack's own httpbin API and default policy, and the three APIs and two policies above.
      for (const i of result.instances) assert.equal(i.serving, '4 APIs, 3 policies: same as before', i.container);
      const env = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS };
      const status = await runCli(['status', handle.workflowId], { env });
      assert.match(
        status.stdout,
        new RegExp(`Serving:\n  ${stack.gateways[0].container}: 4 APIs, 3 policies: same as before\n  ${stack.gateways[1].container}: 4 APIs`),
      );
      const report = await runCli(['report', handle.workflowId], { env });
      assert.match(report.stdout, /\| upgraded \| 4 APIs, 3 policies: same as before \|/);
      assert.match(report.stdout, /- Serving checks: APIs and policies compared before and after; no smoke requests;/);
      assert.match(renderDetails(result), /\| upgraded — 4 APIs, 3 policies: same as before \|/, 'the Web UI table');
      for (const out of [status.stdout, report.stdout]) assert.ok(!out.includes(stack.secret));
      for (const g of stack.gateways) assert.equal((await getHello(g.url, 'hello')).body?.version, '5.3.0');
    } finally {
      await stack.remove();
    }
  });

  it('real Tyk 5.3.0 → 5.8.10: the same inventory after the upgrade', async () => {
    const stack = await testStack({ prefix: 'srv-real', gateways: 1, pump: false, gatewayRepo: REAL_GATEWAY_REPO, gatewayTag: 'v5.3.0' });
    try {
      await serve(stack, apps(), POLICIES);
      const handle = await startUpgrade(t.env.client, base(stack, { gatewayVersion: 'v5.8.10', healthTimeoutMs: 60_000 }), { taskQueue: t.worker.taskQueue });
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.equal(result.instances[0].serving, '4 APIs, 3 policies: same as before');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.8.10');
    } finally {
      await stack.remove();
    }
  });

  it('real Tyk 5.8.10 refuses a listen path 5.3.0 loads: that gateway fails and rolls back, the message names the API, no later batch starts', async () => {
    const stack = await testStack({ prefix: 'srv-realdrop', gateways: 2, pump: false, gatewayRepo: REAL_GATEWAY_REPO, gatewayTag: 'v5.3.0' });
    try {
      // Unbalanced braces: 5.3.0 lists it; 5.8.10's router check refuses it ("mux: unbalanced braces").
      await serve(stack, { ...apps(), 'legacy.json': api('legacy', 'Legacy items', '/legacy/{id') }, POLICIES);
      const ids = await Promise.all(stack.gateways.map(async (g) => (await docker.getContainer(g.container).inspect()).Id));
      const handle = await startUpgrade(t.env.client, base(stack, { gatewayVersion: 'v5.8.10', batchSize: 1, healthTimeoutMs: 60_000 }), {
        taskQueue: t.worker.taskQueue,
      });
      const failure = await failureOf(handle.result());
      assert.equal(failure.status.outcome, 'rolled-back', failure.message);
      assert.match(failure.message, /on 5\.8\.10: does not serve what 5\.3\.0 served: api "legacy" \(Legacy items, \/legacy\/\{id\) not loaded by 5\.8\.10/);
      // The batch failed (its gateway rolled back on its own, inside it); the second batch never started.
      assert.deepEqual(
        failure.status.batches.map((b) => [b.name, b.state]),
        [
          ['1', 'failed'],
          ['2', 'pending'],
        ],
      );
      assert.deepEqual(
        failure.status.instances.map((i) => i.state),
        ['rolled-back', 'pending'],
      );
      for (const [i, g] of stack.gateways.entries()) {
        assert.equal((await docker.getContainer(g.container).inspect()).Id, ids[i], `${g.container} is its original container`);
        assert.equal((await getHello(g.url, 'hello')).body?.version, '5.3.0');
      }
    } finally {
      await stack.remove();
    }
  });

  it('the stand-in drops-api build refuses one definition: rolled back, the message names the API, no later batch starts', async () => {
    const stack = await testStack({ prefix: 'srv-drop', gateways: 2, pump: false });
    try {
      await serve(stack, { ...apps(), 'legacy.json': api('legacy', 'Legacy items', '/legacy/', { standin_unsupported: true }) }, POLICIES);
      const ids = await Promise.all(stack.gateways.map(async (g) => (await docker.getContainer(g.container).inspect()).Id));
      const handle = await startUpgrade(t.env.client, base(stack, { gatewayRepository: FAULTY_REPO('drops-api'), batchSize: 1 }), {
        taskQueue: t.worker.taskQueue,
      });
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'serving-inventory-dropped', t.env.client);
      assert.equal(failure.type, 'UpgradeRolledBack');
      assert.match(
        failure.message,
        /gateway-1 on 5\.3\.0: does not serve what 5\.2\.0 served: api "legacy" \(Legacy items, \/legacy\/\) not loaded by 5\.3\.0/,
      );
      assert.equal(failure.status.instances[0].state, 'rolled-back');
      assert.equal(failure.status.instances[0].serving, undefined, 'a rolled-back gateway claims nothing about what it serves');
      assert.deepEqual(
        failure.status.batches.map((b) => b.state),
        ['failed', 'pending'],
        'the second batch never started',
      );
      for (const [i, g] of stack.gateways.entries()) {
        assert.equal((await docker.getContainer(g.container).inspect()).Id, ids[i]);
        const inv = await fetchInventory(g.url, stack.secret);
        assert.ok(
          inv.apis.some((a) => a.id === 'legacy'),
          `${g.container} serves legacy again`,
        );
      }
    } finally {
      await stack.remove();
    }
  });
});

const SMOKE_TOKEN = `smoke-${Math.random().toString(36).slice(2, 12)}`;

describe('smoke requests', () => {
  before(() => {
    process.env.SMOKE_TEST_AUTH = `Bearer ${SMOKE_TOKEN}`;
  });

  it('pass everywhere: sent with the header from the worker environment, counted, and never in history, status or report', async () => {
    const stack = await testStack({ prefix: 'srv-smoke', gateways: 2, pump: false });
    try {
      await serve(stack, apps(), POLICIES);
      const seen = upstream.requests.length;
      const input = base(stack, {
        batchSize: 2,
        soakMs: 2_500,
        smoke: [
          {
            name: 'orders',
            method: 'GET',
            path: '/orders/status',
            headersFromEnv: { Authorization: 'SMOKE_TEST_AUTH' },
            expectStatus: 200,
            bodyContains: '"path":"/orders/status"',
          },
        ],
      });
      const report = (await dryRunPlan(t.env.client, input, t.worker.taskQueue))[0].result!;
      assert.deepEqual(report.problems, []);
      assert.match(report.instances[0].serving ?? '', /^4 APIs, 3 policies loaded now; 1 smoke request passed today$/);
      const handle = await startUpgrade(t.env.client, input, { taskQueue: t.worker.taskQueue });
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded', result.reason);
      for (const i of result.instances) assert.equal(i.serving, '4 APIs, 3 policies: same as before; 1 smoke request passed');
      const smoke = upstream.requests.slice(seen).filter((r) => r.path === '/orders/status');
      // Today (dry run), after each health check, and during each soak.
      assert.ok(smoke.length >= 2 * 3, `smoke requests reached the API (${smoke.length})`);
      assert.ok(
        smoke.every((r) => r.headers.authorization === `Bearer ${SMOKE_TOKEN}`),
        'with the header value from the environment',
      );
      const texts = [await allHistories(handle.workflowId, result), JSON.stringify(await getStatus(t.env.client, handle.workflowId))];
      for (const text of texts) {
        assert.ok(!text.includes(SMOKE_TOKEN), 'no smoke header value');
        assert.ok(!text.includes(stack.secret), 'no Gateway API secret');
      }
      assert.match(texts[0], /SMOKE_TEST_AUTH/, 'the history names the variable (the check itself is real)');
    } finally {
      await stack.remove();
    }
  });

  it('fail only on the new version: that gateway is rolled back, the message names the request', async () => {
    const stack = await testStack({ prefix: 'srv-smokefail', gateways: 1, pump: false });
    try {
      await serve(stack, { ...apps(), 'legacy.json': api('legacy', 'Legacy items', '/legacy/', { standin_unsupported: true }) }, POLICIES);
      const handle = await startUpgrade(
        t.env.client,
        base(stack, {
          gatewayRepository: FAULTY_REPO('drops-api'),
          // The inventory lets it go (an intended change, say); the smoke request does not.
          inventory: { tolerate: { apis: ['legacy'] } },
          smoke: [{ name: 'legacy', method: 'GET', path: '/legacy/items', expectStatus: 200 }],
        }),
        { taskQueue: t.worker.taskQueue },
      );
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'serving-smoke-rollback', t.env.client);
      assert.equal(failure.status.outcome, 'rolled-back', failure.message);
      assert.match(failure.message, /gateway-1 on 5\.3\.0: smoke request "legacy" \(GET \/legacy\/items\) got HTTP 404, expected 200/);
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');
    } finally {
      await stack.remove();
    }
  });

  it('`init` proposes one per keyless API, expecting what it answers today, and `plan` passes them', async () => {
    const stack = await testStack({ prefix: 'srv-init', gateways: 1, pump: false });
    try {
      await serve(stack, apps(), POLICIES);
      const file = join(tempDir('srv-init'), 'plan.yaml');
      const env = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS };
      const init = await runCli(
        ['init', '--gateway-version', 'v5.3.0', '--label', `io.tyk-upgrade.sandbox=${stack.name}`, '--task-queue', t.worker.taskQueue, '-o', file],
        { env },
      );
      assert.equal(init.code, 0, init.stderr);
      const text = readFileSync(file, 'utf8');
      // The upstream answers 200 on each API's path; the inactive API is not proposed; the stack's own httpbin API
      // proxies to a closed port, so it is written commented out with what it answered.
      assert.match(text, /\n {2}- \{ name: orders, path: \/orders\/, expect: 200 \}\n/);
      assert.match(text, /\n {2}- \{ name: users, path: \/users\/, expect: 200 \}\n/);
      assert.match(text, /\n {2}# - \{ name: srv-init-\w+-httpbin, path: \/httpbin\/, expect: 200 \} +# answered HTTP 5\d\d today: fix it, or leave it out\n/);
      assert.doesNotMatch(text, /name: inactive/);
      const plan = await runCli(['plan', '-f', file, '--task-queue', t.worker.taskQueue], { env });
      assert.equal(plan.code, 0, plan.stdout + plan.stderr);
      assert.match(plan.stdout, /-gateway-1: 4 APIs, 3 policies loaded now; 2 smoke requests passed today/);
    } finally {
      await stack.remove();
    }
  });

  it('fail today: `plan` and `start` refuse the plan (exit 4) and nothing changes', async () => {
    const stack = await testStack({ prefix: 'srv-today', gateways: 1, pump: false });
    try {
      await serve(stack, apps(), POLICIES);
      const id = (await docker.getContainer(stack.gateways[0].container).inspect()).Id;
      const dir = tempDir('srv-today-plan');
      const file = join(dir, 'plan.yaml');
      writeFileSync(
        file,
        `stack: ${stack.name}
gateway:
  version: v5.3.0
  instances:
    - { container: ${stack.gateways[0].container}, url: "${stack.gateways[0].url}" }
gates: []
smoke:
  - { name: missing, path: /nowhere/, expect: 200 }
`,
      );
      const env = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS };
      const plan = await runCli(['plan', '-f', file, '--task-queue', t.worker.taskQueue], { env });
      assert.equal(plan.code, 4, plan.stderr);
      assert.match(
        plan.stdout,
        /smoke requests fail on ".+-gateway-1" today, before anything changed: smoke request "missing" \(GET \/nowhere\/\) got HTTP 404, expected 200/,
      );
      const start = await runCli(['start', '-f', file, '--task-queue', t.worker.taskQueue], { env });
      assert.equal(start.code, 4, start.stderr);
      await assert.rejects(t.env.client.workflow.getHandle(workflowIdFor(stack.name)).describe(), /not found/i, 'no workflow was started');
      assert.equal((await docker.getContainer(stack.gateways[0].container).inspect()).Id, id, 'the gateway is untouched');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');
    } finally {
      await stack.remove();
    }
  });
});

describe("Redis facts from Tyk's documentation, at preflight", () => {
  it("a downgrade to v5.2.0 against Debian's Redis 7.0 is warned, and refused with unsupportedRedis: refuse, nothing changed", async () => {
    const stack = await testStack({ prefix: 'srv-redis', gateways: 1, pump: false, gatewayTag: 'v5.3.0' });
    try {
      const warn = base(stack, { gatewayVersion: 'v5.2.0', allowDowngrade: true });
      const dry = (await dryRunPlan(t.env.client, warn, t.worker.taskQueue))[0].result!;
      const note =
        /Redis 7\.0\.\d+ is not among the Redis versions Tyk Gateway 5\.2\.0 supports \(6\.0\.x, 6\.2\.x\); source: https:\/\/tyk\.io\/docs\/planning-for-production\/redis\/ \("Supported Versions"\): "Tyk 5\.2\.x and earlier supports Redis 6\.0\.x and Redis 6\.2\.x only" \(the gateway's Redis at 127\.0\.0\.1:\d+\)/;
      assert.deepEqual(dry.problems, []);
      assert.ok(
        dry.warnings.some((w) => note.test(w)),
        dry.warnings.join('\n'),
      );
      assert.match(dry.redis ?? '', /; Redis 7\.0\.\d+$/);

      const id = (await docker.getContainer(stack.gateways[0].container).inspect()).Id;
      const refuse = { ...warn, unsupportedRedis: 'refuse' as const };
      const refused = (await dryRunPlan(t.env.client, refuse, t.worker.taskQueue))[0].result!;
      assert.ok(
        refused.problems.some((p) => note.test(p)),
        refused.problems.join('\n'),
      );
      const handle = await startUpgrade(t.env.client, refuse, { taskQueue: t.worker.taskQueue });
      const failure = await failureOf(handle.result());
      assert.equal(failure.status.outcome, 'failed');
      assert.match(failure.message, /Tyk Gateway 5\.2\.0 supports \(6\.0\.x, 6\.2\.x\).*the plan says unsupportedRedis: refuse/);
      assert.equal((await docker.getContainer(stack.gateways[0].container).inspect()).Id, id, 'nothing changed');

      const ok = await startUpgrade(t.env.client, warn, { taskQueue: t.worker.taskQueue });
      const done = await ok.result();
      assert.equal(done.outcome, 'succeeded', done.reason);
      assert.ok(
        done.errors.some((e) => /^warning: Redis 7\.0\.\d+ is not among/.test(e)),
        done.errors.join('\n'),
      );
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');
    } finally {
      await stack.remove();
    }
  });
});

describe('the Gateway API secret', () => {
  it('appears in no history, status, report or worker log', async () => {
    const stack = await testStack({ prefix: 'srv-secret', gateways: 1, pump: false });
    const taskQueue = `srv-secret-${Math.random().toString(36).slice(2, 8)}`;
    const worker = spawnWorker(taskQueue);
    try {
      await serve(stack, apps(), POLICIES);
      const conf = JSON.parse(readFileSync(join(stack.gateways[0].confDir, 'tyk.conf'), 'utf8')) as { secret: string };
      assert.ok(conf.secret === stack.secret && stack.secret.length >= 16, 'the secret the worker reads is in tyk.conf');
      const handle = await startUpgrade(t.env.client, base(stack), { taskQueue });
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.equal(result.instances[0].serving, '4 APIs, 3 policies: same as before', 'the worker did read the Gateway API');
      const env = { TEMPORAL_ADDRESS: process.env.TEMPORAL_ADDRESS };
      const status = await runCli(['status', handle.workflowId, '--json'], { env });
      const report = await runCli(['report', handle.workflowId], { env });
      assert.equal(status.code, 0, status.stderr);
      assert.equal(report.code, 0, report.stderr);
      await worker.stop();
      for (const [where, text] of [
        ['history', await allHistories(handle.workflowId, result)],
        ['status', status.stdout + status.stderr],
        ['report', report.stdout + report.stderr],
        ['worker log', worker.output()],
      ]) {
        assert.ok(text.length > 0, `${where} is there to look at`);
        assert.ok(!text.includes(stack.secret), `no Gateway API secret in the ${where}`);
      }
    } finally {
      await worker.stop();
      await stack.remove();
    }
  });
});
