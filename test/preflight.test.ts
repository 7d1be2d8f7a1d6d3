// Preflight refuses what cannot work, before anything changes, with a message a person can act on.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { dryRun } from '../src/activities/dry-run';
import { preflightStack } from '../src/activities/preflight';
import { startUpgrade } from '../src/client-lib/upgrades';
import { failedContainerName, newContainerName, oldContainerName } from '../src/shared/names';
import type { UpgradeInput } from '../src/shared/types';
import { connectTestEnv, docker, GATEWAY_REPO } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { failureOf } from './support/upgrade';
import { startWorker, type RunningWorker } from './support/worker';

let stack: TestStack;
before(async () => {
  stack = await testStack({ prefix: 'preflight' });
});
after(() => stack.remove());

async function refused(input: UpgradeInput, type: string, message: RegExp): Promise<void> {
  await assert.rejects(preflightStack(docker, input), (err: unknown) => {
    assert.ok(err instanceof ApplicationFailure, String(err));
    assert.equal(err.type, type);
    assert.equal(err.nonRetryable, true);
    assert.match(err.message, message);
    return true;
  });
}

describe('preflight', () => {
  it('plans every container with versions read from /hello and the pump log', async () => {
    const plan = await preflightStack(docker, stack.input());
    assert.deepEqual(
      plan.instances.map((i) => [i.role, i.fromVersion, i.toVersion, i.toImage]),
      [
        ['gateway', '5.2.0', '5.3.0', `${GATEWAY_REPO}:v5.3.0`],
        ['pump', '1.9.0', '1.10.0', '127.0.0.1:5000/standin/tyk-pump:v1.10.0'],
      ],
    );
  });

  it('refuses a downgrade unless asked, and a target equal to the current version', async () => {
    const gw = stack.gateways[0].container;
    await refused(
      stack.input({ gatewayVersion: 'v5.1.0' }),
      'DowngradeRefused',
      new RegExp(`"${gw}" runs 5\\.2\\.0, newer than the target 5\\.1\\.0; a downgrade must be asked for`),
    );
    await refused(stack.input({ gatewayVersion: '5.2.0' }), 'AlreadyAtTarget', /already runs 5\.2\.0, the target version/);
  });

  it('refuses a container that does not exist, and one that is not Tyk', async () => {
    await refused(
      stack.input({ gateways: [{ container: 'no-such-gateway', url: 'http://127.0.0.1:1', helloPath: 'hello' }] }),
      'ContainerNotFound',
      /gateway container "no-such-gateway" not found on the Docker engine/,
    );
    await refused(
      stack.input({ gateways: [{ container: stack.gateways[0].container, url: stack.pump!.healthUrl.replace('/health', ''), helloPath: 'health' }] }),
      'NotTyk',
      /does not answer like a Tyk gateway/,
    );
  });

  it('refuses a target image the registry does not have', async () => {
    await refused(
      stack.input({ gatewayVersion: 'v5.4.0' }),
      'ImageNotFound',
      /target image 127\.0\.0\.1:5000\/standin\/tyk-gateway:v5\.4\.0 is not available: the registry has no such image or tag/,
    );
  });

  it('refuses while a container is left from an unfinished upgrade, of the gateway or the pump; not for another name', async () => {
    const gw = stack.gateways[0].container;
    const pump = stack.pump!.container;
    for (const leftover of [oldContainerName(gw), newContainerName(gw), failedContainerName(pump)]) {
      const c = await docker.createContainer({ name: leftover, Image: `${GATEWAY_REPO}:v5.2.0`, HostConfig: { NetworkMode: 'none' } });
      const owner = leftover.replace(/-tyk-upgrade-.*/, '');
      try {
        await refused(stack.input(), 'LeftoverContainer', new RegExp(`"${leftover}" is left from an earlier upgrade of "${owner}"`));
        // The dry run names the same problem, on the container it belongs to only.
        const report = await dryRun(docker, stack.input());
        assert.deepEqual(
          report.instances.map((i) => [i.container, i.problems.filter((p) => p.includes('is left from')).length]),
          [gw, pump].map((c) => [c, c === owner ? 1 : 0]),
        );
      } finally {
        await c.remove({ force: true });
      }
    }
    // One engine call finds them all, by name: another container's leftover is not this one's.
    const other = await docker.createContainer({ name: oldContainerName(`${gw}x`), Image: `${GATEWAY_REPO}:v5.2.0`, HostConfig: { NetworkMode: 'none' } });
    try {
      assert.equal((await preflightStack(docker, stack.input())).instances.length, 2);
    } finally {
      await other.remove({ force: true });
    }
  });

  it('refuses when an API uses a Go plugin with no build for the target version, and passes once it is staged', async () => {
    const conf = stack.gateways[0].confDir;
    writeFileSync(
      join(conf, 'apps', 'plugin-api.json'),
      JSON.stringify({
        name: 'Plugin API',
        api_id: 'plugin-api',
        custom_middleware: { driver: 'goplugin', pre: [{ name: 'AddHeader', path: 'middleware/myplugin_v5.2.0_linux_amd64.so' }] },
      }),
    );
    writeFileSync(join(conf, 'middleware', 'myplugin_v5.2.0_linux_amd64.so'), 'old build');
    await refused(stack.input(), 'PluginBuildMissing', /API "Plugin API" needs \/opt\/tyk-gateway\/middleware\/myplugin_v5\.3\.0_linux_amd64\.so/);
    writeFileSync(join(conf, 'middleware', 'myplugin_v5.3.0_linux_amd64.so'), 'new build');
    const plan = await preflightStack(docker, stack.input());
    assert.equal(plan.instances.length, 2);
  });

  it('through the workflow, a refusal fails at once (not retried) and changes nothing', async () => {
    const env: TestWorkflowEnvironment = await connectTestEnv();
    const worker: RunningWorker = await startWorker(env);
    try {
      const id = (await docker.getContainer(stack.gateways[0].container).inspect()).Id;
      const handle = await startUpgrade(env.client, stack.input({ gatewayVersion: 'v5.1.0' }), { taskQueue: worker.taskQueue });
      const f = await failureOf(handle.result());
      assert.equal(f.status.outcome, 'failed');
      assert.match(f.message, /a downgrade must be asked for/);
      const history = await handle.fetchHistory();
      // The preflight's own attempts (the run's outcome notification is an activity of its own).
      const preflight = new Set(
        history.events?.filter((e) => e.activityTaskScheduledEventAttributes?.activityType?.name === 'preflight').map((e) => String(e.eventId)),
      );
      const attempts = history.events
        ?.filter((e) => preflight.has(String(e.activityTaskStartedEventAttributes?.scheduledEventId)))
        .map((e) => e.activityTaskStartedEventAttributes!.attempt);
      assert.deepEqual(attempts, [1], 'one attempt: the error type is non-retryable');
      assert.equal((await docker.getContainer(stack.gateways[0].container).inspect()).Id, id);
    } finally {
      await worker.stop();
      await env.teardown();
    }
  });
});
