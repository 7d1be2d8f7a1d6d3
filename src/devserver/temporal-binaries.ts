// The parts of a self-run Temporal cluster that no Debian package ships: the Temporal server, its SQL schema
// tool with the PostgreSQL schema files, and the Web UI server. Built once from their Go modules (machines
// without internet reach only the Go module proxy) into our cache, next to the Temporal CLI.
// The versions are those of docker-compose.temporal.yml's images; test/rig.test.ts checks they agree.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findGo, goInstall } from './go-install';
import { cacheRoot } from './temporal-cli';

export const TEMPORAL_SERVER_VERSION = '1.29.1';
export const TEMPORAL_UI_VERSION = '2.42.1';

const SERVER_MODULE = 'go.temporal.io/server';
const UI_MODULE = 'github.com/temporalio/ui-server/v2';

export interface TemporalBinaries {
  /** `temporal-server --root DIR --config config --env ENV start` */
  server: string;
  /** The schema tool, named as in Temporal's admin-tools image. */
  sqlTool: string;
  /** The PostgreSQL schemas: `temporal/versioned` and `visibility/versioned` under it. */
  postgresSchemaDir: string;
  /** `temporal-ui-server --root DIR --config config --env ENV start` */
  uiServer: string;
}

export function temporalBinaries(): TemporalBinaries {
  const server = join(cacheRoot(), `temporal-server-${TEMPORAL_SERVER_VERSION}`);
  return {
    server: join(server, 'temporal-server'),
    sqlTool: join(server, 'temporal-sql-tool'),
    postgresSchemaDir: join(server, 'schema', 'postgresql', 'v12'),
    uiServer: join(cacheRoot(), `temporal-ui-server-${TEMPORAL_UI_VERSION}`, 'temporal-ui-server'),
  };
}

/** The cached binaries, or a clear error naming what is missing and how to get it. */
export function requireTemporalBinaries(): TemporalBinaries {
  const b = temporalBinaries();
  const missing = Object.values(b).filter((p) => !existsSync(p));
  if (missing.length) {
    throw new Error(
      `the Temporal cluster binaries are not built (missing: ${missing.join(', ')}); run \`bash rig/setup.sh\` (or \`node dist/src/devserver/temporal-binaries.js\`) once`,
    );
  }
  return b;
}

/** Builds whatever is missing; a second call does nothing. */
export async function buildTemporalBinaries(log: (line: string) => void): Promise<TemporalBinaries> {
  const b = temporalBinaries();
  const missing = Object.values(b).filter((p) => !existsSync(p));
  if (!missing.length) return b;
  const go = findGo();
  if (!go)
    throw new Error('Go is needed to build the Temporal server, its schema tool and the Web UI server; install it (https://go.dev/dl) or put it on PATH');
  if (!existsSync(b.server)) {
    await goInstall(go, {
      label: `Temporal server v${TEMPORAL_SERVER_VERSION}`,
      pkg: `${SERVER_MODULE}/cmd/server@v${TEMPORAL_SERVER_VERSION}`,
      binary: 'server',
      target: b.server,
      log,
    });
  }
  if (!existsSync(b.sqlTool)) {
    await goInstall(go, {
      label: `Temporal SQL schema tool v${TEMPORAL_SERVER_VERSION}`,
      pkg: `${SERVER_MODULE}/cmd/tools/sql@v${TEMPORAL_SERVER_VERSION}`,
      binary: 'sql',
      target: b.sqlTool,
      log,
    });
  }
  if (!existsSync(b.postgresSchemaDir)) await copySchemas(go, b.postgresSchemaDir, log);
  if (!existsSync(b.uiServer)) {
    await goInstall(go, {
      label: `Temporal Web UI server v${TEMPORAL_UI_VERSION}`,
      pkg: `${UI_MODULE}/cmd/server@v${TEMPORAL_UI_VERSION}`,
      binary: 'server',
      target: b.uiServer,
      log,
    });
  }
  return b;
}

/** The schema files live in the server's module, not in any binary: copy them next to the schema tool. */
async function copySchemas(go: string, target: string, log: (line: string) => void): Promise<void> {
  const { stdout } = await promisify(execFile)(go, ['mod', 'download', '-json', `${SERVER_MODULE}@v${TEMPORAL_SERVER_VERSION}`], {
    env: { ...process.env, GOFLAGS: '-mod=mod' },
  });
  const source = join((JSON.parse(stdout) as { Dir: string }).Dir, 'schema', 'postgresql', 'v12');
  const parent = join(target, '..');
  await mkdir(parent, { recursive: true });
  const tmp = await mkdtemp(join(parent, '.copy-'));
  try {
    await cp(source, tmp, { recursive: true });
    // The module cache is read-only; the cache should be removable without chmod.
    await promisify(execFile)('chmod', ['-R', 'u+w', tmp]);
    await chmod(tmp, 0o755);
    await rename(tmp, target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
  log(`PostgreSQL schemas of Temporal v${TEMPORAL_SERVER_VERSION} copied to ${target}`);
}

// `node dist/src/devserver/temporal-binaries.js`: build what is missing (rig/setup.sh runs it), print the paths.
if (require.main === module) {
  buildTemporalBinaries((l) => process.stderr.write(`[temporal] ${l}\n`)).then(
    (b) => process.stdout.write(`${Object.values(b).join('\n')}\n`),
    (err) => {
      process.stderr.write(`could not build the Temporal cluster binaries: ${(err as Error).message}\n`);
      process.exit(1);
    },
  );
}
