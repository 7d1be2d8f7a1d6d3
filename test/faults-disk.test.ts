// Fault: the backup folder is on a full file system (a 1 MiB tmpfs this test mounts and fills). Documented end
// state (docs/faults.md): the upgrade fails at the backup stage, before anything is stopped, with a message that
// names the folder and its free space; no retry (a full disk is not fixed by waiting).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { startUpgrade } from '../src/client-lib/upgrades';
import { faultStack, namesOn } from './support/faults';
import { docker, tempDir } from './support/services';
import { useUpgradeWorker } from './support/worker';
import { failureOf } from './support/upgrade';

const t = useUpgradeWorker();

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

describe('the backup folder on a full file system', () => {
  it('fails at the backup, before anything is stopped, naming the folder and its free space', async () => {
    const mount = tempDir('flt-fulldisk');
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', mount]);
    const stack = await faultStack(docker, { prefix: 'flt-disk' });
    try {
      fill(mount);
      const before = await docker.getContainer(stack.gateways[0].container).inspect();
      const backupDir = join(mount, 'backups');
      const handle = await startUpgrade(t.env.client, stack.input({ backupDir }), { taskQueue: t.worker.taskQueue });
      const f = await failureOf(handle.result());
      assert.equal(f.status.outcome, 'failed');
      assert.equal(f.status.stages.find((s) => s.name === 'backup')?.state, 'failed');
      assert.equal(f.status.stages.find((s) => s.name === 'pull')?.state, 'pending', 'nothing after the backup ran');
      assert.match(f.message, new RegExp(`no space for the backup in ${backupDir}: 0\\.0 MiB free of 1\\.0 MiB`));
      // Failed at once: one attempt, not five retries against a full disk.
      const history = await handle.fetchHistory();
      const backupAttempts = history.events!.filter((e) => e.activityTaskStartedEventAttributes && e.activityTaskStartedEventAttributes.attempt! > 1);
      assert.equal(backupAttempts.length, 0, 'no activity was retried');
      const now = await docker.getContainer(stack.gateways[0].container).inspect();
      assert.equal(now.Id, before.Id);
      assert.equal(now.State.StartedAt, before.State.StartedAt, 'the gateway was never stopped');
      assert.deepEqual(await namesOn(docker, stack.name), [stack.gateways[0].container]);
    } finally {
      execFileSync('umount', ['-l', mount]);
      await stack.remove();
    }
  });
});
