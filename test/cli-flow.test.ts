// The whole CLI flow a person follows, each step the real CLI in a child process against the real engine and
// the test dev server: sandbox up → init → plan → start → (watch, live) → approve twice → watch exits 0 →
// status, list → sandbox down. A worker runs as `tyk-upgrade worker` on its own task queue.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getHello } from '../src/activities/tyk-http';
import type { UpgradeStatus } from '../src/shared/types';
import { runCli, spawnCli, type CliProcess } from './support/cli';
import { docker, freePort, tempDir } from './support/services';

describe('tyk-upgrade from a terminal', () => {
  it('sandbox up → init → plan → start → approve twice → watch exits 0 → sandbox down', async () => {
    const dir = tempDir('cli-flow');
    const name = `cliflow-${randomBytes(3).toString('hex')}`;
    const queue = `cli-flow-${randomBytes(4).toString('hex')}`;
    const outputs: string[] = [];
    const cli = async (args: string[], code = 0) => {
      // The CLI reaches Docker only through the worker: every command finds it on this queue.
      const r = await runCli(args, { cwd: dir, env: { TYK_UPGRADE_TASK_QUEUE: queue } });
      outputs.push(r.stdout, r.stderr);
      assert.equal(r.code, code, `tyk-upgrade ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      return r;
    };
    const worker = spawnCli(['worker', '--task-queue', queue], { cwd: dir });
    let watch: CliProcess | undefined;
    let secrets: string[] = [];
    try {
      const [port, pumpPort, redisPort] = [await freePort(), await freePort(), await freePort()];
      const up = await cli([
        'sandbox',
        'up',
        '--name',
        name,
        '--port',
        `${port}`,
        '--pump-port',
        `${pumpPort}`,
        '--redis-port',
        `${redisPort}`,
        '--images',
        'standin',
        '--gateway-version',
        'v5.2.0',
      ]);
      assert.match(
        up.stdout,
        new RegExp(`${name}-gateway-1\\s+gateway\\s+127\\.0\\.0\\.1:5000/standin/tyk-gateway:v5\\.2\\.0\\s+http://127\\.0\\.0\\.1:${port}/hello`),
      );
      const conf = JSON.parse(readFileSync(join(dir, '.tyk-upgrade', 'sandbox', name, 'gateway-1', 'tyk.conf'), 'utf8'));
      secrets = [conf.secret as string, conf.storage.password as string];
      assert.ok(secrets.every((s) => s.length >= 16));

      assert.match((await cli(['sandbox', 'status', '--name', name])).stdout, new RegExp(`${name}-gateway-1\\s+gateway\\s+running\\s+5\\.2\\.0`));

      const init = await cli([
        'init',
        '--label',
        `io.tyk-upgrade.sandbox=${name}`,
        '--gateway-version',
        'v5.3.0',
        '--pump-version',
        'v1.10.0',
        '-o',
        'plan.yaml',
      ]);
      assert.match(init.stdout, new RegExp(`Wrote plan\\.yaml \\(stack "${name}"\\)`));

      const plan = await cli(['plan', '-f', 'plan.yaml']);
      assert.match(
        plan.stdout,
        new RegExp(`${name}-gateway-1\\s+gateway\\s+running\\s+5\\.2\\.0\\s+5\\.3\\.0\\s+127\\.0\\.0\\.1:5000/standin/tyk-gateway:v5\\.3\\.0`),
      );
      assert.match(plan.stdout, new RegExp(`${name}-pump\\s+pump\\s+running\\s+1\\.9\\.0\\s+1\\.10\\.0`));
      assert.match(plan.stdout, /Approval gates: before-gateways .*; before-pump/);
      assert.match(plan.stdout, /\/opt\/tyk-gateway\/tyk\.conf, \/opt\/tyk-gateway\/apps/);
      assert.match(plan.stdout, /Ready\. Start it with: tyk-upgrade start -f plan\.yaml/);

      await worker.waitFor(new RegExp(`worker: polling task queue "${queue}"`), 120_000);
      const started = await cli(['start', '-f', 'plan.yaml', '--task-queue', queue]);
      const id = `tyk-upgrade-${name}`;
      assert.match(started.stdout, new RegExp(`Started upgrade ${id} \\(run [0-9a-f-]+\\) on task queue ${queue}`));
      assert.match(started.stdout, new RegExp(`Web UI: ${process.env.TEMPORAL_UI_URL}/namespaces/default/workflows/${id}/[0-9a-f-]+/history`));

      // watch shows progress as it happens; it is not a terminal, so at each gate it prints the approve command.
      watch = spawnCli(['watch', id], { cwd: dir });
      const backupAt = await watch.waitFor(/backup: \d+ files in /);
      const gate1At = await watch.waitFor(new RegExp(`to approve: tyk-upgrade approve ${id} --gate before-gateways`));
      const approve1At = Date.now();
      assert.match(
        (await cli(['approve', id, '--by', 'alice', '--comment', 'CHG-42'])).stdout,
        /Approved gate before-gateways .* \(by alice at .*: "CHG-42"\)/,
      );
      const upgradedAt = await watch.waitFor(new RegExp(`${name}-gateway-1: upgraded`));
      const gate2At = await watch.waitFor(new RegExp(`to approve: tyk-upgrade approve ${id} --gate before-pump`));
      const approve2At = Date.now();
      await cli(['approve', name, '--gate', 'before-pump', '--by', 'bob']);
      assert.equal(await watch.exited, 0, watch.output());
      // A gate's line and the approval that follows it may fall in the same millisecond (waitFor gives the line's
      // arrival, seen up to 100 ms later): ties there are fine; the upgraded line comes only after the approval.
      assert.ok(
        backupAt <= gate1At && gate1At <= approve1At && approve1At < upgradedAt && upgradedAt <= gate2At && gate2At <= approve2At,
        `each line arrived when it happened: backup ${backupAt}, gate ${gate1At}, approved ${approve1At}, upgraded ${upgradedAt}, gate ${gate2At}, approved ${approve2At}`,
      );
      assert.match(watch.output(), /gate before-gateways: approved by alice \("CHG-42"\)/);
      assert.match(watch.output(), /upgrade succeeded/);
      outputs.push(watch.output());

      const hello = await getHello(`http://127.0.0.1:${port}`, 'hello');
      assert.equal(hello.body?.version, '5.3.0');
      assert.equal(hello.body?.details?.redis?.status, 'pass');

      const status = JSON.parse((await cli(['status', id, '--json'])).stdout) as { temporalStatus: string; status: UpgradeStatus };
      assert.equal(status.temporalStatus, 'COMPLETED');
      assert.equal(status.status.outcome, 'succeeded');
      assert.deepEqual(
        status.status.gates.filter((g) => g.state !== 'skipped').map((g) => [g.gate, g.state, g.by]),
        [
          ['before-gateways', 'approved', 'alice'],
          ['before-pump', 'approved', 'bob'],
        ],
      );
      assert.match((await cli(['status', id])).stdout, new RegExp(`${name}-pump\\s+pump\\s+pumps\\s+1\\.9\\.0\\s+1\\.10\\.0\\s+upgraded`));
      assert.match((await cli(['list'])).stdout, new RegExp(`${id}\\s+${name}\\s+-\\s+5\\.3\\.0\\s+COMPLETED\\s+succeeded`));
      assert.match((await cli(['sandbox', 'status', '--name', name])).stdout, new RegExp(`${name}-gateway-1\\s+gateway\\s+running\\s+5\\.3\\.0`));
    } finally {
      await watch?.stop();
      await worker.stop();
      outputs.push(worker.output());
      const down = await runCli(['sandbox', 'down', '--name', name], { cwd: dir });
      assert.equal(down.code, 0, down.stderr);
    }
    assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`io.tyk-upgrade.sandbox=${name}`] } }), []);
    assert.ok(!existsSync(join(dir, '.tyk-upgrade', 'sandbox', name)), 'sandbox down removes its folder');
    const all = outputs.join('\n');
    for (const secret of secrets) assert.ok(!all.includes(secret), 'no CLI output carries the tyk.conf secret or the Redis password');
  });
});
