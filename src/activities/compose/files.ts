// Writing a project's file back: the same bytes everywhere but the edit, the same mode and owner, atomically (a
// copy beside it renamed over it, so a worker killed half way leaves the old file or the new, never half of one).
// A file the worker may not write is left alone: read-only by its mode, or refused by the file system.
import { constants } from 'node:fs';
import { access, chmod, chown, lstat, realpath, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/** Why the worker may not write `path`, or undefined when it may. */
export async function notWritable(path: string): Promise<string | undefined> {
  try {
    const real = await realpath(path);
    const s = await stat(real);
    // Root may write anything; a file made read-only on purpose is still not ours to change.
    if ((s.mode & 0o222) === 0) return `${path} is read-only (mode ${(s.mode & 0o777).toString(8).padStart(4, '0')})`;
    await access(real, constants.W_OK);
    await access(dirname(real), constants.W_OK);
    return undefined;
  } catch (err) {
    return `${path} cannot be written by the worker: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`;
  }
}

/** Replace the file's bytes, keeping its mode and owner (through a symlink: the file it points to). */
export async function replaceFile(path: string, bytes: Buffer): Promise<void> {
  const real = await realpath(path);
  const s = await lstat(real);
  const tmp = join(dirname(real), `.${basename(real)}.tyk-upgrade-${process.pid}`);
  try {
    await writeFile(tmp, bytes, { mode: s.mode & 0o7777, flag: 'wx' });
    await chmod(tmp, s.mode & 0o7777);
    await chown(tmp, s.uid, s.gid).catch((err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPERM') throw err; // not root: the file stays ours, which it was to write it
    });
    await rename(tmp, real);
  } finally {
    await rm(tmp, { force: true });
  }
}
