// Durability: a worker killed with SIGKILL at the worst moments, and a registry that dies during the pull.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startUpgrade } from '../src/client-lib/upgrades';
import { getHello } from '../src/activities/tyk-http';
import { oldContainerName } from '../src/shared/names';
import { connectTestEnv, docker, freePort, REGISTRY } from './support/services';
import { containerNames, testStack } from './support/stack';
import { failureOf, keepHistory } from './support/upgrade';
import { spawnWorker, type WorkerProcess } from './support/worker-process';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await connectTestEnv();
});
after(() => env.teardown());

for (const point of ['pull:pulled', 'recreate:after-stop', 'health:start']) {
  describe(`worker SIGKILLed at ${point}`, () => {
    it('a new worker resumes and the upgrade ends correct, with exactly one container per name', async () => {
      const stack = await testStack({ prefix: `crash-${point.replace(':', '-')}` });
      const taskQueue = `crash-${Date.now()}`;
      const first = spawnWorker(taskQueue, { crashAt: point });
      let second: WorkerProcess | undefined;
      try {
        const handle = await startUpgrade(env.client, stack.input({ gates: [] }), { taskQueue });
        const died = await first.exited;
        assert.equal(died.signal, 'SIGKILL', `worker died by SIGKILL (output: ${first.output()})`);
        assert.match(first.output(), new RegExp(`crashing at ${point}`));
        if (point === 'recreate:after-stop') {
          // The worst moment: the old gateway is stopped and its replacement, already under its name, not started.
          const name = stack.gateways[0].container;
          const [replacement, old] = await Promise.all([docker.getContainer(name).inspect(), docker.getContainer(oldContainerName(name)).inspect()]);
          assert.equal(replacement.Config.Image, '127.0.0.1:5000/standin/tyk-gateway:v5.3.0');
          assert.equal(replacement.State.Running, false);
          assert.equal(old.State.Running, false);
        }
        second = spawnWorker(taskQueue);
        const result = await handle.result();
        await keepHistory(handle, `crash-${point.replace(':', '-')}`);
        assert.equal(result.outcome, 'succeeded');
        assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0');
        const pump = await docker.getContainer(stack.pump!.container).inspect();
        assert.equal(pump.Config.Image, '127.0.0.1:5000/standin/tyk-pump:v1.10.0');
        assert.deepEqual(await containerNames(stack.name), [stack.gateways[0].container, stack.pump!.container].sort());
        // Secrets from tyk.conf never reach the worker's log.
        const logs = first.output() + second.output();
        assert.ok(!logs.includes(stack.secret), 'no tyk.conf secret in the worker log');
        assert.ok(!logs.includes(stack.redisPassword), 'no storage.password in the worker log');
      } finally {
        await first.stop();
        await second?.stop();
        await stack.remove();
      }
    });
  });
}

/**
 * A registry front that answers the preflight's look-up (the engine's /distribution call: GET /v2/, then
 * manifest and config), then goes down for good: the pull's own GET /v2/ is the first request it drops.
 */
function dyingRegistry(port: number): Promise<Server> {
  let pings = 0;
  const server = createServer((req, res) => {
    if (req.url === '/v2/') pings++;
    if (pings >= 2) {
      req.socket.destroy();
      return;
    }
    const [host, p] = REGISTRY.split(':');
    const up = httpRequest({ host, port: Number(p), path: req.url, method: req.method, headers: { ...req.headers, host: REGISTRY } }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on('error', () => res.destroy());
    req.pipe(up);
  });
  return new Promise((resolve) => server.listen(port, '127.0.0.1', () => resolve(server)));
}

describe('registry down during the pull', () => {
  it('fails clearly before any container is stopped', async () => {
    const stack = await testStack({ prefix: 'regdown', pump: false });
    const port = await freePort();
    const registry = await dyingRegistry(port);
    const { startWorker } = await import('./support/worker');
    const worker = await startWorker(env);
    try {
      const gw = await docker.getContainer(stack.gateways[0].container).inspect();
      const handle = await startUpgrade(env.client, stack.input({ gatewayRepository: `127.0.0.1:${port}/standin/tyk-gateway`, gates: [] }), {
        taskQueue: worker.taskQueue,
      });
      const f = await failureOf(handle.result());
      await keepHistory(handle, 'registry-down-during-pull');
      assert.equal(f.status.outcome, 'failed');
      assert.equal(f.status.stages.find((s) => s.name === 'pull')?.state, 'failed');
      assert.match(f.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
      const now = await docker.getContainer(stack.gateways[0].container).inspect();
      assert.equal(now.Id, gw.Id);
      assert.equal(now.State.Running, true, 'the gateway was never stopped');
      assert.equal(now.State.StartedAt, gw.State.StartedAt, 'not even restarted');
      assert.deepEqual(await containerNames(stack.name), [stack.gateways[0].container]);
    } finally {
      await worker.stop();
      registry.close();
      await stack.remove();
    }
  });
});
