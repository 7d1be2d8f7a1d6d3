// Fault: the Temporal server itself dies (SIGKILL) while a gateway is being recreated, and is started again on
// the same db file. Documented end state (docs/faults.md): the upgrade resumes and succeeds, the worker that saw
// the server go reconnects by itself, exactly one container per name.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { getStatus, startUpgrade } from '../src/client-lib/upgrades';
import { startDevServer, type DevServer } from '../src/devserver/dev-server';
import type { UpgradeStatus } from '../src/shared/types';
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
});
