// `go install` of a pinned Go module into our cache, and `go build` in an unpacked source tree, both with progress a
// person can see: a first build downloads hundreds of modules and compiles thousands of packages for minutes, and
// silence looks like a hang.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { delimiter, dirname, join } from 'node:path';

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

/** One `go` command with progress lines: `args` without `-v`, which is added. */
export interface GoRun {
  label: string;
  /** `go` sub-command and its flags, e.g. ['build', '-trimpath', '-o', OUT, '.']. */
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  log: (line: string) => void;
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

/** Runs `go <sub-command> -v <flags...>`, printing progress every `everyMs`; rejects with the output's tail on failure. */
export async function goRun(go: string, r: GoRun): Promise<void> {
  const started = Date.now();
  const progress = { downloaded: 0, compiled: 0, last: '' };
  const tail: string[] = [];
  const [sub, ...rest] = r.args;
  const child = spawn(go, [sub, '-v', ...rest], { cwd: r.cwd, env: { ...process.env, ...r.env }, stdio: ['ignore', 'ignore', 'pipe'] });
  let partial = '';
  child.stderr.on('data', (d) => {
    const lines = (partial + d).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      // `-v` names each package as it is compiled; the go command names each module it downloads.
      if (line.startsWith('go: downloading ')) {
        if (progress.downloaded++ === 0) r.log(`${r.label}: fetching modules through ${process.env.GOPROXY ?? 'the Go module proxy'}`);
      } else if (/^[\w.-]+(\/[\w.~-]+)*$/.test(line)) {
        if (progress.compiled++ === 0) r.log(`${r.label}: compiling (${elapsed(Date.now() - started)} so far)`);
        progress.last = line;
      }
      tail.push(line);
      if (tail.length > 30) tail.shift();
    }
  });
  const timer = setInterval(() => {
    const parts = [`${elapsed(Date.now() - started)}`, `${progress.downloaded} modules fetched`, `${progress.compiled} packages compiled`];
    r.log(`${r.label}: ${parts.join(', ')}${progress.last ? ` (last: ${progress.last})` : ''}`);
  }, r.everyMs ?? 15_000);
  try {
    const code = await new Promise<number | null>((resolve, reject) => {
      child.once('error', reject);
      child.once('close', resolve);
    });
    if (code !== 0) throw new Error(`go ${r.args.join(' ')} exited with ${code}:\n${tail.join('\n')}`);
    r.log(`${r.label}: built in ${elapsed(Date.now() - started)} (${progress.downloaded} modules fetched, ${progress.compiled} packages compiled)`);
  } finally {
    clearInterval(timer);
  }
}

export async function goInstall(go: string, b: GoInstall): Promise<void> {
  const dir = dirname(b.target);
  await mkdir(dir, { recursive: true });
  // Build into a private folder and rename: two concurrent builds cannot leave a half-written binary.
  const tmp = await mkdtemp(join(dir, 'build-'));
  b.log(`${b.label}: go install ${b.pkg} (once, into ${b.target})`);
  try {
    await goRun(go, {
      label: b.label,
      args: ['install', ...(b.ldflags ? ['-ldflags', b.ldflags] : []), b.pkg],
      env: { GOBIN: tmp, GOFLAGS: '-mod=mod' },
      log: b.log,
      everyMs: b.everyMs,
    });
    await rename(join(tmp, b.binary), b.target);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
