// A container's bind-mounted files read from the host side: a tar like the one the Docker archive API gives
// (same names, modes, owners, mtimes and bytes), made from the host's own files without a round trip through
// the engine, which takes tens of milliseconds per call and serialises on a busy engine. A path the worker cannot
// see (not under a bind mount, a remote engine, a worker in a container without the host's files, a user
// namespace that shifts owners, a special file) comes through the archive API as before.
import { lstat, readFile, readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Stats } from 'node:fs';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { pack, type Header } from 'tar-stream';
import { readArchive } from './archive';

/**
 * Where this worker sees its engine's host filesystem: TYK_UPGRADE_HOST_ROOT ("none" turns host reads off), else "/"
 * (a worker on the host itself; the image's compose file mounts the host's "/" read-only at /host and says so).
 */
export function hostRootSetting(env: NodeJS.ProcessEnv = process.env): { root?: string; explicit: boolean } {
  const set = env.TYK_UPGRADE_HOST_ROOT;
  if (set === undefined || set === '') return { root: '/', explicit: false };
  return { root: set === 'none' ? undefined : set, explicit: true };
}

const roots = new WeakMap<Docker, Promise<string | undefined>>();

/** The host root for this engine: only a local engine (a unix socket) whose containers' owners are the host's. */
function hostRootFor(docker: Docker): Promise<string | undefined> {
  let root = roots.get(docker);
  if (!root) {
    const { root: setting } = hostRootSetting();
    const local = Boolean((docker.modem as { socketPath?: unknown }).socketPath);
    root =
      setting && local
        ? docker.info().then(
            (info: { SecurityOptions?: string[] }) => ((info.SecurityOptions ?? []).some((o) => /name=(userns|rootless)/.test(o)) ? undefined : setting),
            () => undefined,
          )
        : Promise.resolve(undefined);
    roots.set(docker, root);
  }
  return root;
}

/**
 * Whether the worker sees, under root, the same filesystem as the engine: the container's hostname file (in the
 * engine's data root) reads the container's hostname there. Where that file is out of sight (a worker in a container
 * with only the config folders mounted), an explicit TYK_UPGRADE_HOST_ROOT is believed.
 */
async function seesEngineHost(root: string, info: ContainerInspectInfo): Promise<boolean> {
  if (!info.HostnamePath) return hostRootSetting().explicit;
  try {
    return (await readFile(join(root, info.HostnamePath), 'utf8')).trim() === info.Config.Hostname;
  } catch {
    return hostRootSetting().explicit;
  }
}

/** The tar of a path inside a container, as readArchive gives it; from the host side when the worker can see it. */
export async function readContainerPath(docker: Docker, info: ContainerInspectInfo, path: string): Promise<Buffer | undefined> {
  const root = await hostRootFor(docker);
  const source = root ? hostSource(info, path) : undefined;
  if (root && source && (await seesEngineHost(root, info))) {
    const fromHost = await tarFromHost(join(root, source.mountSource), join(root, source.path), baseName(path)).catch((): typeof CANNOT => CANNOT);
    if (fromHost !== CANNOT) return fromHost;
  }
  return readArchive(docker, info.Id, path);
}

const CANNOT = Symbol('cannot read from the host side');
const baseName = (path: string) => path.replace(/\/+$/, '').split('/').pop() as string;

/** The host path behind a container path: under a bind mount, and with no other mount inside it. */
export function hostSource(info: ContainerInspectInfo, path: string): { mountSource: string; path: string } | undefined {
  const clean = path.replace(/\/+$/, '');
  const mounts = info.Mounts ?? [];
  const under = (p: string, dir: string) => p === dir || p.startsWith(`${dir}/`);
  const mount = mounts.filter((m) => under(clean, m.Destination.replace(/\/+$/, ''))).sort((a, b) => b.Destination.length - a.Destination.length)[0];
  if (mount?.Type !== 'bind' || !mount.Source) return undefined;
  // A mount inside the path (e.g. certs/ mounted inside a mounted folder) is not in the host folder.
  if (mounts.some((m) => m !== mount && m.Destination.replace(/\/+$/, '') !== clean && under(m.Destination, clean))) return undefined;
  return { mountSource: mount.Source, path: join(mount.Source, clean.slice(mount.Destination.replace(/\/+$/, '').length)) };
}

/**
 * A tar of a host file or folder under the name the container knows it by, entry by entry as the engine writes it
 * (a folder first, then its contents in name order; owners by number, no user names). CANNOT for anything the
 * engine would write differently (special files); undefined when the path is not there though its mount is.
 */
async function tarFromHost(mountSource: string, hostPath: string, name: string): Promise<Buffer | undefined | typeof CANNOT> {
  await lstat(mountSource); // the mount's source not visible: not the worker's to read
  const top = await lstat(hostPath).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  if (!top) return undefined;
  const entries: { name: string; path: string; st: Stats }[] = [];
  const walk = async (p: string, n: string, st: Stats): Promise<boolean> => {
    if (!st.isFile() && !st.isDirectory() && !st.isSymbolicLink()) return false;
    entries.push({ name: st.isDirectory() ? `${n}/` : n, path: p, st });
    if (!st.isDirectory()) return true;
    for (const child of (await readdir(p)).sort()) {
      if (!(await walk(join(p, child), `${n}/${child}`, await lstat(join(p, child))))) return false;
    }
    return true;
  };
  // A symlink at the top is resolved by the engine inside the container, which the host side cannot do.
  if (top.isSymbolicLink() || !(await walk(hostPath, name, top))) return CANNOT;

  const out = pack();
  const chunks: Buffer[] = [];
  out.on('data', (c: unknown) => chunks.push(c as Buffer));
  const ended = new Promise<void>((resolve, reject) => {
    out.on('end', resolve);
    out.on('error', reject);
  });
  for (const e of entries) {
    const header: Partial<Header> & Pick<Header, 'name'> = {
      name: e.name,
      mode: e.st.mode & 0o7777,
      uid: e.st.uid,
      gid: e.st.gid,
      mtime: new Date(Math.floor(e.st.mtimeMs / 1000) * 1000),
      type: e.st.isDirectory() ? 'directory' : e.st.isSymbolicLink() ? 'symlink' : 'file',
    };
    if (e.st.isSymbolicLink()) header.linkname = await readlink(e.path);
    const body = e.st.isFile() ? await readFile(e.path) : Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => out.entry({ ...header, size: body.length }, body, (err) => (err ? reject(err) : resolve())));
  }
  out.finalize();
  await ended;
  return Buffer.concat(chunks);
}
