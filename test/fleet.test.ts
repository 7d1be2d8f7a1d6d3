// Fleets: several Docker hosts (each its own engine and loopback address), one `tyk-upgrade worker --host NAME`
// process per host with DOCKER_HOST pointing at that host's engine only, and the orchestration on a main queue
// that every host's worker serves. What a platform engineer must be able to trust: the ramp and the pool limit
// hold across hosts, a failure on one host rolls back (or pauses) the whole fleet with each host restoring from
// its own backup, a host's worker can die mid-recreate, a host without a worker is refused before anything
// changes, and the CLI does all of it with no Docker socket of its own.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { decide, getStatus, resolvePause, startUpgrade } from '../src/client-lib/upgrades';
import { pullImage } from '../src/activities/images';
import { instanceKey } from '../src/shared/names';
import type { UpgradeStatus } from '../src/shared/types';
import { Exit } from '../src/cli/exit-codes';
import { runCli, spawnCli } from './support/cli';
import { activitiesIn, childrenOf, containersOf, upgradeHistories } from './support/history';
import { fleetContainers, servedVersions, startFleet, stopEngines, type Fleet } from './support/fleet';
import { assertServedThroughNginx, downMonitor } from './support/load';
import { startNginx } from './support/nginx';
import { startTraffic } from './support/traffic';
import { connectTestEnv, FAULTY_REPO, GATEWAY_REPO, sleep, tempDir } from './support/services';
import { failureOf, keepHistory, waitUntil } from './support/upgrade';

let env: TestWorkflowEnvironment;
let last: Fleet | undefined;
before(async () => {
  env = await connectTestEnv();
});
after(async () => {
  await stopEngines(last);
  await env.teardown();
});

/** A fleet for one test, removed afterwards (the engines stay up for the next test and stop at the end). */
async function withFleet(opts: Parameters<typeof startFleet>[0], fn: (f: Fleet) => Promise<void>): Promise<void> {
  const fleet = await startFleet(opts);
  last = fleet;
  try {
    await fn(fleet);
  } finally {
    await fleet.remove();
  }
}

const confOf = (fleet: Fleet, host: number) => join(fleet.hosts[host].stack.gateways[0].confDir, 'tyk.conf');

