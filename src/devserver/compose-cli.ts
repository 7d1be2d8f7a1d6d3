// Compose v2 for the rig: no Debian 12 package ships it and no binary can be downloaded here, so it is built
// once from its Go module (served by the module proxy) into our cache, next to the Temporal CLI, and installed
// as the Docker CLI plugin so `docker compose` works. Debian's `docker-compose` (1.29, compose v1) comes from apt.
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, readlinkSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm, symlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { findGo, goRun } from './go-install';
import { cacheRoot } from './temporal-cli';

export const COMPOSE_V2_VERSION = '2.40.3';
const MODULE = 'github.com/docker/compose/v2';
/** The system-wide plugin folder the Docker CLI searches (docker/cli's defaultSystemPluginDirs). */
export const CLI_PLUGIN_DIR = '/usr/local/lib/docker/cli-plugins';

export function cachedComposePath(): string {
  return join(cacheRoot(), `compose-${COMPOSE_V2_VERSION}`, 'docker-compose');
}

/** Builds compose v2 when it is not cached, and links it as the Docker CLI plugin; returns the binary. */
export async function installComposeV2(log: (line: string) => void): Promise<string> {
  const bin = cachedComposePath();
  if (!existsSync(bin)) {
    const go = findGo();
    if (!go) throw new Error('Go is needed to build compose v2 (no Debian 12 package ships it); install it (https://go.dev/dl) or put it on PATH');
    await buildFromModule(go, bin, log);
  }
  const plugin = join(CLI_PLUGIN_DIR, 'docker-compose');
  const current = existsSync(plugin) ? readlinkOrSelf(plugin) : undefined;
  if (current !== bin) {
    await mkdir(CLI_PLUGIN_DIR, { recursive: true });
    await rm(plugin, { force: true });
    await symlink(bin, plugin);
    log(`docker compose: ${plugin} → ${bin}`);
  }
  return bin;
}

/**
 * `go build ./cmd` inside a copy of the module the proxy serves (`go install` refuses its go.mod, which has exclude
 * directives; the module cache is read-only, hence the copy), into a private folder renamed into place.
 */
async function buildFromModule(go: string, bin: string, log: (line: string) => void): Promise<void> {
  const run = promisify(execFile);
  await mkdir(dirname(bin), { recursive: true });
  const tmp = await mkdtemp(join(dirname(bin), 'build-'));
  const label = `compose v${COMPOSE_V2_VERSION}`;
  log(`${label}: go build ./cmd in ${MODULE}@v${COMPOSE_V2_VERSION} (once, into ${bin})`);
  try {
    const env = { ...process.env, GOFLAGS: '-mod=mod' };
    const { stdout } = await run(go, ['mod', 'download', '-json', `${MODULE}@v${COMPOSE_V2_VERSION}`], { env });
    const src = join(tmp, 'src');
    await cp((JSON.parse(stdout) as { Dir: string }).Dir, src, { recursive: true });
    await run('chmod', ['-R', 'u+w', src]);
    const out = join(tmp, 'docker-compose');
    await goRun(go, {
      label,
      args: ['build', '-trimpath', '-ldflags', `-X ${MODULE}/internal.Version=v${COMPOSE_V2_VERSION}`, '-o', out, './cmd'],
      cwd: src,
      env: { GOFLAGS: '-mod=mod' },
      log,
    });
    await rename(out, bin);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

function readlinkOrSelf(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return path;
  }
}

/** `docker compose version --short`, or undefined when the plugin does not answer. */
export function composeV2Version(): string | undefined {
  const r = spawnSync('docker', ['compose', 'version', '--short'], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

// `node dist/src/devserver/compose-cli.js`: make sure `docker compose` works (builds it once), print its version.
if (require.main === module) {
  installComposeV2((l) => process.stderr.write(`[compose] ${l}\n`)).then(
    () => process.stdout.write(`${composeV2Version() ?? 'docker compose does not answer'}\n`),
    (err) => {
      process.stderr.write(`could not install compose v2: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
