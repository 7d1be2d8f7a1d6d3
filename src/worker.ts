// The worker: runs the upgrade workflow and its activities on the task queue (`tyk-upgrade worker`, `dev`, `demo`).
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import Docker from 'dockerode';
import { createActivities, type ActivityDeps } from './activities';
import { TASK_QUEUE } from './shared/names';

export interface UpgradeWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  docker?: Docker;
  taskQueue?: string;
  checkpoint?: ActivityDeps['checkpoint'];
  /** A bundle made once with bundleWorkflows(), so several workers in one process do not bundle again. */
  workflowBundle?: WorkflowBundleWithSourceMap;
}

export function bundleWorkflows(): Promise<WorkflowBundleWithSourceMap> {
  return bundleWorkflowCode({ workflowsPath: require.resolve('./workflows'), logger: quietLogger });
}

// The bundler's own progress lines are noise in the CLI; errors still throw.
const quietLogger = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };

export async function createUpgradeWorker(opts: UpgradeWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    ...(opts.workflowBundle ? { workflowBundle: opts.workflowBundle } : { workflowsPath: require.resolve('./workflows') }),
    activities: createActivities({ docker: opts.docker ?? new Docker(), checkpoint: opts.checkpoint }),
    // Let a running health check or drain finish its step before the worker goes.
    shutdownGraceTime: '30s',
  });
}

/** A checkpoint that kills this worker at the named point: how tests prove a crash anywhere is survivable. */
export function crashAt(point: string | undefined): ActivityDeps['checkpoint'] {
  if (!point) return undefined;
  return (name) => {
    if (name === point) {
      process.stderr.write(`worker: crashing at ${name} (TYK_UPGRADE_CRASH_AT)\n`);
      process.kill(process.pid, 'SIGKILL');
    }
  };
}