describe('a rolling upgrade of 3 hosts × 2 gateways and a pump per host behind nginx, ramp [1, "50%"], maxUnavailable 2', () => {
  it('puts every gateway and pump on the target, never has more than 2 of the pool down, and nginx never lacks a live gateway', async () => {
    await withFleet({ prefix: 'fleet-roll', hosts: 3, gatewaysPerHost: 2 }, async (fleet) => {
      const nginx = await startNginx(fleet.hosts.flatMap((h) => h.stack.gateways.map((g) => g.url.replace('http://', ''))));
      const load = startTraffic(nginx.url);
      const monitor = downMonitor(fleet.hosts.flatMap((h) => h.stack.gateways.map((g) => g.url)));
      try {
        const handle = await startUpgrade(env.client, fleet.input({ batchSize: [1, '50%'], maxUnavailable: 2, soakMs: 3_000 }), { taskQueue: fleet.taskQueue });
        const result = await handle.result();
        await keepHistory(handle, 'fleet-rolling-ahead', env.client);
        await sleep(300);
        const traffic = await load.stop();
        const maxDown = await monitor.stop();

        assert.equal(result.outcome, 'succeeded', result.reason);
        // 6 gateways: a canary of 1, then "50%" = 3 capped to 2 by maxUnavailable; the pumps last.
        assert.deepEqual(
          result.batches.map((b) => [b.name, b.instances.length, b.state]),
          [
            ['1', 1, 'done'],
            ['2', 2, 'done'],
            ['3', 2, 'done'],
            ['4', 1, 'done'],
            ['pumps', 3, 'done'],
          ],
        );
        assert.ok(
          Object.values(await servedVersions(fleet)).every((v) => v === '5.3.0'),
          JSON.stringify(await servedVersions(fleet)),
        );
        const containers = await fleetContainers(fleet);
        for (const h of fleet.hosts) {
          const mine = containers.filter((c) => c.startsWith(`${h.name}/`));
          assert.deepEqual(mine, [
            `${h.name}/${fleet.input().stack}-gateway-1 127.0.0.1:5000/standin/tyk-gateway:v5.3.0 running`,
            `${h.name}/${fleet.input().stack}-gateway-2 127.0.0.1:5000/standin/tyk-gateway:v5.3.0 running`,
            `${h.name}/${fleet.input().stack}-pump 127.0.0.1:5000/standin/tyk-pump:v1.10.0 running`,
          ]);
        }
        assert.ok(maxDown <= 2, `at most maxUnavailable (2) gateways of the pool were down at once; saw ${maxDown}`);
        assertServedThroughNginx(traffic, nginx, { stops: 6 });

        // Each host backed up its own containers into its own folder.
        assert.deepEqual(
          result.backups.map((b) => b.host),
          fleet.hosts.map((h) => h.name),
        );
        for (const b of result.backups) {
          const manifest = JSON.parse(readFileSync(b.manifest, 'utf8')) as { entries: { container: string }[] };
          assert.ok(b.manifest.includes(`/${b.host}/`), b.manifest);
          const own = fleet.hosts.find((h) => h.name === b.host)?.worker?.backupDir;
          assert.ok(own && b.dir.startsWith(`${own}/`), `${b.dir} is in the folder of ${b.host}'s worker (${own})`);
          assert.deepEqual([...new Set(manifest.entries.map((e) => e.container))].sort(), [
            `${fleet.input().stack}-gateway-1`,
            `${fleet.input().stack}-gateway-2`,
            `${fleet.input().stack}-pump`,
          ]);
        }
        // One child per batch under the parent's id (as Temporal recorded them, not as the product names them),
        // each completed after recreating exactly its batch's containers; the parent's history stays small.
        const parent = await handle.describe();
        const children = childrenOf(await upgradeHistories(env.client, handle.workflowId));
        assert.deepEqual(
          children.map((c) => c.workflowId),
          result.batches.map((b) => `${handle.workflowId}/batch-${b.name}`),
        );
        assert.deepEqual(
          children.map((c) => {
            const done = c.history.events?.at(-1)?.workflowExecutionCompletedEventAttributes ? 'completed' : 'not completed';
            const recreated = activitiesIn(c.history).filter((a) => a.type === 'recreateContainer' && a.outcome === 'completed');
            return `${c.workflowId} ${done}: ${recreated.flatMap(containersOf).sort().join(' ')}`;
          }),
          result.batches.map(
            (x) =>
              `${x.workflowId} completed: ${x.instances
                .map((k) => k.split('/').pop())
                .sort()
                .join(' ')}`,
          ),
        );
        // Each gateway batch after the first runs on the replacements the batch before made during its soak: its
        // recreate was handed one, and that very container is the gateway that runs now.
        const taken: string[] = [];
        for (const c of children.filter((x) => /batch-[2-4]$/.test(x.workflowId))) {
          for (const a of activitiesIn(c.history).filter((x) => x.type === 'recreateContainer')) {
            const arg = a.input[0] as { container: string; prepared?: { id: string } };
            const host = fleet.hosts.find((h) => a.identity?.endsWith(`tyk-upgrade-host=${h.name}`));
            const running = await host?.engine.docker.getContainer(arg.container).inspect();
            taken.push(
              `${arg.container}: ${arg.prepared ? (arg.prepared.id === running?.Id ? 'runs the one made ahead' : `runs ${running?.Id}, not ${arg.prepared.id}`) : 'none made ahead'}`,
            );
          }
        }
        assert.equal(taken.length, 5, taken.join('; '));
        assert.deepEqual(
          taken.filter((x) => !x.endsWith('runs the one made ahead')),
          [],
        );
        assert.ok(parent.historyLength < 300, `parent history ${parent.historyLength} events`);
      } finally {
        await load.stop();
        await monitor.stop();
        nginx.stop();
      }
    });
  });
});

