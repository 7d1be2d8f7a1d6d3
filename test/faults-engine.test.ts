// Fault: the Docker engine restarts under a running upgrade. A throwaway engine of this test's own (its own
// dockerd, data root and socket; test/support/engines.ts), never the shared one; its containers listen on
// 127.0.0.41. The worker runs against it with DOCKER_HOST, as `tyk-upgrade worker` on that host would.
// Documented end state (docs/faults.md): succeeded or rolled back, never a gateway missing or two under one name;
// containers with a restart policy are running again. Which of the two depends on what the engine did to the new
// container: an engine that stops (restart) or loses (crash) its containers restarts them by their restart policy,
// and a restart the soak or the health check sees is a failure (the new build is not trusted: rolled back), while
// an outage the activity only sees as "engine unreachable" is retried and passes (succeeded).
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getStatus, startUpgrade } from '../src/client-lib/upgrades';
import type { UpgradeStatus } from '../src/shared/types';
import { startEngine, type Engine } from './support/engines';
import { configDiffersFromBackup, faultStack, namesOn, servedVersion, type FaultStack } from './support/faults';
import { spawnWorker, type WorkerProcess } from './support/worker-process';
import { activitiesIn, upgradeHistories } from './support/history';
import { waitForRunningActivity } from './support/upgrade';
import { connectTestEnv, tempDir, waitFor } from './support/services';

let env: TestWorkflowEnvironment;
let engine: Engine;
let worker: WorkerProcess;
let engineDir: string;
const taskQueue = `flt-engine-${randomBytes(3).toString('hex')}`;

before(async () => {
  env = await connectTestEnv();
  engineDir = tempDir('flt-engine');
  engine = await startEngine({ name: `flt-${randomBytes(3).toString('hex')}`, address: '127.0.0.41', dir: engineDir });
  worker = spawnWorker(taskQueue, { dockerHost: engine.dockerHost });
});
after(async () => {
  await worker?.stop();
  await engine?.remove().catch((err: Error) => {
    // Mounts a crashed engine's containers left behind can make its clean-up trip; unmount what is left.
    console.log(`engine clean-up: ${err.message.split('\n')[0]}; unmounting what is left`);
    forceRemove(engineDir);
  });
  await env?.teardown();
});

function forceRemove(dir: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m?.startsWith(`${dir}/`));
  for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  try {
    rmSync(dir, { recursive: true, force: true });
  } catch (err) {
    console.log(`engine clean-up: ${(err as Error).message}`); // a busy mount stays until the next boot; the test's end state was checked
  }
}

/** The engine goes down and comes back on the same data root, as `systemctl restart docker` or a crash and restart. */
async function restartEngine(how: 'restart' | 'crash'): Promise<void> {
  // dockerd's own containerd exits with it and stays a zombie until reaped: a dockerd started before then takes
  // it for running (kill -0 succeeds) and waits for its socket in vain.
  const containerd = Number(readFileSync(join(dirname(engine.socket), 'exec', 'containerd', 'containerd.pid'), 'utf8'));
  if (how === 'crash') await engine.kill();
  else {
    const pid = engine.pid() as number;
    process.kill(pid, 'SIGTERM');
    await waitFor(
      'dockerd to stop',
      async () => {
        try {
          process.kill(pid, 0);
          return undefined;
        } catch {
          return true;
        }
      },
      60_000,
    );
  }
  await waitFor("the engine's containerd to be reaped", async () => (existsSync(`/proc/${containerd}`) ? undefined : true), 30_000);
  await engine.start();
}

async function endStatus(id: string): Promise<UpgradeStatus> {
  return waitFor(
    'the upgrade to end',
    async () => {
      const s = await getStatus(env.client, id);
      return s.outcome === 'running' ? undefined : s;
    },
    180_000,
    500,
  );
}

