// Fault: the worker SIGKILLed in the middle of a rollback. Documented end state (docs/faults.md): a new worker
// finishes the rollback; the upgrade ends rolled back, the old container serves the old version, its config is
// byte-identical to the backup, one container per name. The worker logs the outcome in one line, no stack trace.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startUpgrade } from '../src/client-lib/upgrades';
import { configDiffersFromBackup, faultStack, namesOn, servedVersion } from './support/faults';
import { spawnWorker } from './support/worker-process';
import { connectTestEnv, docker, FAULTY_REPO, waitFor } from './support/services';
import { activitiesIn, childrenOf, upgradeHistories } from './support/history';
import { failureOf, waitForRunningActivity } from './support/upgrade';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await connectTestEnv();
});
after(() => env.teardown());

describe('the worker SIGKILLed during a rollback', () => {
  it('a new worker finishes the rollback: the old version serves, config as backed up', async () => {
    const stack = await faultStack(docker, { prefix: 'flt-rbkill' });
    const taskQueue = `flt-rbkill-${Date.now()}`;
    const first = spawnWorker(taskQueue);
    let second: ReturnType<typeof spawnWorker> | undefined;
    try {
      const original = await docker.getContainer(stack.gateways[0].container).inspect();
      // A build whose /hello fails: the health check fails and the rollback starts.
      const handle = await startUpgrade(env.client, stack.input({ gatewayRepository: FAULTY_REPO('hello-fail'), healthTimeoutMs: 4_000 }), { taskQueue });
      // Kill only once the rollback activity runs on the first worker (the batch child's pending activity), so the
      // kill cuts it: the rollback is then the second worker's retry of a half-done attempt.
      const running = await waitForRunningActivity(env.client, handle.workflowId, 'rollbackContainer');
      assert.ok(running.identity.startsWith(`${first.pid}@`), `the rollback runs on the first worker (${running.identity}, pid ${first.pid})`);
      await first.kill();
      second = spawnWorker(taskQueue);

      const f = await failureOf(handle.result());
      // The history shows the cut: the rollback closed on a later attempt, by the second worker, after the first
      // attempt was lost with its worker (no heartbeat).
      const [child] = childrenOf(await upgradeHistories(env.client, handle.workflowId));
      const rollbacks = activitiesIn(child.history).filter((a) => a.type === 'rollbackContainer');
      assert.deepEqual(
        rollbacks.map((a) => [a.outcome, (a.attempt ?? 0) > 1, a.identity?.startsWith(`${second?.pid}@`)]),
        [['completed', true, true]],
        `the rollback was cut and redone (worker pids ${first.pid}, ${second?.pid}): ${JSON.stringify(rollbacks.map(({ attempt, identity, outcome }) => ({ attempt, identity, outcome })))}`,
      );
      assert.match(rollbacks[0].lastFailure ?? '', /heartbeat|timeout/i, 'the first attempt ended with its worker');
      assert.equal(f.status.outcome, 'rolled-back', f.message);
      assert.equal(f.status.instances[0].state, 'rolled-back');
      const now = await docker.getContainer(stack.gateways[0].container).inspect();
      assert.equal(now.Id, original.Id, 'the original container is back under its name');
      assert.equal(now.State.Running, true);
      assert.equal(await servedVersion(stack.gateways[0].url), '5.2.0');
      assert.deepEqual(await configDiffersFromBackup(docker, f.status.backups[0].manifest, stack.gateways[0].container), []);
      assert.deepEqual(await namesOn(docker, stack.name), [stack.gateways[0].container]);

      // `tyk-upgrade worker` reports the ended upgrade in one line, without a stack trace.
      const line = await waitFor('the worker to log the outcome', async () =>
        second!
          .output()
          .split('\n')
          .find((l) => l.includes('Workflow failed')),
      );
      assert.match(line, /\[WARN\] Workflow failed workflowId=tyk-upgrade-flt-rbkill-\S+ taskQueue=\S+: rolled back: /);
      assert.doesNotMatch(second.output(), /^\s+at /m, 'no stack trace in the worker log');
    } finally {
      await first.stop();
      await second?.stop();
      await stack.remove();
    }
  });
});
