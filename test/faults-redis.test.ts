// Fault: Redis goes away while a new gateway's health check runs. Each stack has its own redis-server, stopped
// (SIGKILL) when the workflow says the gateway is in its health check; the gateways have a 3 s warm-up, as Tyk's
// liveness check, so that moment comes before the gateway's first Redis check. Documented end states (docs/faults.md):
// - Redis stays away: /hello reports Redis failing, the gateway is never declared healthy, the health check fails
//   naming Redis as the cause, and the upgrade rolls back (its rollback, too, waits for Redis: it is back by then).
// - Redis returns within the health timeout: the check waits for it and the upgrade succeeds.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { getHello } from '../src/activities/tyk-http';
import { getStatus, startUpgrade } from '../src/client-lib/upgrades';
import { configDiffersFromBackup, faultStack, namesOn, servedVersion, type FaultStack } from './support/faults';
import { docker, sleep, waitFor } from './support/services';
import { useUpgradeWorker } from './support/worker';
import { failureOf } from './support/upgrade';

const t = useUpgradeWorker();

async function untilState(id: string, state: string): Promise<void> {
  await waitFor(
    `the gateway in state ${state}`,
    async () => {
      const s = await getStatus(t.env.client, id);
      if (s.outcome !== 'running') throw new Error(`ended ${s.outcome} before ${state}: ${s.reason}`);
      return s.instances[0]?.state === state ? true : undefined;
    },
    90_000,
    20,
  );
}

function redisFailing(stack: FaultStack) {
  return waitFor(
    '/hello to report Redis failing',
    async () => {
      const hello = await getHello(stack.gateways[0].url, 'hello');
      return hello.body?.details?.redis?.status === 'fail' ? hello.body : undefined;
    },
    20_000,
    100,
  );
}

describe('Redis unreachable during a gateway health check', () => {
  it('and not back within the health timeout: never declared healthy, rolled back, Redis named as the cause', async () => {
    const stack = await faultStack(docker, { prefix: 'flt-redis', checkDurationMs: 3_000 });
    try {
      const handle = await startUpgrade(t.env.client, stack.input({ healthTimeoutMs: 8_000 }), { taskQueue: t.worker.taskQueue });
      await untilState(handle.workflowId, 'health-check');
      await stack.redis.stop();
      const hello = await redisFailing(stack);
      assert.equal(hello.status, 'fail');
      assert.equal(hello.version, '5.3.0', 'the new gateway answers, but fails its Redis check');
      // The rollback needs Redis too (the old version must prove healthy): bring it back once the rollback starts.
      await untilState(handle.workflowId, 'rolling-back');
      const during = await getStatus(t.env.client, handle.workflowId);
      assert.notEqual(during.instances[0].state, 'upgraded');
      await stack.redis.start();

      const f = await failureOf(handle.result());
      assert.equal(f.status.outcome, 'rolled-back', f.message);
      assert.match(
        f.message,
        new RegExp(`${stack.gateways[0].container} is not healthy on 5\\.3\\.0 after [\\d.]+ s: the gateway cannot reach Redis \\(/hello: status fail`),
      );
      assert.match(f.status.instances[0].detail ?? '', /cannot reach Redis/);
      assert.equal(await servedVersion(stack.gateways[0].url), '5.2.0');
      assert.deepEqual(await configDiffersFromBackup(docker, f.status.backups[0].manifest, stack.gateways[0].container), []);
      assert.deepEqual(await namesOn(docker, stack.name), [stack.gateways[0].container]);
    } finally {
      await stack.remove();
    }
  });

  it('and back within the health timeout: the check waits for it and the upgrade succeeds', async () => {
    const stack = await faultStack(docker, { prefix: 'flt-redis-back', checkDurationMs: 3_000 });
    try {
      const handle = await startUpgrade(t.env.client, stack.input({ healthTimeoutMs: 30_000 }), { taskQueue: t.worker.taskQueue });
      await untilState(handle.workflowId, 'health-check');
      await stack.redis.stop();
      await redisFailing(stack);
      await sleep(1_000);
      assert.equal((await getStatus(t.env.client, handle.workflowId)).instances[0].state, 'health-check', 'still waiting while Redis is down');
      await stack.redis.start();
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded');
      const hello = (await getHello(stack.gateways[0].url, 'hello')).body;
      assert.equal(hello?.version, '5.3.0');
      assert.equal(hello?.details?.redis?.status, 'pass');
      assert.deepEqual(await namesOn(docker, stack.name), [stack.gateways[0].container]);
    } finally {
      await stack.remove();
    }
  });
});
