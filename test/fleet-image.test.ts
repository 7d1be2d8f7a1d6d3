// The worker image, run the way deploy/docker-compose.worker.yml says, as the worker of each simulated host of a
// fleet: docker-compose on that host's own engine, the image pulled from the registry, host networking, and only
// three mounts, that host's Docker socket, a backup volume on that host and the host's filesystem read-only. The
// fleet upgrade ends correct, and each host's backup lands in its own volume.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { startUpgrade } from '../src/client-lib/upgrades';
import { fleetContainers, servedVersions, startFleet, stopEngines, type Fleet, type FleetHost } from './support/fleet';
import { REPO } from './support/package';
import { connectTestEnv, GATEWAY_REPO, PUMP_REPO, temporalAddress, waitFor } from './support/services';
import { workerImage } from './support/worker-image';

const run = promisify(execFile);
const COMPOSE = join(REPO, 'deploy', 'docker-compose.worker.yml');
/** Where the image keeps backups: the compose file's volume. */
const BACKUPS = '/var/lib/tyk-upgrade/backups';

let env: TestWorkflowEnvironment;
let fleet: Fleet | undefined;
before(async () => {
  env = await connectTestEnv();
});
after(async () => {
  await stopEngines(fleet);
  await env.teardown();
});

/** `docker-compose up -d` of the worker service against one host's engine, as an operator runs it on that host. */
function composeOn(h: FleetHost, project: string, image: string, taskQueue: string) {
  const composeEnv = {
    ...process.env,
    DOCKER_HOST: h.engine.dockerHost,
    TYK_UPGRADE_HOST: h.name,
    TYK_UPGRADE_WORKER_IMAGE: image,
    TYK_UPGRADE_DOCKER_SOCKET: h.engine.socket,
    TYK_UPGRADE_TASK_QUEUE: taskQueue,
    TEMPORAL_ADDRESS: temporalAddress(),
  };
  const compose = (...args: string[]) => run('docker-compose', ['-p', project, '-f', COMPOSE, ...args], { env: composeEnv, maxBuffer: 16 << 20 });
  return { up: () => compose('up', '-d'), down: () => compose('down', '-v', '--timeout', '45') };
}

describe('the worker image as each host of a fleet', () => {
  it('2 hosts, each worker a compose service on its own engine: the fleet upgrade ends correct, with only the documented mounts', async () => {
    const image = await workerImage();
    fleet = await startFleet({ prefix: 'fimg', hosts: 2, gatewaysPerHost: 1, workers: false });
    const f = fleet;
    const projects = f.hosts.map((h) => ({
      h,
      project: `tyk-upgrade-worker-${h.name}`,
      compose: composeOn(h, `tyk-upgrade-worker-${h.name}`, image, f.taskQueue),
    }));
    try {
      for (const p of projects) await p.compose.up();
      const containers = await Promise.all(
        projects.map(async ({ h, project }) => {
          const [c] = await h.engine.docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`] } });
          assert.ok(c, `the worker container runs on ${h.name}'s engine`);
          const container = h.engine.docker.getContainer(c.Id);
          await waitFor(
            `${h.name}'s worker to poll`,
            async () => {
              const logs = (await container.logs({ stdout: true, stderr: true })).toString();
              return logs.includes(`worker for host "${h.name}"`) ? logs : undefined;
            },
            90_000,
            500,
          );
          return { h, project, container };
        }),
      );

      // No folder in the plan: each worker keeps its backups in its own folder, the image's volume.
      const handle = await startUpgrade(env.client, f.input(), { taskQueue: f.taskQueue });
      const result = await handle.result();
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.ok(
        Object.values(await servedVersions(f)).every((v) => v === '5.3.0'),
        JSON.stringify(await servedVersions(f)),
      );
      const stack = f.input().stack;
      assert.deepEqual(
        await fleetContainers(f),
        f.hosts.flatMap((h) => [`${h.name}/${stack}-gateway-1 ${GATEWAY_REPO}:v5.3.0 running`, `${h.name}/${stack}-pump ${PUMP_REPO}:v1.10.0 running`]),
      );

      for (const { h, project, container } of containers) {
        const info = await container.inspect();
        // Exactly what the compose file documents: this host's socket, the backup volume, the host read-only. Nothing else.
        assert.deepEqual(
          info.Mounts.map((m) => [m.Type, m.Type === 'volume' ? m.Name : m.Source, m.Destination]).sort(),
          [
            ['bind', h.engine.socket, '/var/run/docker.sock'],
            ['volume', `${project}_tyk-upgrade-backups`, BACKUPS],
            ['bind', '/', '/host'],
          ].sort(),
        );
        assert.equal(info.Mounts.find((m) => m.Destination === '/host')?.RW, false, 'the host is mounted read-only');
        assert.equal(info.HostConfig.NetworkMode, 'host');
        assert.equal(info.Config.Image, image);
        assert.deepEqual(info.Config.Cmd, ['worker', '--host', h.name]);
        // This host's backup is in this host's volume, and holds this host's containers only.
        const backup = result.backups.find((b) => b.host === h.name);
        assert.ok(backup, `a backup for ${h.name}`);
        const volume = await h.engine.docker.getVolume(`${project}_tyk-upgrade-backups`).inspect();
        const manifest = join(volume.Mountpoint, backup.manifest.slice(BACKUPS.length));
        assert.ok(backup.manifest.startsWith(`${BACKUPS}/`) && existsSync(manifest), `${backup.manifest} is in ${h.name}'s volume (${manifest})`);
        const entries = (JSON.parse(readFileSync(manifest, 'utf8')) as { entries: { container: string }[] }).entries;
        assert.deepEqual([...new Set(entries.map((e) => e.container))].sort(), [`${stack}-gateway-1`, `${stack}-pump`]);
      }
    } finally {
      for (const p of projects) await p.compose.down().catch(() => undefined);
      await f.remove();
    }
  });
});
