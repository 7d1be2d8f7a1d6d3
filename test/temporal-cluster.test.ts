// tyk-upgrade on a production-like Temporal: two server nodes on PostgreSQL behind HAProxy, with the Web UI
// server, set up by the same scripts as docker-compose.temporal.yml (test/support/temporal-cluster.ts). The
// worker and the CLI are separate processes that know the cluster only through TEMPORAL_ADDRESS and
// TEMPORAL_UI_URL, as a team would configure them. One cluster for the file; each test brings its own stack.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { chromium } from 'playwright-core';
import { getHello } from '../src/activities/tyk-http';
import { workflowIdFor } from '../src/shared/names';
import type { UpgradeStatus } from '../src/shared/types';
import { runCli, spawnCli, type CliProcess } from './support/cli';
import { docker, tempDir, waitFor } from './support/services';
import { containerNames, testStack, type TestStack } from './support/stack';
import { startTemporalCluster, type TemporalCluster } from './support/temporal-cluster';
import { waitForGate, waitUntil } from './support/upgrade';

let cluster: TemporalCluster;
let connection: Connection;
/** The test's own eyes on the cluster (status queries, visibility); every action goes through the CLI. */
let client: Client;

before(async () => {
  cluster = await startTemporalCluster({ log: (l) => console.log(l) });
  connection = await Connection.connect({ address: cluster.address });
  client = new Client({ connection, namespace: 'default' });
});
after(async () => {
  await connection?.close();
  await cluster?.remove();
});

/** How a team points the worker and the CLI at the cluster: the load balancer's address and the UI's URL. */
const clusterEnv = () => ({ TEMPORAL_ADDRESS: cluster.address, TEMPORAL_UI_URL: cluster.uiUrl, TEMPORAL_NAMESPACE: 'default' });

async function cli(args: string[], cwd: string, code = 0) {
  const r = await runCli(args, { cwd, env: clusterEnv() });
  assert.equal(r.code, code, `tyk-upgrade ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}\n${code === 0 ? cluster.logs() : ''}`);
  return r;
}

function startWorker(taskQueue: string, cwd: string): CliProcess {
  return spawnCli(['worker', '--task-queue', taskQueue], { cwd, env: clusterEnv() });
}

/** init + start through the CLI, for a stack made by testStack; returns the workflow id. */
async function startFromPlan(stack: TestStack, dir: string, taskQueue: string): Promise<string> {
  // The CLI reaches Docker only through the worker: init asks it on its task queue.
  const init = ['init', '--label', `io.tyk-upgrade.sandbox=${stack.name}`, '--gateway-version', 'v5.3.0', '-o', 'plan.yaml', '--task-queue', taskQueue];
  if (stack.pump) init.push('--pump-version', 'v1.10.0');
  await cli(init, dir);
  const started = await cli(['start', '-f', 'plan.yaml', '--task-queue', taskQueue], dir);
  const id = workflowIdFor(stack.name);
  assert.match(started.stdout, new RegExp(`Started upgrade ${id} \\(run [0-9a-f-]+\\) on task queue ${taskQueue}`));
  // The link points at the cluster's Web UI server, from TEMPORAL_UI_URL.
  assert.match(started.stdout, new RegExp(`Web UI: ${cluster.uiUrl}/namespaces/default/workflows/${id}/[0-9a-f-]+/history`));
  return id;
}

async function gatewaysOnTarget(stack: TestStack): Promise<void> {
  for (const g of stack.gateways) {
    const hello = await getHello(g.url, 'hello');
    assert.equal(hello.body?.version, '5.3.0', `${g.container} runs the target`);
    assert.equal((await docker.getContainer(g.container).inspect()).Config.Image, '127.0.0.1:5000/standin/tyk-gateway:v5.3.0');
  }
}

async function visibleIds(query: string): Promise<string[]> {
  const ids: string[] = [];
  for await (const w of client.workflow.list({ query })) ids.push(w.workflowId);
  return ids;
}

