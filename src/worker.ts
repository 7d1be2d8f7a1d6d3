// The worker: runs the upgrade workflow and its activities on the task queue.
import { NativeConnection, Worker, bundleWorkflowCode, type WorkflowBundleWithSourceMap } from '@temporalio/worker';
import Docker from 'dockerode';
import { createActivities, type ActivityDeps } from './activities';
import { TASK_QUEUE } from './shared/names';
import { temporalTarget } from './temporal-config';

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

export async function runWorker(
  overrides: { address?: string; namespace?: string; profile?: string; taskQueue?: string } = {},
): Promise<void> {
  const target = temporalTarget(overrides);
  const taskQueue = overrides.taskQueue ?? process.env.TYK_UPGRADE_TASK_QUEUE ?? TASK_QUEUE;
  const connection = await NativeConnection.connect(target.connectionOptions);
  const worker = await createUpgradeWorker({
    connection,
    namespace: target.namespace,
    taskQueue,
    checkpoint: crashAt(process.env.TYK_UPGRADE_CRASH_AT),
  });
  process.stderr.write(`worker: polling task queue "${taskQueue}" on ${target.connectionOptions.address} (namespace ${target.namespace})\n`);
  await worker.run();
  await connection.close();
}

if (require.main === module) {
  runWorker().catch((err) => {
    process.stderr.write(`worker: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
