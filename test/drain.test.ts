// Tyk 5.8.3+ drains in-flight requests on SIGTERM for up to 30 s, longer than Docker's default stop timeout
// (10 s). The recreate stops the old gateway with the plan's drain timeout, so a 12 s request still finishes.
// Here on a downgrade 5.8.3 → 5.3.0 (asked for), the only way to have a draining gateway as the old one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { request } from 'undici';
import { getHello } from '../src/activities/tyk-http';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { sleep } from './support/services';
import { testStack } from './support/stack';
import { keepHistory, waitForGate } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();

describe('drain on stop', () => {
  it("requests in flight when the old 5.8.3 gateway is stopped finish, though they outlast Docker's default 10 s", async () => {
    const stack = await testStack({ prefix: 'drain', gatewayTag: 'v5.8.3', pump: false });
    try {
      const url = stack.gateways[0].url;
      const handle = await startUpgrade(
        t.env.client,
        stack.input({ gatewayVersion: 'v5.3.0', allowDowngrade: true, gates: ['before-gateways'], drainTimeoutSec: 40 }),
        { taskQueue: t.worker.taskQueue },
      );
      await waitForGate(t.env.client, handle.workflowId, 'before-gateways');
      const started = Date.now();
      const inflight = Array.from({ length: 3 }, () =>
        request(`${url}/__standin/slow?ms=12000`, { headersTimeout: 60_000, bodyTimeout: 60_000 }).then(
          async (r) => `${r.statusCode} ${(await r.body.text()).trim()}`,
          (err: Error) => `cut: ${err.message}`,
        ),
      );
      await sleep(500);
      await decide(t.env.client, handle.workflowId, 'approve', { by: 'drain-test' });
      const answers = await Promise.all(inflight);
      assert.deepEqual(answers, ['200 done', '200 done', '200 done']);
      assert.ok(Date.now() - started >= 12_000);
      const result = await handle.result();
      await keepHistory(handle, 'downgrade-with-drain');
      assert.equal(result.outcome, 'succeeded');
      assert.equal((await getHello(url, 'hello')).body?.version, '5.3.0');
    } finally {
      await stack.remove();
    }
  });
});
