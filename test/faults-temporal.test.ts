// Fault: the Temporal server itself dies (SIGKILL) while a gateway is being recreated, and is started again on
// the same db file. Documented end state (docs/faults.md): the upgrade resumes and succeeds, the worker that saw
// the server go reconnects by itself, exactly one container per name; a `tyk-upgrade watch` of it says the server
// is gone, keeps watching, and ends with the upgrade.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { decide, getStatus, startUpgrade } from '../src/client-lib/upgrades';
import { startDevServer, type DevServer } from '../src/devserver/dev-server';
import type { UpgradeStatus } from '../src/shared/types';
import { type CliProcess, spawnCli } from './support/cli';
import { faultStack, namesOn, servedVersion, type FaultStack } from './support/faults';
import { spawnWorker } from './support/worker-process';
import { activitiesIn, upgradeHistories } from './support/history';
import { docker, freePort, sleep, tempDir, waitFor } from './support/services';
import { waitForRunningActivity } from './support/upgrade';

describe('the Temporal dev server SIGKILLed while a gateway is being recreated', () => {
  let server: DevServer;
  let dbFile: string;
  let ports: { port: number; uiPort: number };
  let stack: FaultStack;
  before(async () => {
    const dir = tempDir('flt-temporal');
    dbFile = join(dir, 'temporal.db');
    ports = { port: await freePort(), uiPort: await freePort() };
    server = await startDevServer({ ...ports, dbFile, logFile: join(dir, 'temporal.log') });
    stack = await faultStack(docker, { prefix: 'flt-tkill' });
  });
  after(async () => {
    await stack?.remove();
    await server?.stop();
  });

  it('started again on the same db file, the upgrade resumes and succeeds, one container per name', async () => {
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const taskQueue = `flt-tkill-${Date.now()}`;
    const worker = spawnWorker(taskQueue, { temporal: server.address });
    try {
      const handle = await startUpgrade(client, stack.input(), { taskQueue });
      // The recreate itself must be under way (started on the worker, not finished) when the server dies.
      const recreating = await waitForRunningActivity(client, handle.workflowId, 'recreateContainer');
      const killedAt = Date.now();
      process.kill(server.pid as number, 'SIGKILL');
      assert.match(await server.exited, /SIGKILL/);
      await sleep(2000); // the worker and the client see the server gone
      server = await startDevServer({ ...ports, dbFile });

      // Neither the worker nor the client is restarted: both reconnect to the same address.
      const end = await waitFor(
        'the upgrade to end',
        async () => {
          const s: UpgradeStatus = await getStatus(client, handle.workflowId);
          return s.outcome === 'running' ? undefined : s;
        },
        120_000,
        500,
      );
      assert.equal(end.outcome, 'succeeded', `${end.reason ?? ''}\nworker output:\n${worker.output()}`);
      assert.ok(worker.running(), 'the worker outlived the server outage');
      assert.equal(await servedVersion(stack.gateways[0].url), '5.3.0');
      const gw = await docker.getContainer(stack.gateways[0].container).inspect();
      assert.equal(gw.Config.Image, '127.0.0.1:5000/standin/tyk-gateway:v5.3.0');
      assert.deepEqual(await namesOn(docker, stack.name), [stack.gateways[0].container]);
      // The history, kept across the outage by the db file, shows the kill landed inside the recreate.
      const batch = (await upgradeHistories(client, handle.workflowId)).find((r) => r.workflowId === recreating.workflowId);
      const recreate = activitiesIn(batch!.history).find((a) => a.type === 'recreateContainer');
      assert.ok(
        recreate && recreate.scheduledAt <= killedAt && (recreate.closedAt ?? 0) > killedAt && recreate.outcome === 'completed',
        `the recreate was in flight when the server was killed at ${killedAt}: ${JSON.stringify(recreate && { ...recreate, input: undefined })}`,
      );
    } finally {
      await worker.stop();
      await connection.close();
    }
  });
  it('a watch of an upgrade at its gate outlives 25 s without the server: says so, waits, and ends with the upgrade (exit 0)', async () => {
    const waiting = await faultStack(docker, { prefix: 'flt-twatch' });
    const connection = await Connection.connect({ address: server.address });
    const client = new Client({ connection });
    const taskQueue = `flt-twatch-${Date.now()}`;
    const worker = spawnWorker(taskQueue, { temporal: server.address });
    let watch: CliProcess | undefined;
    try {
      const handle = await startUpgrade(client, waiting.input({ gates: ['before-gateways'] }), { taskQueue });
      watch = spawnCli(['watch', handle.workflowId], { env: { TEMPORAL_ADDRESS: server.address, TYK_UPGRADE_TASK_QUEUE: taskQueue } });
      await watch.waitFor(/to approve: tyk-upgrade approve/, 90_000);
      process.kill(server.pid as number, 'SIGKILL');
      assert.match(await server.exited, /SIGKILL/);
      // Longer than the SDK's own retries of a server that does not answer (about 15 s).
      await sleep(25_000);
      server = await startDevServer({ ...ports, dbFile });
      await decide(client, handle.workflowId, 'approve', { gate: 'before-gateways', by: 'ops' });
      assert.equal(await watch.exited, 0, watch.output());
      const out = watch.output();
      assert.match(out, /the Temporal server does not answer \(.+\); still watching, the upgrade goes on by itself/);
      assert.match(out, /the Temporal server answers again/);
      assert.match(out, /gate before-gateways: approved/);
      assert.equal(await servedVersion(waiting.gateways[0].url), '5.3.0');
    } finally {
      await watch?.stop();
      await worker.stop();
      await connection.close();
      await waiting.remove();
    }
  });
});
