// Upgrading tyk-upgrade itself while an upgrade waits at a gate (docs/fleet.md, "Upgrading tyk-upgrade itself"):
// the previous release (the newest v* tag below this commit, built once by rig/previous-release.sh) starts an
// upgrade with its own CLI and worker, which takes it through the first gate to the second; its worker is stopped,
// a worker of this code starts on the same task queue, and this code's CLI approves the second gate. The new worker
// must replay the old worker's history and finish the run: the pump upgraded, no workflow task failed.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { getHello } from '../src/activities/tyk-http';
import type { UpgradeStatus } from '../src/shared/types';
import { runCli, spawnCli, type CliProcess } from './support/cli';
import { REPO } from './support/package';
import { connectTestEnv, tempDir } from './support/services';
import { testStack } from './support/stack';
import { waitForGate } from './support/upgrade';

/** The previous release's folder, built on first use (rig/setup.sh builds it too). */
function previousRelease(): { dir: string; tag: string } {
  const dir = execFileSync('bash', [join(REPO, 'rig', 'previous-release.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
  return { dir, tag: /release-(v[^-]+)-/.exec(dir)?.[1] ?? '?' };
}

describe('upgrading tyk-upgrade under a waiting gate', () => {
  it('a worker of the previous release is stopped at a gate, one of this code takes over, the gate is approved, the upgrade finishes', async () => {
    const previous = previousRelease();
    const old = join(previous.dir, 'dist', 'src', 'client.js');
    const env = await connectTestEnv();
    const stack = await testStack({ prefix: 'toolup' });
    const dir = tempDir('toolup');
    const queue = `toolup-${stack.name}`;
    const cliEnv = { TYK_UPGRADE_TASK_QUEUE: queue };
    const id = `tyk-upgrade-${stack.name}`;
    const cli = async (args: string[], entry?: string) => {
      const r = await runCli(args, { cwd: dir, env: cliEnv, entry });
      assert.equal(r.code, 0, `${entry ? previous.tag : 'this'} tyk-upgrade ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
      return r;
    };
    let oldWorker: CliProcess | undefined = spawnCli(['worker', '--task-queue', queue], { cwd: dir, entry: old });
    let newWorker: CliProcess | undefined;
    try {
      assert.equal((await cli(['--version'], old)).stdout.trim(), previous.tag.slice(1));
      await oldWorker.waitFor(new RegExp(`worker: polling task queue "${queue}"`), 120_000);
      const oldPid = oldWorker.child.pid as number;

      // The previous release's own CLI writes the plan and starts the upgrade; its worker runs it to the second gate.
      await cli(
        ['init', '--label', `io.tyk-upgrade.sandbox=${stack.name}`, '--gateway-version', 'v5.3.0', '--pump-version', 'v1.10.0', '-o', 'plan.yaml'],
        old,
      );
      assert.match((await cli(['start', '-f', 'plan.yaml'], old)).stdout, new RegExp(`Started upgrade ${id} `));
      await waitForGate(env.client, id, 'before-gateways');
      await cli(['approve', id, '--by', 'alice'], old);
      await waitForGate(env.client, id, 'before-pump');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0', 'the old worker upgraded the gateway');

      // The tool upgrade: the old worker stops (its grace lets a step in hand finish), the new one starts.
      await oldWorker.stop();
      assert.equal(oldWorker.child.exitCode, 0, oldWorker.output());
      oldWorker = undefined;
      newWorker = spawnCli(['worker', '--task-queue', queue], { cwd: dir });
      await newWorker.waitFor(new RegExp(`worker: polling task queue "${queue}"`), 120_000);
      const newPid = newWorker.child.pid as number;

      // This code's CLI reads the waiting gate (a query the new worker answers by replaying the old history).
      const waiting = JSON.parse((await cli(['status', id, '--json'])).stdout) as { status: UpgradeStatus };
      assert.equal(waiting.status.gates.find((g) => g.gate === 'before-pump')?.state, 'waiting');
      await cli(['approve', id, '--gate', 'before-pump', '--by', 'bob']);
      const watch = await runCli(['watch', id], { cwd: dir, env: cliEnv, timeoutMs: 180_000 });
      assert.equal(watch.code, 0, `${watch.stdout}\n${watch.stderr}`);

      const done = JSON.parse((await cli(['status', id, '--json'])).stdout) as { temporalStatus: string; status: UpgradeStatus };
      assert.equal(done.temporalStatus, 'COMPLETED');
      assert.equal(done.status.outcome, 'succeeded');
      assert.deepEqual(
        done.status.gates.filter((g) => g.state !== 'skipped').map((g) => [g.gate, g.state, g.by]),
        [
          ['before-gateways', 'approved', 'alice'],
          ['before-pump', 'approved', 'bob'],
        ],
      );
      assert.deepEqual(
        done.status.instances.map((i) => [i.container, i.toVersion, i.state]),
        [
          [stack.gateways[0].container, '5.3.0', 'upgraded'],
          [stack.pump!.container, '1.10.0', 'upgraded'],
        ],
      );

      // Who ran it: the old worker until the stop, the new one after; no workflow task failed (no nondeterminism).
      const events = (await env.client.workflow.getHandle(id).fetchHistory()).events ?? [];
      const completedBy = events.flatMap((e) => (e.workflowTaskCompletedEventAttributes ? [e.workflowTaskCompletedEventAttributes.identity ?? ''] : []));
      assert.ok(
        completedBy.some((i) => i.startsWith(`${oldPid}@`)),
        `the ${previous.tag} worker ran the start: ${completedBy.join(', ')}`,
      );
      assert.ok(completedBy.at(-1)?.startsWith(`${newPid}@`), `this code's worker ran the end: ${completedBy.join(', ')}`);
      assert.deepEqual(
        events.filter((e) => e.workflowTaskFailedEventAttributes).map((e) => e.workflowTaskFailedEventAttributes?.failure?.message),
        [],
      );
      assert.doesNotMatch(newWorker.output(), /bundl/i, "this code's worker loads the prebuilt bundle");
    } finally {
      await oldWorker?.stop();
      await newWorker?.stop();
      await stack.remove();
      await env.teardown();
    }
  });
});
