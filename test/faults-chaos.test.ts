// Chaos: the worker SIGKILLed again and again at random moments across a whole upgrade that rolls back
// (two gateways upgraded one by one, then a pump build that dies at start: everything goes back). Documented end
// state (docs/faults.md): the same as without the kills — rolled back, every container the original one on its
// old version, config byte-identical to the backup, one container per name.
// Reproduce a failure with the seed it prints: TYK_UPGRADE_CHAOS_SEED=<seed> (and TYK_UPGRADE_CHAOS_KILLS=<n>).
// The seed fixes the delays; where they land also depends on the machine's speed, so the kill log says where.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getStatus, startUpgrade } from '../src/client-lib/upgrades';
import type { UpgradeStatus } from '../src/shared/types';
import { configDiffersFromBackup, faultStack, namesOn, seededRandom, servedVersion } from './support/faults';
import { spawnWorker, type WorkerProcess } from './support/worker-process';
import { connectTestEnv, docker, FAULTY_REPO, sleep, waitFor } from './support/services';
import { upgradeHistories } from './support/history';
import { failureOf } from './support/upgrade';

let env: TestWorkflowEnvironment;
before(async () => {
  env = await connectTestEnv();
});
after(() => env.teardown());

const seed = Number(process.env.TYK_UPGRADE_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
const kills = Number(process.env.TYK_UPGRADE_CHAOS_KILLS ?? 6);

const where = (s: UpgradeStatus) => `${s.stage} [${s.instances.map((i) => `${i.container.replace(/^.*-(gateway-\d+|pump)$/, '$1')}:${i.state}`).join(' ')}]`;

describe(`chaos: the worker SIGKILLed ${kills} times at random moments (seed ${seed})`, () => {
  it('a full upgrade that rolls back still ends rolled back and correct', async () => {
    const random = seededRandom(seed);
    const stack = await faultStack(docker, { prefix: 'flt-chaos', gateways: 2, pump: true });
    const taskQueue = `flt-chaos-${seed}`;
    const workers: WorkerProcess[] = [];
    const log: string[] = [];
    try {
      const names = [...stack.gateways.map((g) => g.container), stack.pump!.container];
      const originals = await Promise.all(names.map(async (n) => (await docker.getContainer(n).inspect()).Id));
      const handle = await startUpgrade(
        env.client,
        stack.input({ pumpRepository: FAULTY_REPO('exit-at-start'), pumpVersion: 'v5.3.0', healthTimeoutMs: 10_000, soakMs: 5_000 }),
        { taskQueue },
      );
      // Kills land until the upgrade ends. The soak counts from the health check (a kill does not start it again),
      // so on a fast machine the rollback can be over after fewer than all of them: most must land, at random moments.
      // Each worker lives up to 2 s after its first poll: the pump and the rollback of all take about 3 s of a
      // worker's time, so with lives of up to 3 s the upgrade once ended after 3 kills of 6.
      let killed = 0;
      while (killed < kills) {
        const worker = spawnWorker(taskQueue);
        workers.push(worker);
        await waitFor('the worker to poll', async () => (/polling task queue/.test(worker.output()) ? true : undefined), 60_000);
        await sleep(Math.floor(random() * 2_000));
        // The worker says it polls a moment before the server has seen its first poll: a query may need a retry.
        const s = await waitFor('the status', () => getStatus(env.client, handle.workflowId), 30_000, 200);
        if (s.outcome !== 'running') break;
        await worker.kill();
        killed++;
        log.push(`kill ${killed} at ${where(s)}`);
      }
      const last = spawnWorker(taskQueue);
      workers.push(last);
      const f = await failureOf(handle.result());
      console.log(`chaos: seed ${seed}, ${killed} kills (TYK_UPGRADE_CHAOS_SEED=${seed} reproduces the delays)\n  ${log.join('\n  ')}`);

      assert.ok(killed >= Math.min(kills, 4), `only ${killed} of ${kills} kills landed before the upgrade ended`);
      // The kills hit workers at work: the histories name killed workers among those that ran tasks.
      const ran = new Set<string>();
      for (const r of await upgradeHistories(env.client, handle.workflowId)) {
        for (const e of r.history.events ?? []) {
          const id = e.workflowTaskStartedEventAttributes?.identity ?? e.activityTaskStartedEventAttributes?.identity;
          if (id) ran.add(id.split('@')[0]);
        }
      }
      const killedPids = workers.slice(0, killed).map((w) => String(w.pid));
      assert.ok(
        killedPids.some((p) => ran.has(p)),
        `a killed worker had run tasks (killed ${killedPids.join(', ')}; ran ${[...ran].join(', ')})`,
      );
      assert.equal(f.status.outcome, 'rolled-back', f.message);
      assert.match(f.message, new RegExp(`${stack.pump!.container} is not healthy on 5\\.3\\.0`));
      assert.deepEqual(
        f.status.instances.map((i) => i.state),
        ['rolled-back', 'rolled-back', 'rolled-back'],
      );
      for (const [i, name] of names.entries()) {
        const now = await docker.getContainer(name).inspect();
        assert.equal(now.Id, originals[i], `${name} is the original container`);
        assert.equal(now.State.Running, true, `${name} runs`);
        assert.deepEqual(await configDiffersFromBackup(docker, f.status.backups[0].manifest, name), [], `${name} config as backed up`);
      }
      for (const g of stack.gateways) assert.equal(await servedVersion(g.url), '5.2.0');
      assert.deepEqual(await namesOn(docker, stack.name), [...names].sort(), 'one container per name');
    } finally {
      for (const w of workers) await w.stop();
      await stack.remove();
    }
  });
});
