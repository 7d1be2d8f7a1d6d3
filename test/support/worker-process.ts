// A worker as a separate process a test can kill by pid and start again: the crash, fault and load-balancer tests.
import { spawn, type ChildProcess } from 'node:child_process';
import { CLIENT } from './cli';
import { temporalAddress } from './services';

export interface WorkerProcess {
  child: ChildProcess;
  pid: number;
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * `tyk-upgrade worker` in its own process, as in production, against any Temporal server and Docker engine; with
 * `crashAt` it kills itself at that checkpoint (TYK_UPGRADE_CRASH_AT).
 */
export function spawnWorker(taskQueue: string, opts: { temporal?: string; dockerHost?: string; crashAt?: string } = {}): WorkerProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, TEMPORAL_ADDRESS: opts.temporal ?? temporalAddress(), TYK_UPGRADE_CRASH_AT: opts.crashAt ?? '' };
  if (opts.dockerHost) env.DOCKER_HOST = opts.dockerHost;
  const child = spawn(process.execPath, [CLIENT, 'worker', '--task-queue', taskQueue], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  const running = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    pid: child.pid as number,
    output: () => out,
    exited,
    running,
    kill: async () => {
      if (running()) process.kill(child.pid as number, 'SIGKILL');
      await exited;
    },
    stop: async () => {
      if (running()) child.kill('SIGTERM');
      const timer = setTimeout(() => running() && child.kill('SIGKILL'), 40_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
