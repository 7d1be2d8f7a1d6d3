// Backup: Tyk's guide says back up tyk.conf, pump.conf, apps, policies, middleware, certs and Redis first.
// Each path is kept as a tar like the Docker archive API gives it: read from the host side where the worker sees
// the bind mount's source (src/activities/host-files.ts), else through the archive API; either way a restore puts
// back the same bytes, owners and modes. A manifest records a sha256 of every file.
import { mkdir, readFile, rename, rm, writeFile, chmod } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { ErrorType } from '../shared/errors';
import type { BackupFile, BackupResult, InstancePlan } from '../shared/types';
import { sha256, tarFileHashes } from './archive';
import { freeBytes, MIN_FREE_BYTES, mib } from './backup-folder';
import { inspectContainer } from './docker-util';
import { readContainerPath } from './host-files';
import { mapInOrder, PER_HOST_PARALLEL } from './parallel';
import { withRedis } from './redis';
import { CONFIG_DIRS, confDir, confPath, readConf, redisTarget } from './tyk-config';
import { backupComposeFiles, type ComposeBackupEntry } from './compose/steps';

export interface ManifestEntry extends BackupFile {
  role: string;
  /** sha256 of every regular file in the archive, by its name inside the archive. */
  hashes: Record<string, string>;
}

export interface Manifest {
  stack: string;
  runId: string;
  createdAt: string;
  entries: ManifestEntry[];
  redis: string;
  /** The compose files and `.env` of the projects whose files the upgrade edits; a rollback restores them from here. */
  compose?: ComposeBackupEntry[];
}

export interface BackupInput {
  stack: string;
  /** The host whose containers these are: its own folder, even where hosts share a backup disk. */
  host?: string;
  runId: string;
  backupDir: string;
  instances: InstancePlan[];
}

/** A name as a folder name. */
export const safe = (s: string) => s.replace(/[^A-Za-z0-9_.-]+/g, '_').replace(/^_+/, '');

/** One run's folder: `<backup folder>/<stack>/<run id>[/<host>]`. */
export function runBackupDir(backupDir: string, stack: string, runId: string, host?: string): string {
  return join(backupDir, safe(stack), safe(runId), ...(host ? [safe(host)] : []));
}

export async function backupStack(docker: Docker, input: BackupInput, heartbeat: () => void): Promise<BackupResult> {
  const dir = runBackupDir(input.backupDir, input.stack, input.runId, input.host);
  const manifestPath = join(dir, 'manifest.json');
  const existing = await readManifestFile(manifestPath).catch(() => undefined);
  // A retry after the manifest was written: the same result, hash included, from the same bytes.
  if (existing) return toResult(dir, manifestPath, existing.manifest, existing.sha256);

  await mkdir(input.backupDir, { recursive: true, mode: 0o700 }).catch((err) => noSpace(err, input.backupDir));
  await checkFreeSpace(input.backupDir);
  try {
    return await writeBackup(docker, input, dir, manifestPath, heartbeat);
  } catch (err) {
    // A half-written backup (no manifest) is of no use to anyone: do not leave it filling the disk.
    if ((err as NodeJS.ErrnoException).code === 'ENOSPC') await rm(dir, { recursive: true, force: true }).catch(() => undefined);
    return noSpace(err, input.backupDir);
  }
}

/** Fails before anything is stopped: a full disk is not something a retry fixes. */
async function checkFreeSpace(dir: string): Promise<void> {
  const { free, size } = await freeBytes(dir);
  if (free < MIN_FREE_BYTES) throw noSpaceFailure(dir, free, size);
}

function noSpaceFailure(dir: string, free: number, size: number): ApplicationFailure {
  return ApplicationFailure.create({
    type: ErrorType.BackupNoSpace,
    nonRetryable: true,
    message: `no space for the backup in ${dir}: ${mib(free)} free of ${mib(size)} (at least ${mib(MIN_FREE_BYTES)} needed); free some space there, or start the worker with --backup-dir set to a folder with room`,
  });
}

async function noSpace(err: unknown, dir: string): Promise<never> {
  if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
  const { free, size } = await freeBytes(dir).catch(() => ({ free: 0, size: 0 }));
  throw noSpaceFailure(dir, free, size);
}

