// Many gateways behind a load balancer (nginx), upgraded one batch at a time: never more than a batch out of
// service, and not one failed request through the load balancer while it happens. nginx takes a failed server
// out for fail_timeout (2 s); the soak after each batch (3 s) gives it time to take the batch back before the
// next one leaves — without it, three quick recreates left nginx with no live upstream (seen: ~3000 502s).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { request } from 'undici';
import { getHello } from '../src/activities/tyk-http';
import { startUpgrade } from '../src/client-lib/upgrades';
import { freePort, sleep, tempDir, waitFor } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { keepHistory } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
let stack: TestStack;
let nginx: ChildProcess;
let lbPort: number;

before(async () => {
  stack = await testStack({ prefix: 'rolling', gateways: 3, pump: false });
  lbPort = await freePort();
  const dir = tempDir('nginx');
  const servers = stack.gateways.map((g) => `    server ${g.url.replace('http://', '')} max_fails=1 fail_timeout=2s;`).join('\n');
  writeFileSync(
    join(dir, 'nginx.conf'),
    `daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  upstream tyk {
${servers}
  }
  server {
    listen 127.0.0.1:${lbPort};
    location / {
      proxy_pass http://tyk;
      proxy_next_upstream error timeout http_502 http_503 http_504;
      proxy_connect_timeout 1s;
    }
  }
}
`,
  );
  nginx = spawn('nginx', ['-c', join(dir, 'nginx.conf')], { stdio: 'ignore' });
  await waitFor('nginx', async () => ((await request(`http://127.0.0.1:${lbPort}/hello`)).statusCode === 200 ? true : undefined));
});
after(async () => {
  nginx?.kill('SIGQUIT');
  await stack.remove();
});

describe('rolling upgrade of three gateways behind nginx, batch size 1, 3 s soak', () => {
  it('keeps at least two gateways serving at every moment, and no request through the load balancer fails', async () => {
    let running = true;
    let ok = 0;
    const failures: string[] = [];
    const clients = Array.from({ length: 4 }, async () => {
      while (running) {
        try {
          const r = await request(`http://127.0.0.1:${lbPort}/__standin/slow?ms=20`, { headersTimeout: 5000, bodyTimeout: 5000 });
          const body = await r.body.text();
          if (r.statusCode === 200 && body === 'done\n') ok++;
          else failures.push(`HTTP ${r.statusCode}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }
    });
    let maxDown = 0;
    const monitor = (async () => {
      while (running) {
        const answers = await Promise.all(stack.gateways.map((g) => getHello(g.url, 'hello', 500)));
        maxDown = Math.max(maxDown, answers.filter((a) => !a.body).length);
        await sleep(20);
      }
    })();

    const handle = await startUpgrade(t.env.client, stack.input({ gates: [], batchSize: 1, soakMs: 3_000 }), { taskQueue: t.worker.taskQueue });
    const result = await handle.result();
    await keepHistory(handle, 'rolling-three-gateways');
    await sleep(300);
    running = false;
    await Promise.all([...clients, monitor]);

    assert.equal(result.outcome, 'succeeded');
    for (const g of stack.gateways) assert.equal((await getHello(g.url, 'hello')).body?.version, '5.3.0');
    assert.equal(maxDown, 1, 'exactly one gateway was out of service at a time');
    assert.deepEqual(failures, [], 'no failed request through the load balancer');
    assert.ok(ok > 100, `traffic flowed throughout (${ok} requests)`);
  });
});
