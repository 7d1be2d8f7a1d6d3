// Fault: a worker's backup folder is on a full file system (a 1 MiB tmpfs this test mounts and fills). Documented
// end state (docs/faults.md): the upgrade fails at preflight, before any backup, pull or stop, with a message that
// names the folder and its free space; no retry (a full disk is not fixed by waiting). The same disk full only
// once the backup writes fails that stage the same way (src/activities/backup.ts).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startUpgrade } from '../src/client-lib/upgrades';
import { faultStack, namesOn } from './support/faults';
import { connectTestEnv, docker, tempDir } from './support/services';
import { startWorker } from './support/worker';
import { failureOf } from './support/upgrade';

/** Writes until the file system says ENOSPC. */
function fill(dir: string): void {
  const chunk = Buffer.alloc(64 * 1024, 1);
  for (let i = 0; ; i++) {
    try {
      writeFileSync(join(dir, `filler-${i}`), chunk);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOSPC') return;
      throw err;
    }
  }
}

describe("a worker's backup folder on a full file system", () => {
  it('fails at preflight, before anything is backed up or stopped, naming the folder and its free space', async () => {
    const mount = tempDir('flt-fulldisk');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mount]);
    const env = await connectTestEnv();
    const stack = await faultStack(docker, { prefix: 'flt-disk' });
    const worker = await startWorker(env, { backupDir: mount });
    try {
      fill(mount);
      const before = await docker.getContainer(stack.gateways[0].container).inspect();
      const handle = await startUpgrade(env.client, stack.input(), { taskQueue: worker.taskQueue });
      const f = await failureOf(handle.result());
      assert.equal(f.status.outcome, 'failed');
      assert.equal(f.status.stages.find((s) => s.name === 'preflight')?.state, 'failed');
      assert.equal(f.status.stages.find((s) => s.name === 'backup')?.state, 'pending', 'nothing after the preflight ran');
      assert.match(
        f.message,
        new RegExp(
          `^backup folder ${mount} has 0\\.0 MiB free \\(at least 1\\.0 MiB needed\\); free some space there, or start the worker with --backup-dir DIR`,
        ),
      );
      // Failed at once: one attempt, not five retries against a full disk.
      const history = await handle.fetchHistory();
      const retried = history.events!.filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1);
      assert.equal(retried.length, 0, 'no activity was retried');
      const now = await docker.getContainer(stack.gateways[0].container).inspect();
      assert.equal(now.Id, before.Id);
      assert.equal(now.State.StartedAt, before.State.StartedAt, 'the gateway was never stopped');
      assert.deepEqual(await namesOn(docker, stack.name), [stack.gateways[0].container]);
    } finally {
      await worker.stop();
      await env.teardown();
      execFileSync('umount', ['-l', mount]);
      await stack.remove();
    }
  });
});