/** Succeeded or rolled back, each with its own consistent end state; one container per name; restart policies honoured. */
async function assertConsistent(stack: FaultStack, end: UpgradeStatus, originalId: string, label: string, bystandersBack: boolean): Promise<void> {
  const gw = stack.gateways[0].container;
  console.log(`engine ${label}: upgrade ended ${end.outcome}${end.reason ? ` (${end.reason.slice(0, 200)})` : ''}`);
  assert.ok(end.outcome === 'succeeded' || end.outcome === 'rolled-back', `ended ${end.outcome}: ${end.reason}\n${worker.output()}`);
  const info = await engine.docker.getContainer(gw).inspect();
  assert.equal(info.State.Running, true, `${gw} runs`);
  assert.equal(info.HostConfig.RestartPolicy?.Name, 'unless-stopped');
  if (end.outcome === 'succeeded') {
    assert.equal(info.Config.Image, '127.0.0.1:5000/standin/tyk-gateway:v5.3.0');
    assert.equal(await servedVersion(stack.gateways[0].url), '5.3.0');
  } else {
    assert.equal(info.Id, originalId, 'the original container is back');
    assert.equal(await servedVersion(stack.gateways[0].url), '5.2.0');
    assert.deepEqual(await configDiffersFromBackup(engine.docker, end.backups[0].manifest, gw), []);
  }
  // The pump is not part of this upgrade: a bystander with a restart policy. After a restart the engine starts it
  // again. After a crash, Docker 20.10 without live-restore stops the containers it finds still running and does
  // not start them again (docs/faults.md): the upgrade's own gateway runs because the workflow started it.
  const pump = await waitFor(
    'the bystander pump to settle',
    async () => {
      const p = await engine.docker.getContainer(stack.pump!.container).inspect();
      return p.State.Running || !bystandersBack ? p : undefined;
    },
    30_000,
    250,
  );
  assert.equal(pump.State.Running, bystandersBack, `bystander pump: ${JSON.stringify(pump.State)}`);
  assert.deepEqual(await namesOn(engine.docker, stack.name), [gw, stack.pump!.container].sort(), 'one container per name, none missing');
}

for (const [label, activity, how] of [
  ['restarted while the new gateway soaks', 'soakHealth', 'restart'],
  ['crashed and started again during the health check', 'checkHealth', 'crash'],
] as const) {
  describe(`the Docker engine ${label}`, () => {
    it('ends succeeded or rolled back, one container per name, restart policies honoured', async () => {
      const stack = await faultStack(engine.docker, { prefix: `flt-eng-${how}`, listenAddress: engine.address, pump: true, checkDurationMs: 2_000 });
      try {
        const originalId = (await engine.docker.getContainer(stack.gateways[0].container).inspect()).Id;
        const input = { ...stack.input({ soakMs: 8_000, healthTimeoutMs: 30_000 }), pumps: [], pumpVersion: undefined };
        const handle = await startUpgrade(env.client, input, { taskQueue });
        // The stage the test is named for must be running when the engine goes: its activity started, not done.
        const running = await waitForRunningActivity(env.client, handle.workflowId, activity, 180_000);
        const faultAt = Date.now();
        await restartEngine(how);
        const end = await endStatus(handle.workflowId);
        await assertConsistent(stack, end, originalId, label, how === 'restart');
        const batch = (await upgradeHistories(env.client, handle.workflowId)).find((r) => r.workflowId === running.workflowId);
        const hit = activitiesIn(batch!.history).find((a) => a.type === activity);
        console.log(`engine ${label}: ${activity} ${hit?.outcome} on attempt ${hit?.attempt}${hit?.lastFailure ? ` after ${hit.lastFailure}` : ''}`);
        assert.ok(
          hit && hit.scheduledAt <= faultAt && (hit.closedAt ?? 0) > faultAt,
          `${activity} was in flight when the engine went down at ${faultAt}: ${JSON.stringify(hit && { ...hit, input: undefined })}`,
        );
      } finally {
        await stack.remove();
      }
    });
  });
}