describe('a gateway on the second host fails its health check', () => {
  it('onFailure rollback (the default): every changed instance on every host is back on the old version', async () => {
    await withFleet({ prefix: 'fleet-rb', hosts: 3, gatewaysPerHost: 1, pump: false, faultyHost: 1 }, async (fleet) => {
      const before = fleet.hosts.map((_, i) => readFileSync(confOf(fleet, i)));
      const handle = await startUpgrade(env.client, fleet.input({ healthTimeoutMs: 8_000 }), { taskQueue: fleet.taskQueue });
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'fleet-rollback', env.client);
      assert.equal(failure.type, 'UpgradeRolledBack', failure.message);
      const s = failure.status;
      const [h1, h2, h3] = fleet.hosts.map((h) => instanceKey({ host: h.name, container: h.stack.gateways[0].container }));
      assert.deepEqual(
        s.instances.map((i) => [instanceKey(i), i.state]),
        [
          [h1, 'rolled-back'],
          [h2, 'rolled-back'],
          [h3, 'pending'],
        ],
      );
      assert.match(s.reason ?? '', new RegExp(`1 instance failed \\(budget 0\\): ${h2}: .*/hello`));
      assert.deepEqual(Object.values(await servedVersions(fleet)), ['5.2.0', '5.2.0', '5.2.0']);
      for (const i of fleet.hosts.keys()) assert.ok(readFileSync(confOf(fleet, i)).equals(before[i]), `tyk.conf of host ${i + 1} byte-identical`);
      const containers = await fleetContainers(fleet);
      assert.equal(containers.length, 3, `one container per name on every host: ${containers.join(', ')}`);
      assert.ok(containers.every((c) => c.endsWith('running')));
    });
  });

  it('onFailure pause: the fleet waits where it is; a person chooses roll back all, and every host restores from its own backup', async () => {
    await withFleet({ prefix: 'fleet-pause', hosts: 3, gatewaysPerHost: 1, pump: false, faultyHost: 1 }, async (fleet) => {
      const before = fleet.hosts.map((_, i) => readFileSync(confOf(fleet, i)));
      const handle = await startUpgrade(env.client, fleet.input({ healthTimeoutMs: 8_000, onFailure: 'pause' }), { taskQueue: fleet.taskQueue });
      const paused = await waitUntil(env.client, handle.workflowId, 'the pause', (s) => s.pause?.state === 'waiting');
      const [h1, h2, h3] = fleet.hosts.map((h) => instanceKey({ host: h.name, container: h.stack.gateways[0].container }));
      assert.deepEqual(
        paused.instances.map((i) => [instanceKey(i), i.state]),
        [
          [h1, 'upgraded'],
          [h2, 'rolled-back'],
          [h3, 'pending'],
        ],
      );
      assert.deepEqual(paused.pause?.failed, [h2]);
      assert.deepEqual(
        Object.values(await servedVersions(fleet)),
        ['5.3.0', '5.2.0', '5.2.0'],
        'stopped where it was: healthy ones stay, the failed one serves its old version',
      );

      // The new version on host 1 rewrites its config while the fleet waits: the rollback must bring back the bytes.
      writeFileSync(confOf(fleet, 0), Buffer.concat([before[0], Buffer.from('\n')]));
      const noDocker = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };
      const bad = await runCli(['resume', handle.workflowId, 'later'], { env: noDocker });
      assert.equal(bad.code, Exit.Usage, bad.stderr);
      assert.match(bad.stderr, /later/);
      const r = await runCli(['resume', handle.workflowId, 'rollback', '--by', 'carol', '--comment', 'CHG-7'], { env: noDocker });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /Pause 1 of .*: rollback \(by carol/);
      const again = await runCli(['resume', handle.workflowId, 'retry'], { env: noDocker });
      // A decided pause cannot be decided again (NotPaused); the decision below is still carol's rollback.
      assert.equal(again.code, Exit.WorkflowState, `exit ${again.code} (null: killed at the timeout)\n${again.stderr}`);
      assert.match(again.stderr, new RegExp(`cannot resume: ${handle.workflowId} is not paused`));

      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'fleet-pause-rollback', env.client);
      assert.equal(failure.type, 'UpgradeRolledBack', failure.message);
      assert.match(failure.message, /carol chose to roll back/);
      assert.deepEqual(
        failure.status.pause && [failure.status.pause.state, failure.status.pause.choice, failure.status.pause.by, failure.status.pause.comment],
        ['decided', 'rollback', 'carol', 'CHG-7'],
      );
      assert.deepEqual(Object.values(await servedVersions(fleet)), ['5.2.0', '5.2.0', '5.2.0']);
      for (const i of fleet.hosts.keys())
        assert.ok(readFileSync(confOf(fleet, i)).equals(before[i]), `tyk.conf of host ${i + 1} byte-identical to before the upgrade`);
      assert.equal((await fleetContainers(fleet)).length, 3);
    });
  });
});

