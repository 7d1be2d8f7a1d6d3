// The npm package as a user gets it. `npm pack` runs in a copy of this tree, so its prepack build (tsc and the
// workflow bundle) runs for real without rewriting the dist/ that other tests are running from; the tarball is
// cached by the content of the files it was made from. Installs go to a temporary prefix from a temporary folder,
// with no NODE_PATH and no npm_* settings of the test run, so the installed binary sees only the package and its
// dependencies from the npm registry.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { cp } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { cacheRoot } from '../../src/devserver/temporal-cli';
import { tempDir } from './services';

export const REPO = join(__dirname, '..', '..', '..');
export const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version;
const run = promisify(execFile);

/** The environment of a person's shell: this run's npm settings and NODE_PATH removed. */
export function userEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^npm_/i.test(k) && k !== 'NODE_PATH' && k !== 'INIT_CWD') env[k] = v;
  return { ...env, ...extra };
}

/** The tree's files as git sees them (tracked and new, not ignored) that the package is made from, with a hash of their content. */
function sourceFiles(): { files: string[]; hash: string } {
  const files = execFileSync('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: REPO, encoding: 'utf8' })
    .split('\0')
    // What cannot end up in the package stays out of the copy and of the hash: a test edit does not re-pack.
    .filter((f) => f && !/^(test|bench|rig|standins|\.ci)\//.test(f) && existsSync(join(REPO, f)))
    .sort();
  const hash = createHash('sha256');
  for (const f of files)
    hash
      .update(`${f}\0`)
      .update(readFileSync(join(REPO, f)))
      .update('\0');
  return { files, hash: hash.digest('hex') };
}

let packed: Promise<string> | undefined;

/** `npm pack` of this tree (prepack builds it in a copy), once per content: the tarball's path. */
export function packedPackage(): Promise<string> {
  packed ??= (async () => {
    const { files, hash } = sourceFiles();
    const dir = join(cacheRoot(), 'package', hash.slice(0, 16));
    const tgz = join(dir, `tyk-upgrade-${VERSION}.tgz`);
    if (existsSync(tgz)) return tgz;
    const copy = tempDir('pack');
    for (const f of files) await cp(join(REPO, f), join(copy, f), { recursive: true });
    // The build tools (tsc, webpack) from this checkout; what the package's users get comes from the registry.
    symlinkSync(join(REPO, 'node_modules'), join(copy, 'node_modules'));
    await run('npm', ['pack', '--silent', '--pack-destination', copy], { cwd: copy, env: userEnv(), maxBuffer: 16 << 20 });
    mkdirSync(dirname(dir), { recursive: true });
    // Renamed into place whole: a concurrent pack of the same content may win, with the same bytes.
    const staging = mkdtempSync(`${dir}.tmp-`);
    renameSync(join(copy, `tyk-upgrade-${VERSION}.tgz`), join(staging, `tyk-upgrade-${VERSION}.tgz`));
    try {
      renameSync(staging, dir);
    } catch {
      rmSync(staging, { recursive: true, force: true });
    }
    rmSync(copy, { recursive: true, force: true });
    pruneOlder(dir);
    return tgz;
  })();
  return packed;
}

export interface Installed {
  prefix: string;
  /** <prefix>/bin/tyk-upgrade */
  bin: string;
  /** <prefix>/lib/node_modules/tyk-upgrade */
  root: string;
}

/** `npm install -g --prefix <tmp> ./tyk-upgrade-<version>.tgz`, run from a folder outside this repository. */
export async function installPackage(tgz: string, prefix = tempDir('prefix')): Promise<Installed> {
  const cwd = tempDir('install-from');
  await cp(tgz, join(cwd, `tyk-upgrade-${VERSION}.tgz`));
  await run('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', `./tyk-upgrade-${VERSION}.tgz`], {
    cwd,
    env: userEnv(),
    maxBuffer: 16 << 20,
  });
  return { prefix, bin: join(prefix, 'bin', 'tyk-upgrade'), root: join(prefix, 'lib', 'node_modules', 'tyk-upgrade') };
}

/** One install of this tarball kept in the cache, for tests that need the package installed but not the install. */
export async function cachedInstall(tgz: string): Promise<Installed> {
  const sha = createHash('sha256').update(readFileSync(tgz)).digest('hex').slice(0, 16);
  const prefix = join(cacheRoot(), 'install', sha);
  const done = (p: string): Installed => ({ prefix: p, bin: join(p, 'bin', 'tyk-upgrade'), root: join(p, 'lib', 'node_modules', 'tyk-upgrade') });
  if (existsSync(join(prefix, 'bin', 'tyk-upgrade'))) return done(prefix);
  mkdirSync(dirname(prefix), { recursive: true });
  const fresh = await installPackage(tgz, mkdtempSync(`${prefix}.tmp-`));
  try {
    // npm writes relative bin links, so the tree can move.
    renameSync(fresh.prefix, prefix);
  } catch {
    // Another test process installed the same tarball first.
    rmSync(fresh.prefix, { recursive: true, force: true });
  }
  pruneOlder(prefix);
  return done(prefix);
}

/**
 * Earlier contents' tarballs and installs are of no more use; those a day old go (not newer ones: another checkout
 * on this machine may be testing with its own right now).
 */
function pruneOlder(dir: string): void {
  const parent = dirname(dir);
  const dayAgo = Date.now() - 24 * 3600_000;
  for (const other of readdirSync(parent)) {
    const p = join(parent, other);
    if (p !== dir && statSync(p).mtimeMs < dayAgo) rmSync(p, { recursive: true, force: true });
  }
}