async function writeBackup(docker: Docker, input: BackupInput, dir: string, manifestPath: string, heartbeat: () => void): Promise<BackupResult> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
  // Every container at once (a few at a time), each path at once: most come from the host side in milliseconds.
  const copied = mapInOrder(input.instances, PER_HOST_PARALLEL, (inst) => backupContainer(docker, inst, dir, heartbeat));
  // Redis, while the files are copied; a failed copy must not leave this promise unobserved.
  const redis = saveRedis(docker, input.instances);
  redis.catch(() => undefined);
  const entries = (await copied).flat();
  const manifestRedis = await redis;
  const compose = await backupComposeFiles(dir, input.instances);
  const manifest: Manifest = {
    stack: input.stack,
    runId: input.runId,
    createdAt: new Date().toISOString(),
    entries,
    redis: manifestRedis,
    ...(compose.length ? { compose } : {}),
  };
  const text = JSON.stringify(manifest, null, 2);
  // Written last and atomically: its presence means the backup is whole.
  await writeSecret(`${manifestPath}.tmp`, text);
  await rename(`${manifestPath}.tmp`, manifestPath);
  return toResult(dir, manifestPath, manifest, sha256(text));
}

/** One container's inspect JSON and config paths, in the manifest's order (config file first, then Tyk's folders). */
async function backupContainer(docker: Docker, inst: InstancePlan, dir: string, heartbeat: () => void): Promise<ManifestEntry[]> {
  heartbeat();
  const info = await inspectContainer(docker, inst.containerId);
  if (!info) throw new Error(`container ${inst.container} disappeared before its backup`);
  const cdir = join(dir, safe(inst.container));
  await mkdir(cdir, { recursive: true, mode: 0o700 });
  await writeSecret(join(cdir, 'inspect.json'), JSON.stringify(info, null, 2));
  const conf = confPath(info, inst.role);
  const paths = [conf, ...CONFIG_DIRS[inst.role].map((d) => `${confDir(conf)}/${d}`)];
  const entries = await Promise.all(
    paths.map(async (path): Promise<ManifestEntry | undefined> => {
      const tar = await readContainerPath(docker, info, path);
      if (!tar) return undefined; // e.g. no certs/ folder: nothing to keep
      const archive = join(cdir, `${safe(path)}.tar`);
      await writeSecret(archive, tar);
      const hashes = await tarFileHashes(tar);
      return { container: inst.container, role: inst.role, path, archive, sha256: sha256(tar), files: Object.keys(hashes).length, hashes };
    }),
  );
  return entries.filter((e): e is ManifestEntry => e !== undefined);
}

/** BGSAVE on the Redis of the first gateway that names one. */
async function saveRedis(docker: Docker, instances: InstancePlan[]): Promise<string> {
  for (const gateway of instances.filter((i) => i.role === 'gateway')) {
    const info = await inspectContainer(docker, gateway.containerId);
    if (!info) throw new Error(`container ${gateway.container} disappeared before its backup`);
    const target = redisTarget(await readConf(docker, info, 'gateway'), info.Config.Env ?? [], 'gateway');
    if (target) return redisBgsave(target);
  }
  return 'no Redis configured';
}

/** `manifestSha256` lets a change ticket name the exact backup: anyone can check the file on disk against it. */
function toResult(dir: string, manifest: string, m: Manifest, manifestSha256: string): BackupResult {
  // Only paths and hashes go back to the workflow: file contents hold secrets and must stay out of history.
  const entries = m.entries.map(({ hashes: _hashes, role: _role, ...e }) => e);
  return { dir, manifest, manifestSha256, entries, redis: m.redis };
}

async function readManifestFile(path: string): Promise<{ manifest: Manifest; sha256: string }> {
  const bytes = await readFile(path);
  return { manifest: JSON.parse(bytes.toString('utf8')) as Manifest, sha256: sha256(bytes) };
}

export async function readManifest(path: string): Promise<Manifest> {
  return JSON.parse(await readFile(path, 'utf8')) as Manifest;
}

async function writeSecret(path: string, data: string | Buffer): Promise<void> {
  await writeFile(path, data, { mode: 0o600 });
  await chmod(path, 0o600);
}

/** BGSAVE on the gateway's Redis when the worker can reach it; the answer says what happened, never a password. */
async function redisBgsave(target: ReturnType<typeof redisTarget>): Promise<string> {
  if (!target) return 'no Redis configured';
  const where = `${target.host}:${target.port}`;
  try {
    return await withRedis(target, async (client) => {
      await client.bgsave().catch((err: Error) => {
        if (!/already in progress/i.test(err.message)) throw err;
      });
      for (let i = 0; i < 300; i++) {
        const info = await client.info('persistence');
        if (/rdb_bgsave_in_progress:0/.test(info)) {
          const ok = /rdb_last_bgsave_status:ok/.test(info);
          return ok ? `BGSAVE done on ${where}` : `BGSAVE on ${where} failed; see the Redis log`;
        }
        await new Promise((r) => setTimeout(r, 100));
      }
      return `BGSAVE started on ${where} but not finished after 30 s`;
    });
  } catch (err) {
    return `Redis at ${where} not backed up: ${(err as Error).message.split('\n')[0]}`;
  }
}
