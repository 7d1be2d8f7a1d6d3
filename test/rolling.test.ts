// Many gateways behind a load balancer (nginx), upgraded one batch at a time: never more than a batch out of
// service, and nginx never without a live gateway while it happens. nginx takes a failed server out for
// fail_timeout (2 s); the soak after each batch (3 s) gives it time to take the batch back before the next one
// leaves — without it, three quick recreates left nginx with no live upstream (seen: ~3000 502s). Without a
// load-balancer driver a POST in flight on the gateway being stopped is cut (docs/load-balancers.md): those are
// counted and bounded, not hidden behind GETs that nginx retries.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { getHello } from '../src/activities/tyk-http';
import { startUpgrade } from '../src/client-lib/upgrades';
import { assertServedThroughNginx, downMonitor } from './support/load';
import { startNginx, type Nginx } from './support/nginx';
import { docker, sleep } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { describeTraffic, startTraffic } from './support/traffic';
import { keepHistory } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
let stack: TestStack;
let nginx: Nginx;

before(async () => {
  stack = await testStack({ prefix: 'rolling', gateways: 3, pump: false });
  nginx = await startNginx(stack.gateways.map((g) => g.url.replace('http://', '')));
});
after(async () => {
  nginx?.stop();
  await stack.remove();
});

describe('rolling upgrade of three gateways behind nginx, batch size 1, 3 s soak', () => {
  it('keeps at least two gateways serving at every moment; nginx always has a live gateway: no GET fails, only POSTs in flight are cut', async () => {
    const traffic = startTraffic(nginx.url);
    const monitor = downMonitor(stack.gateways.map((g) => g.url));

    const handle = await startUpgrade(t.env.client, stack.input({ gates: [], batchSize: 1, soakMs: 3_000 }), { taskQueue: t.worker.taskQueue });
    const result = await handle.result();
    await keepHistory(handle, 'rolling-three-gateways', t.env.client);
    await sleep(300);
    const r = await traffic.stop();
    const maxDown = await monitor.stop();
    console.log(`# behind nginx without a driver: ${describeTraffic(r)}`);

    assert.equal(result.outcome, 'succeeded');
    for (const g of stack.gateways) assert.equal((await getHello(g.url, 'hello')).body?.version, '5.3.0');
    assert.equal(maxDown, 1, 'exactly one gateway was out of service at a time');
    assertServedThroughNginx(r, nginx, { stops: stack.gateways.length });
  });

  it('the down monitor counts a gateway that stops answering (frozen, its port still open) as down', async () => {
    const monitor = downMonitor(stack.gateways.map((g) => g.url));
    const frozen = docker.getContainer(stack.gateways[1].container);
    await frozen.pause();
    try {
      await sleep(3000);
    } finally {
      await frozen.unpause();
    }
    assert.equal(await monitor.stop(), 1, 'the frozen gateway was down, the other two up');
  });
});
