// Automatic rollback: each faulty gateway build is caught by the health check and the old one comes back.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startUpgrade } from '../src/client-lib/upgrades';
import { getHello } from '../src/activities/tyk-http';
import { docker, FAULTY_REPO, sleep } from './support/services';
import { activitiesIn, childrenOf, containersOf, upgradeHistories } from './support/history';
import { containerNames, testStack } from './support/stack';
import { failureOf, keepHistory, waitUntil } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();

const filesOf = (dir: string): Record<string, string> =>
  Object.fromEntries(
    readdirSync(dir, { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile())
      .map((e) => [join(e.parentPath, e.name), readFileSync(join(e.parentPath, e.name), 'base64')]),
  );

const cases = [
  { fault: 'hello-fail', saw: /status fail, version 5\.3\.0, redis fail \(storage: Redis is either down or was not configured\)/ },
  { fault: 'exit-at-start', saw: /container (exited with code 1|is restarting)/ },
  { fault: 'wrong-version', saw: /version 5\.1\.0.*expected version 5\.3\.0/ },
] as const;

for (const { fault, saw } of cases) {
  describe(`faulty target: ${fault}`, () => {
    it('rolls back: the old container serves 5.2.0 again, config identical, failure names the container and what was seen', async () => {
      const stack = await testStack({ prefix: `rb-${fault}`, pump: false });
      try {
        const gw = stack.gateways[0].container;
        const original = await docker.getContainer(gw).inspect();
        const files = filesOf(stack.dir);
        const handle = await startUpgrade(t.env.client, stack.input({ gatewayRepository: FAULTY_REPO(fault), gates: [], healthTimeoutMs: 8_000 }), {
          taskQueue: t.worker.taskQueue,
        });
        const failure = await failureOf(handle.result());
        await keepHistory(handle, `rollback-${fault}`, t.env.client);
        assert.equal(failure.type, 'UpgradeRolledBack');
        assert.match(failure.message, new RegExp(`${gw} is not healthy on 5\\.3\\.0`));
        assert.match(failure.message, saw);
        assert.equal(failure.status.outcome, 'rolled-back');
        assert.equal(failure.status.instances[0].state, 'rolled-back');

        const now = await docker.getContainer(gw).inspect();
        assert.equal(now.Id, original.Id, 'the very same old container is back');
        assert.equal(now.Config.Image, original.Config.Image);
        assert.equal(now.State.Running, true);
        const hello = await getHello(stack.gateways[0].url, 'hello');
        assert.equal(hello.body?.version, '5.2.0');
        assert.equal(hello.body?.status, 'pass');
        assert.deepEqual(filesOf(stack.dir), files, 'config files byte-identical');
        assert.deepEqual(await containerNames(stack.name), [gw], 'no leftover -old/-new/-failed containers');
        const log = readdirSync(failure.status.backups[0].dir).find((f) => f.endsWith('.failed.log'));
        assert.ok(log, 'the failed container log is kept beside the backup');
      } finally {
        await stack.remove();
      }
    });
  });
}

describe('a pump that fails after the gateways were upgraded', () => {
  it('rolls back everything the run changed, newest first: pump and gateways are back on their old versions', async () => {
    const stack = await testStack({ prefix: 'rb-pump', gateways: 2 });
    try {
      const before = await Promise.all([...stack.gateways.map((g) => g.container), stack.pump!.container].map((n) => docker.getContainer(n).inspect()));
      const files = filesOf(stack.dir);
      // A pump "image" that exits at start: the faulty gateway build stands in for a broken pump release.
      const handle = await startUpgrade(
        t.env.client,
        stack.input({ gates: [], pumpRepository: FAULTY_REPO('exit-at-start'), pumpVersion: 'v5.3.0', batchSize: 2, healthTimeoutMs: 8_000 }),
        { taskQueue: t.worker.taskQueue },
      );
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'rollback-pump-and-gateways', t.env.client);
      assert.equal(failure.status.outcome, 'rolled-back');
      assert.deepEqual(
        failure.status.instances.map((i) => i.state),
        ['rolled-back', 'rolled-back', 'rolled-back'],
      );
      assert.match(failure.message, new RegExp(`${stack.pump!.container} is not healthy on 5\\.3\\.0`));
      for (const [i, name] of [...stack.gateways.map((g) => g.container), stack.pump!.container].entries()) {
        const now = await docker.getContainer(name).inspect();
        assert.equal(now.Id, before[i].Id, `${name} is the original container`);
        assert.equal(now.State.Running, true);
      }
      for (const g of stack.gateways) assert.equal((await getHello(g.url, 'hello')).body?.version, '5.2.0');
      assert.deepEqual(filesOf(stack.dir), files);
      assert.deepEqual(await containerNames(stack.name), [...stack.gateways.map((g) => g.container), stack.pump!.container].sort());
      // Newest first, from what ran: the pump's rollback ended before the gateways' began.
      const rollbacks = childrenOf(await upgradeHistories(t.env.client, handle.workflowId))
        .flatMap((c) => activitiesIn(c.history))
        .filter((a) => a.type === 'rollbackContainer' && a.outcome === 'completed');
      const pump = rollbacks.filter((a) => containersOf(a).includes(stack.pump!.container));
      const gateways = rollbacks.filter((a) => !pump.includes(a));
      assert.deepEqual(gateways.flatMap(containersOf).sort(), stack.gateways.map((g) => g.container).sort());
      assert.equal(pump.length, 1);
      assert.ok(
        gateways.every((g) => g.scheduledAt >= (pump[0].closedAt ?? Number.POSITIVE_INFINITY)),
        'the pump, changed last, was rolled back first',
      );
    } finally {
      await stack.remove();
    }
  });
});