describe('tyk-upgrade on a two-node Temporal cluster on PostgreSQL', () => {
  it('the CLI starts an upgrade through the load balancer, both gates are approved, search attributes filter it in visibility and the Web UI, status reads the finished one from history', async () => {
    const stack = await testStack({ prefix: 'tcluster' });
    const dir = tempDir('tcluster');
    const queue = `tcluster-${randomBytes(4).toString('hex')}`;
    const worker = startWorker(queue, dir);
    try {
      await worker.waitFor(new RegExp(`worker: polling task queue "${queue}" on ${cluster.address.replace(/\./g, '\\.')}`), 120_000);
      const id = await startFromPlan(stack, dir, queue);
      await waitForGate(client, id, 'before-gateways');

      // Visibility (PostgreSQL) answers a query on our search attributes, and only with the matching upgrade.
      const waiting = `TykStack="${stack.name}" AND TykStage="before-gateways"`;
      await waitFor('visibility to index the gate', async () => (await visibleIds(waiting)).includes(id) || undefined);
      assert.deepEqual(await visibleIds(waiting), [id]);
      assert.deepEqual(await visibleIds(`TykStack="${stack.name}" AND TykStage="pump"`), []);

      // The Web UI server in front of the cluster filters by the same attributes.
      const browser = await chromium.launch({
        executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
        args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
      });
      try {
        const page = await browser.newPage();
        await page.goto(`${cluster.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(waiting)}`, { waitUntil: 'domcontentloaded' });
        await page.getByText(id).first().waitFor({ timeout: 60_000 });
        await page.goto(`${cluster.uiUrl}/namespaces/default/workflows?query=${encodeURIComponent(`TykStack="${stack.name}" AND TykStage="pump"`)}`, {
          waitUntil: 'domcontentloaded',
        });
        await page
          .getByText(/No Workflows Found|No Results/)
          .first()
          .waitFor({ timeout: 60_000 });
        assert.equal(await page.getByText(id).count(), 0, 'a query for another stage does not list it');
      } finally {
        await browser.close();
      }

      assert.match((await cli(['approve', id, '--by', 'alice', '--comment', 'CHG-7'], dir)).stdout, /Approved gate before-gateways/);
      await waitForGate(client, id, 'before-pump');
      await cli(['approve', stack.name, '--gate', 'before-pump', '--by', 'bob'], dir);
      const done = await client.workflow.getHandle(id).result();
      assert.equal((done as UpgradeStatus).outcome, 'succeeded');
      await gatewaysOnTarget(stack);
      assert.equal((await docker.getContainer(stack.pump!.container).inspect()).Config.Image, '127.0.0.1:5000/standin/tyk-pump:v1.10.0');
      assert.deepEqual(await visibleIds(`TykStack="${stack.name}" AND TykStage="succeeded" AND ExecutionStatus="Completed"`), [id]);

      // With no worker left anywhere, status still answers: a finished upgrade is read from its history.
      await worker.stop();
      const status = JSON.parse((await cli(['status', id, '--json'], dir)).stdout) as { temporalStatus: string; status: UpgradeStatus; webUi: string };
      assert.equal(status.temporalStatus, 'COMPLETED');
      assert.equal(status.status.outcome, 'succeeded');
      assert.deepEqual(
        status.status.gates.filter((g) => g.state !== 'skipped').map((g) => [g.gate, g.state, g.by]),
        [
          ['before-gateways', 'approved', 'alice'],
          ['before-pump', 'approved', 'bob'],
        ],
      );
      assert.ok(status.webUi.startsWith(`${cluster.uiUrl}/namespaces/default/workflows/${id}/`));
    } finally {
      await worker.stop();
      await stack.remove();
    }
  });

  it('a Temporal node SIGKILLed while a gateway is recreated: the upgrade finishes on the surviving node', async () => {
    const stack = await testStack({ prefix: 'tcnode', gateways: 2, pump: false });
    const dir = tempDir('tcnode');
    const queue = `tcnode-${randomBytes(4).toString('hex')}`;
    const worker = startWorker(queue, dir);
    try {
      await worker.waitFor(new RegExp(`worker: polling task queue "${queue}"`), 120_000);
      const id = await startFromPlan(stack, dir, queue);
      await waitForGate(client, id, 'before-gateways');
      await cli(['approve', id, '--by', 'alice'], dir);
      const first = stack.gateways[0].container;
      const stateOf = (s: UpgradeStatus) => s.instances.find((i) => i.container === first)?.state ?? '';
      const mid = await waitUntil(client, id, `${first} being recreated`, (s) => s.stage === 'gateways' && ['recreating', 'health-check'].includes(stateOf(s)));
      // Kill the node that owns this workflow's history shard: the survivor must take the shard over.
      const victim = cluster.historyOwner(id);
      const survivor = cluster.nodes.find((n) => n !== victim)!;
      await victim.kill();
      const killedAt = Date.now();
      assert.equal(victim.running(), false);

      const done = (await client.workflow.getHandle(id).result()) as UpgradeStatus;
      assert.equal(done.outcome, 'succeeded', JSON.stringify(done));
      console.log(
        `killed ${victim.name} (owner of ${id}'s shard) while ${first} was ${stateOf(mid)}; succeeded ${Math.round((Date.now() - killedAt) / 1000)} s later`,
      );
      assert.equal(worker.child.exitCode, null, 'the same worker process carried on through its reconnect');
      assert.equal(cluster.historyOwner(id), survivor, `the shard moved to ${survivor.name}`);
      await gatewaysOnTarget(stack);
      assert.deepEqual(await containerNames(stack.name), stack.gateways.map((g) => g.container).sort(), 'one container per name');
      // The CLI, through the same address, reads the result from the surviving node.
      const status = JSON.parse((await cli(['status', id, '--json'], dir)).stdout) as { temporalStatus: string; status: UpgradeStatus };
      assert.equal(status.temporalStatus, 'COMPLETED');
      assert.deepEqual(
        status.status.instances.map((i) => i.state),
        ['upgraded', 'upgraded'],
      );
    } finally {
      await worker.stop();
      await stack.remove();
      await cluster.start();
    }
  });

  it('the whole cluster stopped and started while an upgrade waits at a gate: the approval still works', async () => {
    const stack = await testStack({ prefix: 'tcrestart', pump: false });
    const dir = tempDir('tcrestart');
    const queue = `tcrestart-${randomBytes(4).toString('hex')}`;
    const worker = startWorker(queue, dir);
    try {
      await worker.waitFor(new RegExp(`worker: polling task queue "${queue}"`), 120_000);
      const id = await startFromPlan(stack, dir, queue);
      await waitForGate(client, id, 'before-gateways');
      await cluster.stop();
      assert.ok(
        cluster.nodes.every((n) => !n.running()),
        'every Temporal node is down',
      );
      // While it is down, the CLI says so and changes nothing.
      const down = await runCli(['status', id], { cwd: dir, env: clusterEnv(), timeoutMs: 60_000 });
      assert.equal(down.code, 6, `exit ${down.code} (null: killed at the timeout)\n${down.stdout}\n${down.stderr}`);
      assert.match(down.stderr, new RegExp(`cannot reach Temporal at ${cluster.address.replace(/\./g, '\\.')} \\(namespace default\\)`));
      await cluster.start();
      await waitForGate(client, id, 'before-gateways'); // still waiting at its gate: the refused call changed nothing

      assert.match((await cli(['approve', id, '--by', 'carol'], dir)).stdout, /Approved gate before-gateways .*by carol/);
      const done = (await client.workflow.getHandle(id).result()) as UpgradeStatus;
      assert.equal(done.outcome, 'succeeded');
      await gatewaysOnTarget(stack);
      assert.deepEqual(await containerNames(stack.name), [stack.gateways[0].container]);
    } finally {
      await worker.stop();
      await stack.remove();
    }
  });
});
