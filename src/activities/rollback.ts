// Roll back one container: the old one (kept stopped under another name) comes back under its name, its
// config is restored from the backup and checked by sha256, and it must be healthy on the old version.
// Idempotent like recreate: it looks at what the engine has and carries on from there.
import { ApplicationFailure } from '@temporalio/common';
import { readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { ErrorType } from '../shared/errors';
import { failedContainerName, newContainerName, oldContainerName } from '../shared/names';
import type { InstancePlan } from '../shared/types';
import { readArchive, renameTarFile, tarFileHashes, writeArchive } from './archive';
import { readManifest } from './backup';
import { containerLogs, inspectContainer, renameContainer, startContainer, stopContainer } from './docker-util';
import { checkHealth } from './health';

export interface RollbackInput {
  instance: InstancePlan;
  backupManifest?: string;
  healthTimeoutMs: number;
}

export interface RollbackResult {
  restoredFiles: number;
  failedLog?: string;
}

export async function rollbackContainer(docker: Docker, input: RollbackInput, redact: (s: string) => string, heartbeat: () => void): Promise<RollbackResult> {
  const { instance } = input;
  const name = instance.container;
  const old = await inspectContainer(docker, oldContainerName(name));
  let current = await inspectContainer(docker, name);
  let failedLog: string | undefined;

  if (old) {
    if (current) {
      // Keep what the failed container said, for the person who reads the failure.
      failedLog = await saveFailedLog(docker, current.Id, input.backupManifest, name, redact);
      await stopContainer(docker, current.Id, 10);
      const stale = await inspectContainer(docker, failedContainerName(name));
      if (stale) await docker.getContainer(stale.Id).remove({ force: true });
      await renameContainer(docker, current.Id, failedContainerName(name));
    }
    const unstarted = await inspectContainer(docker, newContainerName(name));
    if (unstarted) await docker.getContainer(unstarted.Id).remove({ force: true }); // never ran: nothing lost
    await renameContainer(docker, old.Id, name);
    current = await inspectContainer(docker, name);
  }
  if (!current || current.Config.Image !== instance.fromImage) {
    throw ApplicationFailure.create({
      type: ErrorType.ContainerNotFound,
      nonRetryable: true,
      message: `cannot roll back "${name}": the old container on ${instance.fromImage} is gone (found ${current ? current.Config.Image : 'nothing'} under that name)`,
    });
  }
  heartbeat();
  const restoredFiles = input.backupManifest ? await restoreConfig(docker, current.Id, name, input.backupManifest) : 0;
  // An engine restart since the first attempt starts the failed replacement again by its restart policy:
  // it would hold the port the old container needs.
  const revived = await inspectContainer(docker, failedContainerName(name));
  if (revived?.State.Running) await stopContainer(docker, revived.Id, 10);
  await startContainer(docker, current.Id);
  await checkHealth(docker, { instance, version: instance.fromVersion, timeoutMs: input.healthTimeoutMs }, redact, heartbeat);
  // The old one serves again: only now may the failed replacement go.
  const failed = await inspectContainer(docker, failedContainerName(name));
  if (failed) await docker.getContainer(failed.Id).remove({ force: true });
  return { restoredFiles, failedLog };
}

/** Put back every backed-up file whose content differs, then check all of them against the manifest. */
async function restoreConfig(docker: Docker, id: string, name: string, manifestPath: string): Promise<number> {
  const manifest = await readManifest(manifestPath);
  const info = (await docker.getContainer(id).inspect()) as ContainerInspectInfo;
  let restored = 0;
  for (const entry of manifest.entries.filter((e) => e.container === name)) {
    const now = await readArchive(docker, id, entry.path);
    const hashes = now ? await tarFileHashes(now) : {};
    const differs = Object.entries(entry.hashes).filter(([file, sum]) => hashes[file] !== sum);
    if (differs.length === 0) continue;
    const tar = await readFile(entry.archive);
    // An archive of a single file holds just its base name; a folder's holds "folder/…" entries.
    const isFile = Object.keys(entry.hashes).join() === basename(entry.path);
    const fileMount = isFile && info.Mounts.find((m) => m.Type === 'bind' && m.Destination === entry.path);
    if (fileMount) await restoreMountedFile(docker, info, fileMount.Source, tar);
    else await writeArchive(docker, id, entry.path, tar);
    restored += differs.length;
    const after = await tarFileHashes((await readArchive(docker, id, entry.path)) ?? Buffer.alloc(0));
    const still = Object.entries(entry.hashes).filter(([file, sum]) => after[file] !== sum);
    if (still.length) {
      throw ApplicationFailure.create({
        type: ErrorType.BackupMismatch,
        nonRetryable: true,
        message: `restored ${entry.path} in "${name}" but ${still.map(([f]) => f).join(', ')} still differ from the backup (${entry.archive})`,
      });
    }
  }
  return restored;
}

/**
 * A file bind-mounted on its own (`tyk.conf:/opt/tyk-gateway/tyk.conf`) cannot be replaced through the
 * container: the engine's untar unlinks it and gets EBUSY on the mount point. So write it through a helper
 * container that mounts the host folder instead, created from the same image and never started. This keeps
 * to the engine's API, so it works on a remote engine too. The old container sees the new file when it starts.
 */
async function restoreMountedFile(docker: Docker, info: ContainerInspectInfo, hostPath: string, tar: Buffer): Promise<void> {
  const helper = await docker.createContainer({
    Image: info.Image,
    Labels: { 'io.tyk-upgrade.helper': 'restore' },
    HostConfig: { Binds: [`${dirname(hostPath)}:/restore`], NetworkMode: 'none' },
  });
  try {
    await helper.putArchive(await renameTarFile(tar, basename(hostPath)), { path: '/restore' });
  } finally {
    await helper.remove({ force: true });
  }
}

async function saveFailedLog(
  docker: Docker,
  id: string,
  manifest: string | undefined,
  name: string,
  redact: (s: string) => string,
): Promise<string | undefined> {
  if (!manifest) return undefined;
  const path = join(dirname(manifest), `${name}.failed.log`);
  const log = await containerLogs(docker, id, 2000).catch(() => '');
  await writeFile(path, redact(log), { mode: 0o600 });
  return path;
}
