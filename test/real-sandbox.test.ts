// `tyk-upgrade sandbox up` runs real Tyk by default (the images the rig builds from Tyk's source): the CLI in a child
// process, on free ports, then `sandbox down`. And where the real images are not, it says so and how to get them.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { getHello, getPumpHealth } from '../src/activities/tyk-http';
import { runCli } from './support/cli';
import { realImage } from './support/real-tyk';
import { docker, freePort, tempDir, waitFor } from './support/services';

describe('sandbox on real Tyk', () => {
  it('sandbox up (no --images): real gateway 5.3.0 and pump 1.9.0, healthy; a registry without them is refused, naming the rig', async () => {
    const dir = tempDir('real-sandbox');
    const name = `realsb-${randomBytes(3).toString('hex')}`;
    const [gw, pump, redis] = [await freePort(), await freePort(), await freePort()];
    const ports = ['--port', `${gw}`, '--pump-port', `${pump}`, '--redis-port', `${redis}`];
    try {
      const refused = await runCli(['sandbox', 'up', '--name', name, ...ports, '--images', 'real', '--registry', `127.0.0.1:${await freePort()}`], {
        cwd: dir,
      });
      assert.equal(refused.code, 4, refused.stdout + refused.stderr);
      assert.match(refused.stderr, /real Tyk built by the rig from Tyk's source missing:\n {2}gateway 127\.0\.0\.1:\d+\/tyk-real\/tyk-gateway:v5\.3\.0: /);
      assert.match(refused.stderr, /`TYK_SRC_DIR=<folder of the archives> bash rig\/setup\.sh demo`/);
      assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`io.tyk-upgrade.sandbox=${name}`] } }), [], 'nothing created');

      const up = await runCli(['sandbox', 'up', '--name', name, ...ports], { cwd: dir, timeoutMs: 180_000 });
      assert.equal(up.code, 0, up.stdout + up.stderr);
      assert.match(up.stdout, /is up \(real Tyk built by the rig from Tyk's source\)/);
      assert.match(up.stdout, new RegExp(`${name}-gateway-1\\s+gateway\\s+${realImage('gateway', 'v5.3.0').replace(/\./g, '\\.')}\\s`));
      assert.match(up.stdout, new RegExp(`${name}-pump\\s+pump\\s+${realImage('pump', 'v1.9.0').replace(/\./g, '\\.')}\\s`));
      // sandbox up returns once /hello passes with its Redis check: the real gateway's, past Tyk's own warm-up.
      const hello = (await getHello(`http://127.0.0.1:${gw}`, 'hello')).body;
      assert.deepEqual([hello?.status, hello?.version, hello?.details?.redis?.status], ['pass', '5.3.0', 'pass'], JSON.stringify(hello));
      await waitFor('the real pump /health', async () => ((await getPumpHealth(`http://127.0.0.1:${pump}/health`)).body?.status === 'ok' ? true : undefined));
      const status = await runCli(['sandbox', 'status', '--name', name], { cwd: dir });
      assert.match(status.stdout, new RegExp(`${name}-gateway-1\\s+gateway\\s+running\\s+5\\.3\\.0`));
      assert.match(status.stdout, new RegExp(`${name}-pump\\s+pump\\s+running\\s+1\\.9\\.0`));
      const down = await runCli(['sandbox', 'down', '--name', name], { cwd: dir });
      assert.equal(down.code, 0, down.stderr);
      assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`io.tyk-upgrade.sandbox=${name}`] } }), [], 'all removed');
    } finally {
      await runCli(['sandbox', 'down', '--name', name], { cwd: dir });
    }
  });
});
