// Replacements made ahead (during the batch before's soak) on a real engine: recreate takes one only while it was
// made from the container as it is now, and the one nobody took is discarded without touching what runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startUpgrade } from '../src/client-lib/upgrades';
import { discardReplacements, prepareReplacement } from '../src/activities/prepare';
import { recreateContainer } from '../src/activities/recreate';
import { getHello } from '../src/activities/tyk-http';
import { newContainerName, oldContainerName } from '../src/shared/names';
import { docker, GATEWAY_REPO, waitFor } from './support/services';
import { containerNames, testStack, type TestStack } from './support/stack';
import { failureOf, keepHistory, waitUntil } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();

const TO_IMAGE = `${GATEWAY_REPO}:v5.3.0`;
const none = () => undefined;

const inspect = (name: string) =>
  docker
    .getContainer(name)
    .inspect()
    .catch(() => undefined);
const served = (url: string) =>
  waitFor(`${url} to answer 5.3.0`, async () => ((await getHello(url, 'hello', 1000)).body?.version === '5.3.0' ? true : undefined));

describe('replacements made ahead of their batch', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({ prefix: 'ahead', gateways: 3, pump: false });
  });
  after(async () => stack?.remove());

  it('recreate takes the prepared replacement when the container has not changed since', async () => {
    const gw = stack.gateways[0];
    const prepared = await prepareReplacement(docker, { container: gw.container, toImage: TO_IMAGE });
    assert.ok(prepared, 'a replacement was made');
    const made = await inspect(newContainerName(gw.container));
    assert.equal(made?.Id, prepared.id);
    assert.equal(made?.Config.Image, TO_IMAGE);
    assert.equal(made?.State.StartedAt, '0001-01-01T00:00:00Z', 'made, never started');
    // The old gateway serves on while its replacement waits.
    assert.equal((await getHello(gw.url, 'hello', 1000)).body?.version, '5.2.0');

    const r = await recreateContainer(docker, { container: gw.container, toImage: TO_IMAGE, drainTimeoutSec: 5, prepared }, none);
    assert.equal(r.id, prepared.id, 'the prepared container is the one that now runs');
    assert.equal((await inspect(gw.container))?.Id, prepared.id);
    assert.equal(await inspect(newContainerName(gw.container)), undefined);
    assert.equal((await inspect(oldContainerName(gw.container)))?.Config.Image.endsWith(':v5.2.0'), true, 'the old one is kept for a rollback');
    await served(gw.url);
  });

  it('recreate makes its own when the container was changed after the replacement was made (docker update)', async () => {
    const gw = stack.gateways[1];
    const prepared = await prepareReplacement(docker, { container: gw.container, toImage: TO_IMAGE });
    assert.ok(prepared);
    await docker.getContainer(gw.container).update({ RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 } });

    const r = await recreateContainer(docker, { container: gw.container, toImage: TO_IMAGE, drainTimeoutSec: 5, prepared }, none);
    assert.notEqual(r.id, prepared.id, 'the stale replacement is not used');
    assert.equal(await inspect(prepared.id), undefined, 'and it is gone');
    const now = await inspect(gw.container);
    assert.equal(now?.Id, r.id);
    assert.deepEqual(now?.HostConfig.RestartPolicy, { Name: 'on-failure', MaximumRetryCount: 3 }, 'the replacement has what the container had at its recreate');
    await served(gw.url);
  });

  it('a replacement no recreate took is discarded; the container it was made for runs on untouched', async () => {
    const gw = stack.gateways[2];
    const running = await inspect(gw.container);
    const prepared = await prepareReplacement(docker, { container: gw.container, toImage: TO_IMAGE });
    assert.ok(prepared);
    // A second prepare (a retry) replaces the first: one replacement, never two.
    const again = await prepareReplacement(docker, { container: gw.container, toImage: TO_IMAGE });
    assert.ok(again);
    assert.equal(await inspect(prepared.id), undefined);

    const r = await discardReplacements(docker, [gw.container, stack.gateways[0].container]);
    assert.deepEqual(r, { done: [`${gw.container}: removed its unused replacement ${newContainerName(gw.container)}`], warnings: [] });
    assert.equal(await inspect(newContainerName(gw.container)), undefined);
    const after = await inspect(gw.container);
    assert.equal(after?.Id, running?.Id);
    assert.equal(after?.State.Running, true);
    assert.equal((await getHello(gw.url, 'hello', 1000)).body?.version, '5.2.0');
    // Nothing to make for a container already on the target.
    assert.equal(await prepareReplacement(docker, { container: stack.gateways[0].container, toImage: TO_IMAGE }), undefined);
  });
});

describe('an upgrade that stops before the batch whose replacements were made ahead', () => {
  it('removes them: the second gateway runs on, untouched, and no container is left behind', async () => {
    const stack = await testStack({ prefix: 'ahead-rb', gateways: 2, pump: false });
    try {
      const [first, second] = stack.gateways;
      const untouched = await inspect(second.container);
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [], batchSize: 1, soakMs: 20_000 }), { taskQueue: t.worker.taskQueue });
      await waitUntil(t.env.client, handle.workflowId, 'the first gateway soaking', (s) => s.instances[0]?.state === 'upgraded');
      // Batch 1 soaks; meanwhile it makes batch 2's replacement. Then the canary dies in its soak: the run rolls back.
      const made = await waitFor(`${newContainerName(second.container)} made ahead`, () => inspect(newContainerName(second.container)));
      assert.equal(made.Config.Image, TO_IMAGE);
      await docker.getContainer(first.container).kill();
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'ahead-discarded', t.env.client);
      assert.equal(failure.status.outcome, 'rolled-back', failure.message);
      assert.deepEqual(
        failure.status.instances.map((i) => [i.container, i.state]),
        [
          [first.container, 'rolled-back'],
          [second.container, 'pending'],
        ],
      );
      assert.deepEqual(await containerNames(stack.name), [first.container, second.container].sort());
      const now = await inspect(second.container);
      assert.equal(now?.Id, untouched?.Id);
      assert.equal(now?.State.StartedAt, untouched?.State.StartedAt, 'never restarted');
      for (const g of stack.gateways) assert.equal((await getHello(g.url, 'hello', 1000)).body?.version, '5.2.0');
    } finally {
      await stack.remove();
    }
  });
});
