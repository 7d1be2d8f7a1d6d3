// `tyk-upgrade doctor` finds what would make an upgrade fail or wait, from the real services: a task queue no
// worker polls, a container an unfinished upgrade left, a full backup disk, an unreachable Temporal or Docker.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { oldContainerName } from '../src/shared/names';
import { runCli } from './support/cli';
import { connectTestEnv, docker, freePort, GATEWAY_REPO, tempDir } from './support/services';
import { startWorker, type RunningWorker } from './support/worker';

let env: TestWorkflowEnvironment;
let worker: RunningWorker;
before(async () => {
  env = await connectTestEnv();
  worker = await startWorker(env);
});
after(async () => {
  await worker.stop();
  await env.teardown();
});

describe('tyk-upgrade doctor', () => {
  it('reports a queue without workers, a leftover container and a full backup disk, each with its fix', async () => {
    const idle = `flt-idle-${Date.now()}`;
    const leftover = oldContainerName(`flt-doctor-${Date.now()}-gateway-1`);
    await docker.createContainer({ name: leftover, Image: `${GATEWAY_REPO}:v5.2.0`, HostConfig: { NetworkMode: 'none' } });
    const full = tempDir('flt-doctor-disk');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', full]);
    try {
      try {
        writeFileSync(join(full, 'filler'), Buffer.alloc(2 * 1024 * 1024));
      } catch {
        // ENOSPC: full, as wanted
      }
      const host = `flt-nohost-${Date.now()}`;
      const r = await runCli([
        'doctor',
        '--task-queue',
        worker.taskQueue,
        '--task-queue',
        idle,
        '--host',
        host,
        '--backup-dir',
        join(full, 'backups'),
        '--db-file',
        join(full, 't.db'),
      ]);
      assert.equal(r.code, 6, r.stdout + r.stderr);
      assert.match(r.stdout, /^ok\s+Temporal\s+127\.0\.0\.1:\d+ answers; namespace "default" exists$/m);
      assert.match(r.stdout, /^ok\s+Search attributes\s+TykStack, TykTargetVersion, TykStage, TykRun$/m);
      assert.match(r.stdout, new RegExp(`^ok\\s+Workers\\s+a worker runs the workflows of task queue "${worker.taskQueue}"$`, 'm'));
      assert.match(
        r.stdout,
        new RegExp(
          `^FAIL\\s+Workers\\s+no worker polls host "${host}" \\(task queue tyk-upgrade\\.host\\.${host}\\).*\\n\\s+fix: run \`tyk-upgrade worker --host ${host}\` on that machine`,
          'm',
        ),
      );
      assert.match(
        r.stdout,
        new RegExp(`^FAIL\\s+Workers\\s+no worker polls task queue "${idle}".*\\n\\s+fix: run \`tyk-upgrade worker --task-queue ${idle}\``, 'm'),
      );
      assert.match(r.stdout, /^ok\s+Docker\s+engine \S+ at unix:\/\/\/var\/run\/docker\.sock$/m);
      assert.match(r.stdout, new RegExp(`^WARN\\s+Leftovers\\s+${leftover} \\(created\\) belongs to .*\\n\\s+fix: .*docker rm ${leftover}`, 'm'));
      assert.match(r.stdout, new RegExp(`^FAIL\\s+Backup folder\\s+${join(full, 'backups')}: 0\\.0 MiB free \\(at least 1\\.0 MiB needed\\)`, 'm'));
      assert.match(r.stderr, /doctor: 4 problems \(Workers, Backup folder\)/);
    } finally {
      execFileSync('umount', ['-l', full]);
      await docker.getContainer(leftover).remove({ force: true });
    }
  });

  it('exits 6 when Temporal is unreachable and 5 when Docker is, saying where it looked', async () => {
    const nowhere = `127.0.0.1:${await freePort()}`;
    const t = await runCli(['doctor', '--address', nowhere]);
    assert.equal(t.code, 6);
    assert.match(t.stdout, new RegExp(`^FAIL\\s+Temporal\\s+cannot reach Temporal at ${nowhere} \\(namespace default\\): connection refused`, 'm'));
    const d = await runCli(['doctor', '--task-queue', worker.taskQueue], { env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' } });
    assert.equal(d.code, 5, d.stdout + d.stderr);
    assert.match(d.stdout, /^FAIL\s+Docker\s+cannot reach the engine at unix:\/\/\/nonexistent\/docker\.sock: .*\n\s+fix: start dockerd, or set DOCKER_HOST/m);
  });
});