describe('a paused fleet: the other choices', () => {
  it('retry: once the host has a good build, the failed instance is upgraded and the fleet finishes', async () => {
    await withFleet({ prefix: 'fleet-retry', hosts: 2, gatewaysPerHost: 1, pump: false, faultyHost: 1, throwawayHost: 1 }, async (fleet) => {
      const handle = await startUpgrade(env.client, fleet.input({ healthTimeoutMs: 8_000, onFailure: 'pause' }), { taskQueue: fleet.taskQueue });
      await waitUntil(env.client, handle.workflowId, 'the pause', (s) => s.pause?.state === 'waiting');
      // The operator puts a good v5.3.0 under the name that host pulled (on its own engine), then asks for a retry.
      const host = fleet.hosts[1].engine.docker;
      await pullImage(host, `${GATEWAY_REPO}:v5.3.0`, () => undefined, new AbortController().signal);
      await host.getImage(`${GATEWAY_REPO}:v5.3.0`).tag({ repo: FAULTY_REPO('hello-fail'), tag: 'v5.3.0' });
      await resolvePause(env.client, handle.workflowId, { choice: 'retry', by: 'dave' });
      const result = await handle.result();
      await keepHistory(handle, 'fleet-pause-retry', env.client);
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.deepEqual(
        result.batches.map((b) => [b.name, b.state]),
        [
          ['1', 'done'],
          ['2', 'failed'],
          ['retry-1', 'done'],
        ],
      );
      assert.deepEqual(Object.values(await servedVersions(fleet)), ['5.3.0', '5.3.0']);
      assert.equal((await fleetContainers(fleet)).length, 2);
    });
  });

  it('after-canary gate, then continue: the fleet goes on without the failed instance and ends partial', async () => {
    await withFleet({ prefix: 'fleet-cont', hosts: 3, gatewaysPerHost: 1, pump: false, faultyHost: 1 }, async (fleet) => {
      const handle = await startUpgrade(env.client, fleet.input({ healthTimeoutMs: 8_000, onFailure: 'pause', gates: ['after-canary'] }), {
        taskQueue: fleet.taskQueue,
      });
      const atCanary = await waitUntil(
        env.client,
        handle.workflowId,
        'the canary gate',
        (s) => s.gates.find((g) => g.gate === 'after-canary')?.state === 'waiting',
      );
      assert.deepEqual(
        atCanary.instances.map((i) => i.state),
        ['upgraded', 'pending', 'pending'],
        'only the canary went',
      );
      await decide(env.client, handle.workflowId, 'approve', { gate: 'after-canary', by: 'erin' });
      await waitUntil(env.client, handle.workflowId, 'the pause', (s) => s.pause?.state === 'waiting');
      await resolvePause(env.client, handle.workflowId, { choice: 'continue', by: 'erin', comment: 'host 2 is rebuilt next week' });
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'fleet-canary-continue', env.client);
      assert.equal(failure.status.outcome, 'partial');
      assert.match(failure.message, new RegExp(`1 of 3 instances are back on their old version: ${fleet.hosts[1].name}/`));
      assert.deepEqual(Object.values(await servedVersions(fleet)), ['5.3.0', '5.2.0', '5.3.0']);
      assert.ok(failure.status.errors.some((e) => /erin chose to continue without/.test(e)));
    });
  });

  it('a pause nobody resolves rolls everything back after pauseTimeout', async () => {
    await withFleet({ prefix: 'fleet-ptime', hosts: 2, gatewaysPerHost: 1, pump: false, faultyHost: 1 }, async (fleet) => {
      const handle = await startUpgrade(env.client, fleet.input({ healthTimeoutMs: 8_000, onFailure: 'pause', pauseTimeoutMs: 2_000 }), {
        taskQueue: fleet.taskQueue,
      });
      const failure = await failureOf(handle.result());
      assert.equal(failure.type, 'UpgradeRolledBack', failure.message);
      assert.match(failure.message, /the pause was not resolved within 2 s/);
      assert.equal(failure.status.pause?.state, 'timed-out');
      assert.deepEqual(Object.values(await servedVersions(fleet)), ['5.2.0', '5.2.0']);
    });
  });
});

