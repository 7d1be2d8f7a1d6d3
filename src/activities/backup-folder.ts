// Where a worker keeps its backups. The folder belongs to the worker on its own host (`worker --backup-dir`), not
// to the plan: a plan written on a laptop cannot know the paths of every gateway host, and once said that every
// host wrote to the operator's home folder path. The plan may only name a subfolder of each worker's folder.
// Node's own modules only: the CLI reads the default at every start.
import { randomBytes } from 'node:crypto';
import { mkdir, stat, statfs, unlink, writeFile } from 'node:fs/promises';
import { homedir, userInfo } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';

/** Config backups are small; less than this free means the next write may fail half way. */
export const MIN_FREE_BYTES = 1024 * 1024;

export const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export async function freeBytes(dir: string): Promise<{ free: number; size: number }> {
  const s = await statfs(dir);
  return { free: s.bavail * s.bsize, size: s.blocks * s.bsize };
}

/** TYK_UPGRADE_BACKUP_DIR, else the user's state folder: $XDG_STATE_HOME/tyk-upgrade/backups or ~/.local/state/tyk-upgrade/backups. */
export function defaultBackupDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.TYK_UPGRADE_BACKUP_DIR) return resolve(env.TYK_UPGRADE_BACKUP_DIR);
  const state = env.XDG_STATE_HOME && isAbsolute(env.XDG_STATE_HOME) ? env.XDG_STATE_HOME : join(homedir(), '.local', 'state');
  return join(state, 'tyk-upgrade', 'backups');
}

/**
 * The folder on this host that a run's backups go under: the worker's own, or the plan's subfolder of it. An
 * absolute path is what a 0.3 CLI sent (its plan's backupDir, resolved on the operator's machine): a run started
 * then finishes where it began.
 */
export function backupFolderFor(workerDir: string, given: string | undefined): { dir: string; base: string; asGiven: boolean } {
  if (given && isAbsolute(given)) return { dir: given, base: given, asGiven: true };
  return { dir: given ? join(workerDir, given) : workerDir, base: workerDir, asGiven: false };
}

/**
 * Why this worker cannot write backups under `base` now, or undefined. The folder must exist (the worker makes
 * its own at start; a folder gone since, such as an unmounted backup disk, is not quietly made again on another
 * disk), be a folder, take a file, and have room.
 */
export async function backupFolderProblem(base: string, host?: string, opts: { create?: boolean } = {}): Promise<string | undefined> {
  const fix = `or start the worker${host ? ` of ${host}` : ''} with --backup-dir DIR (a folder it can write)`;
  const who = userName();
  if (opts.create) {
    try {
      await mkdir(base, { recursive: true, mode: 0o700 });
    } catch (err) {
      // On a read-only file system even an existing folder refuses mkdir: then the checks below say what is wrong.
      const there = await stat(base).then(
        (st) => st.isDirectory(),
        () => false,
      );
      if (there) return backupFolderProblem(base, host);
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EROFS') return `backup folder ${base} cannot be made: the file system is read-only; mount it read-write, ${fix}`;
      if (code === 'ENOSPC') return `backup folder ${base} cannot be made: the file system is full; free some space there, ${fix}`;
      return `backup folder ${base} cannot be made for the worker's user${who} (${code}); create it (\`mkdir -p -m 700 ${base}\`), ${fix}`;
    }
  }
  try {
    if (!(await stat(base)).isDirectory()) return `backup folder ${base} is not a folder; remove what is there, ${fix}`;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return `backup folder ${base} does not exist; create it for the worker's user${who}: \`mkdir -p -m 700 ${base}\`, ${fix}`;
    return `backup folder ${base} cannot be read (${code}); give the worker's user${who} access, ${fix}`;
  }
  const probe = join(base, `.tyk-upgrade-write-test-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, '', { mode: 0o600 });
    await unlink(probe);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EROFS') return `backup folder ${base} is on a read-only file system; mount it read-write, ${fix}`;
    if (code === 'ENOSPC') return `backup folder ${base} is full; free some space there, ${fix}`;
    return `backup folder ${base} is not writable for the worker's user${who} (${code}); \`chown\` it to that user, ${fix}`;
  }
  const { free } = await freeBytes(base);
  if (free < MIN_FREE_BYTES) return `backup folder ${base} has ${mib(free)} free (at least ${mib(MIN_FREE_BYTES)} needed); free some space there, ${fix}`;
  return undefined;
}

/**
 * At the worker's start: its folder made when missing (0700), then checked. A problem is returned for the log,
 * not thrown: the worker still serves look-only work, and preflight refuses upgrades on this host until it is fixed.
 */
export function prepareBackupFolder(dir: string, host?: string): Promise<string | undefined> {
  return backupFolderProblem(dir, host, { create: true });
}

function userName(): string {
  try {
    return ` (${userInfo().username})`;
  } catch {
    return '';
  }
}
