// `go install` (or `go build` inside a downloaded module) of a pinned Go module into our cache, with progress a
// person can see: a first build downloads hundreds of modules and compiles thousands of packages for minutes, and
// silence looks like a hang.
import { execFile, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';
import { promisify } from 'node:util';

export interface GoInstall {
  /** What is built, for the progress lines ("Temporal server v1.29.1"). */
  label: string;
  /** Package path with its version: go.temporal.io/server/cmd/server@v1.29.1 */
  pkg: string;
  /** Name of the binary `go install` writes (the last element of the package path). */
  binary: string;
  /** Where the binary ends up. */
  target: string;
  ldflags?: string;
  log: (line: string) => void;
  /** How often a progress line is printed while the build runs (ms). */
  everyMs?: number;
}

/** The Go toolchain: on PATH, or where the official tarball installs it. */
export function findGo(): string | undefined {
  for (const dir of [...(process.env.PATH ?? '').split(delimiter), '/usr/local/go/bin']) {
    if (dir && existsSync(join(dir, 'go'))) return join(dir, 'go');
  }
  return undefined;
}

export function elapsed(ms: number): string {
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
}

export async function goInstall(go: string, b: GoInstall): Promise<void> {
  const dir = dirname(b.target);
  await mkdir(dir, { recursive: true });
  // Build into a private folder and rename: two concurrent builds cannot leave a half-written binary.
  const tmp = await mkdtemp(join(dir, 'build-'));
  b.log(`${b.label}: go install ${b.pkg} (once, into ${b.target})`);
  try {
    const args = ['install', '-v', ...(b.ldflags ? ['-ldflags', b.ldflags] : []), b.pkg];
    await runGo(go, args, { env: { ...process.env, GOBIN: tmp, GOFLAGS: '-mod=mod' } }, b);
    await rename(join(tmp, b.binary), b.target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface GoBuild {
  label: string;
  /** Module with its version: github.com/docker/compose/v2@v2.40.3 */
  module: string;
  /** Package inside the module, as `go build` takes it: ./cmd */
  pkg: string;
  target: string;
  ldflags?: string;
  log: (line: string) => void;
  everyMs?: number;
}

/**
 * `go build` inside a copy of a module from the module proxy, for modules whose go.mod `go install` refuses
 * (replace or exclude directives, as compose v2's has). The module cache is read-only, so the build runs in a copy.
 */
export async function goBuildModule(go: string, b: GoBuild): Promise<void> {
  const dir = dirname(b.target);
  await mkdir(dir, { recursive: true });
  const tmp = await mkdtemp(join(dir, 'build-'));
  b.log(`${b.label}: go build ${b.pkg} in ${b.module} (once, into ${b.target})`);
  try {
    const { stdout } = await promisify(execFile)(go, ['mod', 'download', '-json', b.module], { env: { ...process.env, GOFLAGS: '-mod=mod' } });
    const src = join(tmp, 'src');
    await cp((JSON.parse(stdout) as { Dir: string }).Dir, src, { recursive: true });
    await promisify(execFile)('chmod', ['-R', 'u+w', src]);
    const out = join(tmp, 'out');
    const args = ['build', '-v', '-trimpath', ...(b.ldflags ? ['-ldflags', b.ldflags] : []), '-o', out, b.pkg];
    await runGo(go, args, { cwd: src, env: { ...process.env, GOFLAGS: '-mod=mod' } }, { ...b, pkg: `${b.module} ${b.pkg}` });
    await rename(out, b.target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

/** Runs the go command, printing progress every `everyMs`, and fails with the last lines it said. */
async function runGo(
  go: string,
  args: string[],
  opts: { cwd?: string; env: NodeJS.ProcessEnv },
  b: { label: string; pkg: string; log: (line: string) => void; everyMs?: number },
): Promise<void> {
  const started = Date.now();
  const progress = { downloaded: 0, compiled: 0, last: '' };
  const tail: string[] = [];
  const child = spawn(go, args, { ...opts, stdio: ['ignore', 'ignore', 'pipe'] });
  let partial = '';
  child.stderr.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      // `-v` names each package as it is compiled; the go command names each module it downloads.
      if (line.startsWith('go: downloading ')) {
        if (progress.downloaded++ === 0) b.log(`${b.label}: fetching modules through ${process.env.GOPROXY ?? 'the Go module proxy'}`);
      } else if (/^[\w.-]+(\/[\w.~-]+)*$/.test(line)) {
        if (progress.compiled++ === 0) b.log(`${b.label}: compiling (${elapsed(Date.now() - started)} so far)`);
        progress.last = line;
      }
      tail.push(line);
      if (tail.length > 30) tail.shift();
    }
  });
  const timer = setInterval(() => {
    const parts = [`${elapsed(Date.now() - started)}`, `${progress.downloaded} modules fetched`, `${progress.compiled} packages compiled`];
    b.log(`${b.label}: ${parts.join(', ')}${progress.last ? ` (last: ${progress.last})` : ''}`);
  }, b.everyMs ?? 15_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`go ${args[0]} ${b.pkg} exited with ${code}:\n${tail.join('\n')}`);
    b.log(`${b.label}: built in ${elapsed(Date.now() - started)} (${progress.downloaded} modules fetched, ${progress.compiled} packages compiled)`);
  } finally {
    clearInterval(timer);
  }
}
