// The npm package, installed the way a user installs it: `npm pack` (prepack builds), then
// `npm install -g --prefix <tmp> ./tyk-upgrade-<version>.tgz` from a folder outside the repository, dependencies
// from the npm registry. Everything after that runs the installed `tyk-upgrade` from that folder: `dev` (the
// Temporal dev server and a worker), `worker`, `doctor`, `sandbox` and a whole upgrade through the CLI.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { getHello, getPumpHealth } from '../src/activities/tyk-http';
import type { UpgradeStatus } from '../src/shared/types';
import { runCli, spawnCli, type CliProcess } from './support/cli';
import { docker, freePort, tempDir } from './support/services';
import { installPackage, packedPackage, userEnv, VERSION, type Installed } from './support/package';

/** The installed binary by its path, in a person's environment (no npm settings, no NODE_PATH), from `cwd`. */
const run = (pkg: Installed, args: string[], env: Record<string, string>, cwd: string) =>
  runCli(args, { bin: pkg.bin, env: userEnv(env), cwd, timeoutMs: 180_000 });
const start = (pkg: Installed, args: string[], env: Record<string, string>, cwd: string) => spawnCli(args, { bin: pkg.bin, env: userEnv(env), cwd });

describe('the npm package', () => {
  let pkg: Installed;
  let cwd: string;
  before(async () => {
    pkg = await installPackage(await packedPackage());
    cwd = tempDir('package-user');
  });

  it('holds only what runs, and `tyk-upgrade --version` says the package version', async () => {
    const top = readdirSync(pkg.root).sort();
    assert.deepEqual(top, [
      'CHANGELOG.md',
      'LICENSE',
      'README.md',
      'deploy',
      'dist',
      'docker-compose.temporal.yml',
      'docs',
      'node_modules',
      'package.json',
      'temporal',
    ]);
    assert.deepEqual(readdirSync(join(pkg.root, 'dist')).sort(), ['src', 'workflow-bundle.js', 'workflow-bundle.js.sha256']);
    assert.ok(!existsSync(join(pkg.root, 'dist', 'src', 'client.js.map')), 'no source maps of sources that are not shipped');
    assert.ok(!existsSync(join(pkg.root, 'dist', 'src', 'real-tyk')), 'not the builder of real Tyk images, which only the rig runs');
    const v = await run(pkg, ['--version'], {}, cwd);
    assert.equal(v.code, 0, v.stderr);
    assert.equal(v.stdout.trim(), VERSION);
  });

  it('dev, worker, doctor, sandbox and a whole upgrade, all from the installed binary', async () => {
    const [port, uiPort] = [await freePort(), await freePort()];
    const address = `127.0.0.1:${port}`;
    const queue = `package-${randomBytes(4).toString('hex')}`;
    const name = `pkg-${randomBytes(3).toString('hex')}`;
    const env = { TEMPORAL_ADDRESS: address, TEMPORAL_UI_URL: `http://127.0.0.1:${uiPort}`, TYK_UPGRADE_TASK_QUEUE: queue };
    const dev = start(
      pkg,
      ['dev', '--port', `${port}`, '--ui-port', `${uiPort}`, '--db-file', join(cwd, 'temporal.db'), '--task-queue', `${queue}-dev`],
      {},
      cwd,
    );
    let worker: CliProcess | undefined;
    try {
      await dev.waitFor(/Worker: polling task queue/, 90_000);
      worker = start(pkg, ['worker'], env, cwd);
      await worker.waitFor(new RegExp(`worker: polling task queue "${queue}" on ${address}`), 90_000);
      // Workers from the package load the prebuilt bundle: no webpack at start, no word of bundling.
      assert.doesNotMatch(dev.output() + worker.output(), /bundl/i);

      const doctor = await run(pkg, ['doctor', '--task-queue', queue], env, cwd);
      assert.match(doctor.stdout, new RegExp(`^ok\\s+Temporal\\s+${address} answers`, 'm'), doctor.stdout + doctor.stderr);
      assert.match(doctor.stdout, /^ok\s+Search attributes\s+TykStack, TykTargetVersion, TykStage/m);
      assert.match(doctor.stdout, new RegExp(`^ok\\s+Workers\\s+.*${queue}`, 'm'));

      const [gw, pump, redis] = [await freePort(), await freePort(), await freePort()];
      const ports = ['--port', `${gw}`, '--pump-port', `${pump}`, '--redis-port', `${redis}`];
      // No stand-ins where it looks: it says which images, and where they come from.
      const refused = await run(
        pkg,
        ['sandbox', 'up', '--name', name, ...ports, '--images', 'standin', '--gateway-version', 'v5.2.0', '--registry', `127.0.0.1:${await freePort()}`],
        env,
        cwd,
      );
      assert.equal(refused.code, 4, refused.stderr);
      assert.match(refused.stderr, /stand-in images from the local registry missing:\n {2}gateway 127\.0\.0\.1:\d+\/standin\/tyk-gateway:v5\.2\.0: /);
      assert.match(refused.stderr, /built by the tyk-upgrade repository's rig, not shipped in the package: .*`bash rig\/setup\.sh test`/);
      assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`io.tyk-upgrade.sandbox=${name}`] } }), [], 'nothing created');

      const up = await run(pkg, ['sandbox', 'up', '--name', name, ...ports, '--images', 'standin', '--gateway-version', 'v5.2.0'], env, cwd);
      assert.equal(up.code, 0, up.stderr);
      const init = await run(
        pkg,
        ['init', '--label', `io.tyk-upgrade.sandbox=${name}`, '--gateway-version', 'v5.3.0', '--pump-version', 'v1.10.0', '-o', 'plan.yaml'],
        env,
        cwd,
      );
      assert.equal(init.code, 0, init.stderr);
      const plan = await run(pkg, ['plan', '-f', 'plan.yaml'], env, cwd);
      assert.equal(plan.code, 0, plan.stderr);
      const upgrade = await run(pkg, ['start', '-f', 'plan.yaml', '--auto-approve', '--by', 'package-test'], env, cwd);
      assert.equal(upgrade.code, 0, `${upgrade.stdout}\n${upgrade.stderr}`);
      assert.match(upgrade.stdout, /upgrade succeeded/);

      assert.equal((await getHello(`http://127.0.0.1:${gw}`, 'hello')).body?.version, '5.3.0');
      assert.ok((await getPumpHealth(`http://127.0.0.1:${pump}/health`)).ok);
      const status = await run(pkg, ['status', name, '--json'], env, cwd);
      const s = JSON.parse(status.stdout) as { temporalStatus: string; status: UpgradeStatus };
      assert.equal(s.temporalStatus, 'COMPLETED');
      assert.equal(s.status.outcome, 'succeeded');
      assert.deepEqual(
        s.status.instances.map((i) => [i.container, i.toVersion, i.state]),
        [
          [`${name}-gateway-1`, '5.3.0', 'upgraded'],
          [`${name}-pump`, '1.10.0', 'upgraded'],
        ],
      );
    } finally {
      await run(pkg, ['sandbox', 'down', '--name', name], env, cwd);
      await worker?.stop();
      await dev.stop();
      assert.equal(worker?.child.exitCode, 0, worker?.output());
      assert.equal(dev.child.exitCode, 0, dev.output());
    }
    assert.deepEqual(await docker.listContainers({ all: true, filters: { label: [`io.tyk-upgrade.sandbox=${name}`] } }), []);
  });
});