describe('a gateway that dies after passing its health check', () => {
  it('is caught by the soak and rolled back', async () => {
    const stack = await testStack({ prefix: 'rb-soak', pump: false });
    try {
      const gw = stack.gateways[0].container;
      const original = await docker.getContainer(gw).inspect();
      const handle = await startUpgrade(t.env.client, stack.input({ gates: [], soakMs: 20_000 }), { taskQueue: t.worker.taskQueue });
      await waitUntil(t.env.client, handle.workflowId, 'the gateway soaking', (s) => s.instances[0]?.state === 'upgraded');
      await sleep(500);
      await docker.getContainer(gw).kill(); // restart policy brings it back: the soak must notice anyway
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'rollback-during-soak', t.env.client);
      assert.equal(failure.status.outcome, 'rolled-back');
      // The probe sees the kill as the engine's state or, a moment earlier, as /hello refused or cut mid-answer: all are caught.
      assert.match(
        failure.message,
        new RegExp(
          `${gw} became unhealthy during the 20 s soak on 5\\.3\\.0: (container (restarted|exited|is restarting)|/hello: ECONNREFUSED|/hello: ECONNRESET)`,
        ),
      );
      const now = await docker.getContainer(gw).inspect();
      assert.equal(now.Id, original.Id);
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');
      assert.deepEqual(await containerNames(stack.name), [gw]);
    } finally {
      await stack.remove();
    }
  });
});

describe('restore from the backup', () => {
  it('puts back config the new version changed, byte for byte, checked by sha256', async () => {
    const stack = await testStack({ prefix: 'rb-restore', pump: false });
    try {
      const conf = join(stack.gateways[0].confDir, 'tyk.conf');
      const api = join(stack.gateways[0].confDir, 'apps', 'httpbin.json');
      const original = { conf: readFileSync(conf), api: readFileSync(api) };
      const handle = await startUpgrade(t.env.client, stack.input({ gatewayRepository: FAULTY_REPO('hello-fail'), gates: [], healthTimeoutMs: 6_000 }), {
        taskQueue: t.worker.taskQueue,
      });
      await waitUntil(t.env.client, handle.workflowId, 'the health check', (s) => s.instances[0]?.state === 'health-check');
      // What a new release's migration might do to the mounted files.
      writeFileSync(conf, JSON.stringify({ ...JSON.parse(original.conf.toString()), migrated_to: '5.3.0' }));
      writeFileSync(api, '{"broken": true}\n');
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'rollback-restores-config', t.env.client);
      assert.equal(failure.status.outcome, 'rolled-back', failure.status.errors.join('; '));
      assert.deepEqual(readFileSync(conf), original.conf, 'tyk.conf restored byte for byte');
      assert.deepEqual(readFileSync(api), original.api, 'apps/ restored byte for byte');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0');
    } finally {
      await stack.remove();
    }
  });
});
