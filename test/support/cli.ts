// Runs the real CLI (dist/src/client.js) as a child process, the way a person or a script would.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const CLIENT = join(__dirname, '..', '..', 'src', 'client.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
  ms: number;
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  cwd?: string;
  timeoutMs?: number;
  /** Another build's client.js (an older release), instead of this tree's. */
  entry?: string;
  /** An installed `tyk-upgrade` run by its path (its shebang finds node), with only `env` as its environment. */
  bin?: string;
}

/** The child for a CLI run: this tree's (or another build's) client.js under node, or an installed binary. */
function spawnClient(args: string[], opts: CliOptions): ChildProcess {
  const [cmd, argv, env] = opts.bin ? [opts.bin, args, opts.env] : [process.execPath, [opts.entry ?? CLIENT, ...args], { ...process.env, ...opts.env }];
  return spawn(cmd, argv, { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
}

export function runCli(args: string[], opts: CliOptions = {}): Promise<CliResult> {
  const started = Date.now();
  const child = spawnClient(args, opts);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  return new Promise((resolve) => {
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr, ms: Date.now() - started });
    });
  });
}

/** A long-running CLI process (worker, watch) whose output can be awaited line by line. */
export interface CliProcess {
  child: ChildProcess;
  /** Everything written so far, stdout and stderr, each line with when it arrived. */
  lines: { at: number; text: string }[];
  output(): string;
  waitFor(re: RegExp, timeoutMs?: number): Promise<number>;
  exited: Promise<number | null>;
  stop(): Promise<void>;
}

export function spawnCli(args: string[], opts: CliOptions = {}): CliProcess {
  const child = spawnClient(args, opts);
  const lines: { at: number; text: string }[] = [];
  const collect = (stream: NodeJS.ReadableStream) => {
    let partial = '';
    stream.on('data', (d) => {
      const parts = (partial + d).split('\n');
      partial = parts.pop() ?? '';
      for (const text of parts) lines.push({ at: Date.now(), text });
    });
    stream.on('end', () => partial && lines.push({ at: Date.now(), text: partial }));
  };
  collect(child.stdout as NodeJS.ReadableStream);
  collect(child.stderr as NodeJS.ReadableStream);
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return {
    child,
    lines,
    output: () => lines.map((l) => l.text).join('\n'),
    waitFor: async (re, timeoutMs = 60_000) => {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = lines.find((l) => re.test(l.text));
        if (hit) return hit.at;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`no line matching ${re} (exit ${child.exitCode}); output:\n${lines.map((l) => l.text).join('\n')}`);
        }
        await new Promise((r) => setTimeout(r, 100));
      }
    },
    exited,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 40_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