describe("one host's worker SIGKILLed mid-recreate", () => {
  it('the fleet finishes once the worker is back, with one container per name everywhere', async () => {
    await withFleet({ prefix: 'fleet-crash', hosts: 3, gatewaysPerHost: 1, pump: false, workers: false }, async (fleet) => {
      await fleet.startWorker(fleet.hosts[0]);
      const doomed = await fleet.startWorker(fleet.hosts[1], { crashAt: 'recreate:after-stop' });
      await fleet.startWorker(fleet.hosts[2]);
      const handle = await startUpgrade(env.client, fleet.input(), { taskQueue: fleet.taskQueue });
      const died = await doomed.exited;
      assert.equal(died.signal, 'SIGKILL', doomed.output());
      assert.match(doomed.output(), /crashing at recreate:after-stop/);
      const waiting: UpgradeStatus = await getStatus(env.client, handle.workflowId);
      assert.equal(waiting.outcome, 'running', 'the other hosts keep the orchestration alive');
      await fleet.startWorker(fleet.hosts[1]);
      const result = await handle.result();
      await keepHistory(handle, 'fleet-worker-crash', env.client);
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.deepEqual(Object.values(await servedVersions(fleet)), ['5.3.0', '5.3.0', '5.3.0']);
      const containers = await fleetContainers(fleet);
      assert.deepEqual(
        containers,
        fleet.hosts.map((h) => `${h.name}/${fleet.input().stack}-gateway-1 127.0.0.1:5000/standin/tyk-gateway:v5.3.0 running`),
      );
    });
  });
});

