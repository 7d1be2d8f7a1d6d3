// Where the `temporal` CLI comes from: TEMPORAL_CLI_PATH, PATH, our cache, or a build of the pinned version
// with Go (no binary can be downloaded on machines without internet). Undefined means: let the SDK download it.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { goInstall } from './go-install';

export const TEMPORAL_CLI_VERSION = '1.5.1';
const MODULE = 'github.com/temporalio/cli/cmd/temporal';

export function cacheRoot(): string {
  return process.env.TYK_UPGRADE_CACHE ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tyk-upgrade');
}

export function cachedCliPath(): string {
  return join(cacheRoot(), `temporal-cli-${TEMPORAL_CLI_VERSION}`, 'temporal');
}

function onPath(cmd: string, extra: string[] = []): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), ...extra]) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

export interface FindOptions {
  /** Build with Go when nothing else is found (default true). */
  build?: boolean;
  log?: (line: string) => void;
}

export async function findTemporalCli(opts: FindOptions = {}): Promise<string | undefined> {
  const log = opts.log ?? (() => undefined);
  const fromEnv = process.env.TEMPORAL_CLI_PATH;
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`TEMPORAL_CLI_PATH is set to ${fromEnv}, which does not exist`);
    return fromEnv;
  }
  const cached = cachedCliPath();
  if (existsSync(cached)) return cached;
  const path = onPath('temporal');
  if (path) return path;
  const go = onPath('go', ['/usr/local/go/bin']);
  if (!go || opts.build === false) return undefined;
  await goInstall(go, {
    label: `Temporal CLI v${TEMPORAL_CLI_VERSION}`,
    pkg: `${MODULE}@v${TEMPORAL_CLI_VERSION}`,
    binary: 'temporal',
    target: cached,
    ldflags: `-X github.com/temporalio/cli/temporalcli.Version=${TEMPORAL_CLI_VERSION}`,
    log,
  });
  return cached;
}

export function cliVersion(path: string): string {
  return spawnSync(path, ['--version'], { encoding: 'utf8' }).stdout.trim();
}

// `node dist/src/devserver/temporal-cli.js`: make sure the CLI is there (builds it once), print its path.
if (require.main === module) {
  findTemporalCli({ log: (l) => process.stderr.write(`${l}\n`) }).then(
    (path) => {
      if (!path) {
        process.stderr.write('no temporal CLI and no Go to build one; the Temporal SDK will download the dev server (needs internet)\n');
        return;
      }
      process.stdout.write(`${path}\n${cliVersion(path)}\n`);
    },
    (err) => {
      process.stderr.write(`could not build the Temporal CLI: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
