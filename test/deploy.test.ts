// The files that run tyk-upgrade on each host (deploy/): every systemd unit passes systemd's own check, the worker's
// unit runs for real under systemd (PID 1 of a container, as this machine's PID 1 is not systemd), and the compose
// service validates with docker-compose and gives the worker only this host's engine and its backup volume.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { parse as parseYaml } from 'yaml';
import { hostTaskQueue } from '../src/shared/names';
import { cachedInstall, packedPackage, REPO, VERSION } from './support/package';
import { connectTestEnv, docker, sleep, tempDir, temporalAddress, waitFor } from './support/services';

const deploy = join(REPO, 'deploy');

describe('deploy files for a worker per host', () => {
  it('every systemd unit verifies; the worker unit starts `tyk-upgrade worker --host` and restarts it always', () => {
    const units = readdirSync(deploy).filter((f) => f.endsWith('.service'));
    assert.deepEqual(units.sort(), [
      'tyk-upgrade-temporal-lb.service',
      'tyk-upgrade-temporal-ui.service',
      'tyk-upgrade-temporal.service',
      'tyk-upgrade-worker.service',
    ]);
    for (const u of units) {
      assert.equal(execFileSync('systemd-analyze', ['verify', join(deploy, u)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), '', u);
      assert.match(readFileSync(join(deploy, u), 'utf8'), /^Restart=always$/m, `${u} restarts what dies`);
    }
    const text = readFileSync(join(deploy, 'tyk-upgrade-worker.service'), 'utf8');
    assert.match(text, /^ExecStart=\/usr\/bin\/env tyk-upgrade worker --host \$\{TYK_UPGRADE_HOST\}$/m);
    assert.match(text, /^Environment=TYK_UPGRADE_BACKUP_DIR=\/var\/lib\/tyk-upgrade\/backups$/m);
  });

  it('the compose service validates, needs the host name, runs this version, and mounts only the socket, the backup volume and the host read-only', () => {
    const file = join(deploy, 'docker-compose.worker.yml');
    const missing = (() => {
      try {
        execFileSync('docker-compose', ['-f', file, 'config', '-q'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
          env: { ...process.env, TYK_UPGRADE_HOST: '' },
        });
        return '';
      } catch (err) {
        return String((err as { stderr?: string }).stderr);
      }
    })();
    assert.match(missing, /set TYK_UPGRADE_HOST to this host's name in plans/);
    const resolved = parseYaml(
      execFileSync('docker-compose', ['-f', file, 'config'], { encoding: 'utf8', env: { ...process.env, TYK_UPGRADE_HOST: 'web-1' } }),
    ) as {
      services: Record<string, { image: string; command: string[]; volumes: string[]; network_mode: string; environment: Record<string, string> }>;
    };
    const worker = resolved.services['tyk-upgrade-worker'];
    assert.equal(worker.image, `tyk-upgrade-worker:${VERSION}`, 'the default image is this version');
    assert.deepEqual(worker.command, ['worker', '--host', 'web-1']);
    assert.equal(worker.network_mode, 'host');
    assert.equal(worker.environment.TEMPORAL_API_KEY, undefined, 'an empty API key would turn TLS on');
    // docker-compose 1.29 resolves volumes to the short form "source:target:mode".
    // The host's / read-only, for backups read from the host side (docs/fleet.md, "Backups in milliseconds").
    assert.deepEqual(worker.volumes, ['/var/run/docker.sock:/var/run/docker.sock:rw', 'tyk-upgrade-backups:/var/lib/tyk-upgrade/backups:rw', '/:/host:ro']);
  });
});

/**
 * A machine booted with systemd, as far as the worker's unit can tell: systemd is PID 1 of a container with host
 * networking, this machine's /usr read-only (so the same node and systemd), /usr/local the npm prefix the package
 * was installed into (as `npm install -g` does on Debian), the Docker socket, and the unit as shipped. The engine
 * runs outside, so docker.service is a unit that only says it is there.
 */
describe('the worker unit under systemd', () => {
  let env: TestWorkflowEnvironment;
  const id = randomBytes(3).toString('hex');
  const name = `tyk-upgrade-systemd-${id}`;
  const host = `sd-${id}`;
  const queue = `systemd-${id}`;
  before(async () => {
    env = await connectTestEnv();
  });
  after(async () => {
    await docker
      .getContainer(name)
      .remove({ force: true })
      .catch(() => undefined);
    await env.teardown();
  });

  const exec = async (...cmd: string[]): Promise<string> => {
    const e = await docker.getContainer(name).exec({ Cmd: cmd, AttachStdout: true, AttachStderr: true });
    const stream = await e.start({});
    const chunks: Buffer[] = [];
    stream.on('data', (d: Buffer) => chunks.push(d));
    await new Promise((r) => stream.on('end', r));
    // Docker's multiplexed stream: 8-byte headers before each frame.
    const buf = Buffer.concat(chunks);
    let out = '';
    for (let i = 0; i + 8 <= buf.length; i += 8 + buf.readUInt32BE(i + 4)) out += buf.subarray(i + 8, i + 8 + buf.readUInt32BE(i + 4)).toString();
    return out.trim();
  };
  const show = async (prop: string) => exec('systemctl', 'show', '-p', prop, '--value', 'tyk-upgrade-worker');
  const pollers = async () => {
    const res = await env.client.workflowService.describeTaskQueue({ namespace: 'default', taskQueue: { name: hostTaskQueue(host) }, taskQueueType: 2 });
    return (res.pollers ?? []).map((p) => p.identity ?? '');
  };

  it('starts with `systemctl start`, polls as the host the env file names, is restarted after a SIGKILL and stops cleanly', async () => {
    const pkg = await cachedInstall(await packedPackage());
    const root = tempDir('systemd');
    const rootfs = join(root, 'rootfs');
    for (const d of ['etc/systemd/system', 'etc/tyk-upgrade', 'var/lib', 'run', 'tmp', 'root']) mkdirSync(join(rootfs, d), { recursive: true });
    // Debian's merged /usr, and /var/run as systemd expects it.
    for (const [link, to] of [
      ['bin', 'usr/bin'],
      ['sbin', 'usr/sbin'],
      ['lib', 'usr/lib'],
      ['lib64', 'usr/lib64'],
      ['var/run', '../run'],
    ])
      symlinkSync(to, join(rootfs, link));
    writeFileSync(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\n');
    writeFileSync(join(rootfs, 'etc/group'), 'root:x:0:\n');
    writeFileSync(join(rootfs, 'etc/machine-id'), '');
    writeFileSync(join(rootfs, 'etc/os-release'), readFileSync('/usr/lib/os-release'));
    writeFileSync(join(rootfs, 'etc/systemd/system/tyk-upgrade-worker.service'), readFileSync(join(deploy, 'tyk-upgrade-worker.service')));
    writeFileSync(
      join(rootfs, 'etc/systemd/system/docker.service'),
      '[Unit]\nDescription=the Docker engine, running outside this container\n[Service]\nType=oneshot\nRemainAfterExit=yes\nExecStart=/bin/true\n',
    );
    writeFileSync(
      join(rootfs, 'etc/tyk-upgrade/worker.env'),
      `TEMPORAL_ADDRESS=${temporalAddress()}\nTYK_UPGRADE_TASK_QUEUE=${queue}\nTYK_UPGRADE_HOST=${host}\n`,
    );
    chmodSync(join(rootfs, 'etc/tyk-upgrade/worker.env'), 0o600);
    writeFileSync(join(root, 'Dockerfile'), 'FROM scratch\nCOPY rootfs/ /\nENV container=docker\nSTOPSIGNAL SIGRTMIN+3\nCMD ["/lib/systemd/systemd"]\n');
    const image = `tyk-upgrade-test/systemd:${id}`;
    execFileSync('docker', ['build', '-q', '-t', image, root], { env: { ...process.env, DOCKER_BUILDKIT: '0' }, stdio: 'ignore' });
    try {
      const c = await docker.createContainer({
        name,
        Image: image,
        HostConfig: {
          NetworkMode: 'host',
          Tmpfs: { '/run': '', '/run/lock': '', '/tmp': '' },
          Binds: ['/sys/fs/cgroup:/sys/fs/cgroup:ro', '/usr:/usr:ro', `${pkg.prefix}:/usr/local:ro`, '/var/run/docker.sock:/run/docker.sock'],
        },
      });
      await c.start();
      await waitFor('systemd to boot', async () => (/^(running|degraded)$/.test(await exec('systemctl', 'is-system-running')) ? true : undefined), 60_000, 500);

      await exec('systemctl', 'start', 'tyk-upgrade-worker');
      assert.equal(await exec('systemctl', 'is-active', 'tyk-upgrade-worker'), 'active');
      const first = await waitFor('the worker to poll its host queue', async () => (await pollers()).find((p) => p.includes(host)), 60_000, 500);
      const pid = await show('MainPID');

      // Restart=always: a worker killed outright comes back by itself after RestartSec.
      await exec('systemctl', 'kill', '--signal=SIGKILL', 'tyk-upgrade-worker');
      const again = await waitFor(
        'systemd to restart the worker',
        async () => {
          const p = await show('MainPID');
          return p !== '0' && p !== pid && (await exec('systemctl', 'is-active', 'tyk-upgrade-worker')) === 'active' ? p : undefined;
        },
        30_000,
        500,
      );
      assert.notEqual(again, pid);
      assert.equal(await show('NRestarts'), '1');
      await waitFor('the restarted worker to poll', async () => (await pollers()).find((p) => p.includes(host) && p !== first), 60_000, 500);

      await exec('systemctl', 'stop', 'tyk-upgrade-worker');
      assert.equal(await exec('systemctl', 'is-active', 'tyk-upgrade-worker'), 'inactive');
      const journal = await exec('journalctl', '-u', 'tyk-upgrade-worker', '--no-pager', '-o', 'cat');
      assert.match(journal, new RegExp(`worker for host "${host}": activities on "${hostTaskQueue(host)}"`));
      assert.doesNotMatch(journal, /bundl/i, 'the installed worker loads the prebuilt bundle');
      // The state folder the unit asks for, private to the worker's user.
      assert.equal(await exec('stat', '-c', '%a', '/var/lib/tyk-upgrade'), '700');
    } finally {
      await docker
        .getContainer(name)
        .stop({ t: 20 })
        .catch(() => undefined);
      await sleep(100);
      await docker
        .getContainer(name)
        .remove({ force: true })
        .catch(() => undefined);
      await docker
        .getImage(image)
        .remove()
        .catch(() => undefined);
    }
  });
});
