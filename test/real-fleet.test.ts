// A fleet of real gateways: two simulated hosts (each its own Docker engine and loopback address, its own
// `tyk-upgrade worker --host` process), two real Tyk 5.3.0 gateways on each, rolled to the real 5.8.10 with the
// canary ramp: one gateway first, held at the after-canary gate while the rest still serve 5.3.0, then "50%" of
// the fleet at a time, never more than maxUnavailable of the pool down at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getHello } from '../src/activities/tyk-http';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { fleetContainers, servedVersions, startFleet, stopEngines, type Fleet } from './support/fleet';
import { downMonitor } from './support/load';
import { realImage } from './support/real-tyk';
import { connectTestEnv } from './support/services';
import { keepHistory, waitForGate } from './support/upgrade';

let env: TestWorkflowEnvironment;
let fleet: Fleet | undefined;
before(async () => {
  env = await connectTestEnv();
});
after(async () => {
  await fleet?.remove();
  await stopEngines(fleet);
  await env?.teardown();
});

describe('two hosts × two real gateways, 5.3.0 → 5.8.10 with the canary ramp [1, "50%"], maxUnavailable 2', () => {
  it('the canary alone on 5.8.10 at its gate, then the rest; every gateway healthy on 5.8.10, at most 2 down at once', async () => {
    // Host addresses 127.0.0.51-52: away from the fleet tests' (11-) and the bench's (21-), which may run beside.
    fleet = await startFleet({
      prefix: 'realfleet',
      hosts: 2,
      gatewaysPerHost: 2,
      pump: false,
      firstAddress: 51,
      gatewayImage: realImage('gateway', 'v5.3.0'),
    });
    const urls = fleet.hosts.flatMap((h) => h.stack.gateways.map((g) => g.url));
    const monitor = downMonitor(urls);
    const handle = await startUpgrade(
      env.client,
      fleet.input({ gatewayVersion: 'v5.8.10', batchSize: [1, '50%'], maxUnavailable: 2, gates: ['after-canary'], soakMs: 2_000, healthTimeoutMs: 60_000 }),
      { taskQueue: fleet.taskQueue },
    );
    await waitForGate(env.client, handle.workflowId, 'after-canary');
    const atGate = Object.values(await servedVersions(fleet)).sort();
    assert.deepEqual(atGate, ['5.3.0', '5.3.0', '5.3.0', '5.8.10'], 'only the canary runs 5.8.10 while its gate waits');
    await decide(env.client, handle.workflowId, 'approve', { by: 'e2e' });
    const result = await handle.result();
    await keepHistory(handle, 'real-tyk-fleet-canary', env.client);
    const maxDown = await monitor.stop();

    assert.equal(result.outcome, 'succeeded', result.reason);
    // 4 gateways: the canary, then "50%" = 2, then the last one.
    assert.deepEqual(
      result.batches.map((b) => [b.name, b.instances.length, b.state]),
      [
        ['1', 1, 'done'],
        ['2', 2, 'done'],
        ['3', 1, 'done'],
      ],
    );
    for (const url of urls) {
      const hello = (await getHello(url, 'hello')).body;
      assert.deepEqual([hello?.status, hello?.version, hello?.details?.redis?.status], ['pass', '5.8.10', 'pass'], `${url}: ${JSON.stringify(hello)}`);
    }
    const stack = fleet.input().stack;
    const image = realImage('gateway', 'v5.8.10');
    assert.deepEqual(
      await fleetContainers(fleet),
      fleet.hosts.flatMap((h) => [`${h.name}/${stack}-gateway-1 ${image} running`, `${h.name}/${stack}-gateway-2 ${image} running`]).sort(),
      'one container per name on every host, on the real 5.8.10',
    );
    assert.ok(maxDown <= 2, `at most maxUnavailable (2) gateways down at once; saw ${maxDown}`);
    assert.ok(maxDown >= 1, 'the monitor saw gateways down (else it could not see too many)');
  });
});