describe("one host's Docker engine killed mid-run", () => {
  it('that host fails safely, every other host is rolled back, and nothing is deleted', async () => {
    await withFleet({ prefix: 'fleet-engine', hosts: 3, gatewaysPerHost: 1, pump: false, workers: false, throwawayHost: 2 }, async (fleet) => {
      // A short wait for the engine to come back keeps the test quick; the default is 60 s.
      for (const h of fleet.hosts) await fleet.startWorker(h, { args: ['--engine-wait', '5s'] });
      const handle = await startUpgrade(env.client, fleet.input({ gates: ['before-gateways'] }), { taskQueue: fleet.taskQueue });
      await waitUntil(env.client, handle.workflowId, 'the first gate', (s) => s.gates[0].state === 'waiting');
      const dead = fleet.hosts[2];
      await dead.engine.kill();
      await decide(env.client, handle.workflowId, 'approve', { by: 'alice' });
      const failure = await failureOf(handle.result());
      await keepHistory(handle, 'fleet-engine-killed', env.client);
      const [h1, h2, h3] = fleet.hosts.map((h) => instanceKey({ host: h.name, container: h.stack.gateways[0].container }));
      assert.equal(failure.status.outcome, 'failed', 'not every instance could be brought back while its engine is down');
      assert.deepEqual(
        failure.status.instances.map((i) => [instanceKey(i), i.state]),
        [
          [h1, 'rolled-back'],
          [h2, 'rolled-back'],
          [h3, 'failed'],
        ],
      );
      assert.match(failure.status.instances[2].detail ?? '', new RegExp(`cannot reach its Docker engine at unix://${dead.engine.socket}`));
      const served = await servedVersions(fleet);
      assert.deepEqual([served[h1], served[h2]], ['5.2.0', '5.2.0']);
      // Back up again, the engine still has the host's gateway: never touched, never deleted.
      await dead.engine.start();
      const names = (await dead.engine.docker.listContainers({ all: true })).map((c) => c.Names[0].replace(/^\//, ''));
      assert.deepEqual(names, [dead.stack.gateways[0].container]);
    });
  });
});

describe('a host named in the plan with no worker polling', () => {
  it('is refused at preflight, naming the host; nothing changes anywhere', async () => {
    await withFleet({ prefix: 'fleet-ghost', hosts: 2, gatewaysPerHost: 1, pump: false, workers: false }, async (fleet) => {
      await fleet.startWorker(fleet.hosts[0]);
      const before = await fleetContainers(fleet);
      const ids = async () =>
        (await fleet.hosts[0].engine.docker.listContainers({ all: true, filters: { label: [`io.tyk-upgrade.sandbox=${fleet.input().stack}`] } }))
          .map((c) => c.Id)
          .sort();
      const idsBefore = await ids();
      const handle = await startUpgrade(env.client, fleet.input(), { taskQueue: fleet.taskQueue });
      const failure = await failureOf(handle.result());
      assert.equal(failure.status.outcome, 'failed');
      assert.match(
        failure.message,
        new RegExp(`host ${fleet.hosts[1].name}: no worker polls host "${fleet.hosts[1].name}" \\(task queue tyk-upgrade\\.host\\.${fleet.hosts[1].name}\\)`),
      );
      assert.equal(failure.status.stages.find((s) => s.name === 'backup')?.state, 'pending', 'stopped before the backup');
      assert.deepEqual(await fleetContainers(fleet), before);
      assert.deepEqual(await ids(), idsBefore, 'the same containers, not recreated ones');
    });
  });
});

describe('the CLI with no Docker socket at all', () => {
  it('init finds the fleet through its workers, plan and start check it, approve and watch drive it to the end', async () => {
    await withFleet({ prefix: 'fleet-cli', hosts: 2, gatewaysPerHost: 1 }, async (fleet) => {
      const dir = tempDir('fleet-cli');
      const cliEnv = { DOCKER_HOST: 'unix:///nonexistent/docker.sock', TYK_UPGRADE_TASK_QUEUE: fleet.taskQueue };
      const cli = async (args: string[], code = 0) => {
        const r = await runCli(args, { cwd: dir, env: cliEnv });
        assert.equal(r.code, code, `tyk-upgrade ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
        return r;
      };
      const stack = fleet.input().stack;
      const init = await cli([
        'init',
        '--gateway-version',
        'v5.3.0',
        '--pump-version',
        'v1.10.0',
        '-o',
        'fleet.yaml',
        '--label',
        `io.tyk-upgrade.sandbox=${stack}`,
      ]);
      assert.match(init.stdout, new RegExp(`Found on hosts ${fleet.hosts.map((h) => h.name).join(', ')}`));
      const plan = readFileSync(join(dir, 'fleet.yaml'), 'utf8');
      for (const h of fleet.hosts) assert.equal(plan.split(`host: ${h.name}`).length - 1, 2, `gateway and pump of ${h.name} name their host:\n${plan}`);

      const dry = await cli(['plan', '-f', 'fleet.yaml']);
      assert.match(dry.stdout, /Gateway batches \(2;/);
      assert.match(dry.stdout, new RegExp(`${fleet.hosts[1].name}/${fleet.input().stack}-gateway-1\\s+gateway\\s+running\\s+5\\.2\\.0\\s+5\\.3\\.0`));

      const started = await cli(['start', '-f', 'fleet.yaml']);
      const id = /Started upgrade (\S+)/.exec(started.stdout)?.[1] as string;
      const watch = spawnCli(['watch', id], { cwd: dir, env: cliEnv });
      try {
        await waitUntil(env.client, id, 'the first gate', (s) => s.gates.find((g) => g.gate === 'before-gateways')?.state === 'waiting');
        await cli(['approve', id, '--by', 'alice']);
        await waitUntil(env.client, id, 'the pump gate', (s) => s.gates.find((g) => g.gate === 'before-pump')?.state === 'waiting');
        const status = await cli(['status', id]);
        assert.match(status.stdout, /HOST\s+CONTAINER\s+ROLE\s+BATCH/);
        assert.match(
          status.stdout,
          new RegExp(`${fleet.hosts[1].name}\\s+${fleet.input().stack}-gateway-1\\s+gateway\\s+2\\s+5\\.2\\.0\\s+5\\.3\\.0\\s+upgraded`),
        );
        await cli(['approve', id, '--by', 'bob']);
        assert.equal(await watch.exited, 0, watch.output());
      } finally {
        await watch.stop();
      }
      assert.match((await cli(['list'])).stdout, new RegExp(`${id}\\s+${fleet.input().stack}\\s+2\\s+5\\.3\\.0\\s+COMPLETED\\s+succeeded`));
      assert.deepEqual(Object.values(await servedVersions(fleet)), ['5.3.0', '5.3.0']);
      assert.ok(!existsSync('/nonexistent/docker.sock'));
    });
  });
});
