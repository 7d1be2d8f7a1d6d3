// `worker --host NAME --no-workflows`: a host worker that serves its host's activities and leaves the orchestration
// to another worker. Two hosts of a plan on this machine's engine (each host's own gateway), the first host's worker
// running the workflows too, the second's not: the upgrade ends with both gateways on the target version, the
// second worker never polled for workflows, and `init`'s look-up still finds both hosts.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getHello } from '../src/activities/tyk-http';
import { fleetWorkers } from '../src/client-lib/fleet';
import { startUpgrade } from '../src/client-lib/upgrades';
import { hostTaskQueue } from '../src/shared/names';
import { spawnHostWorker, type HostWorker } from './support/fleet';
import { connectTestEnv } from './support/services';
import { testStack } from './support/stack';

const WORKFLOW_QUEUE = 1;
const ACTIVITY_QUEUE = 2;

let env: TestWorkflowEnvironment;
before(async () => {
  env = await connectTestEnv();
});
after(() => env.teardown());

async function pollers(taskQueue: string, type: number): Promise<string[]> {
  const res = await env.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: taskQueue }, taskQueueType: type });
  return (res.pollers ?? []).map((p) => p.identity ?? '');
}

describe('a host worker without the workflows', () => {
  it('serves its host while another worker runs the orchestration; the upgrade ends on the target everywhere', async () => {
    const stack = await testStack({ prefix: 'light', gateways: 2, pump: false });
    const id = stack.name.replace(/^light-/, '');
    const [full, light] = [`full-${id}`, `light-${id}`];
    const taskQueue = `light-${id}`;
    const workers: HostWorker[] = [];
    try {
      const dockerHost = process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
      workers.push(spawnHostWorker(full, taskQueue, dockerHost), spawnHostWorker(light, taskQueue, dockerHost, { args: ['--no-workflows'] }));
      await Promise.all(workers.map((w) => w.ready));
      assert.match(workers[1].output(), /no workflows \(other workers run the orchestration/);

      const input = stack.input({ gates: [], soakMs: 500 });
      input.gateways = input.gateways.map((g, i) => ({ ...g, host: i === 0 ? full : light }));
      const handle = await startUpgrade(env.client, input, { taskQueue });
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded', result.reason);
      for (const g of stack.gateways) assert.equal((await getHello(g.url, 'hello')).body?.version, '5.3.0', g.container);

      // Only the full worker ever polled for workflow tasks; both poll their host's queue and the main one's activities.
      const workflowPollers = await pollers(taskQueue, WORKFLOW_QUEUE);
      assert.ok(workflowPollers.some((p) => p.includes(full)) && !workflowPollers.some((p) => p.includes(light)), workflowPollers.join(', '));
      assert.ok((await pollers(hostTaskQueue(light), ACTIVITY_QUEUE)).some((p) => p.includes(light)));
      assert.deepEqual((await fleetWorkers(env.client, taskQueue)).hosts, [full, light].sort());
    } finally {
      for (const w of workers) await w.kill();
      await stack.remove();
    }
  });

  it('--no-workflows without --host is refused with exit 2 before anything starts', async () => {
    const run = promisify(execFile)(process.execPath, [join(__dirname, '..', 'src', 'client.js'), 'worker', '--no-workflows'], {
      env: { ...process.env, TEMPORAL_ADDRESS: '127.0.0.1:1' },
    });
    await assert.rejects(run, (err: { code?: number; stderr?: string }) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr ?? '', /--no-workflows needs --host NAME/);
      return true;
    });
  });
});
