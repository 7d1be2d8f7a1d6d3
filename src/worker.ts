// The worker: runs the upgrade workflow and its activities on the task queue (`tyk-upgrade worker`, `dev`, `demo`).
import { hostname } from 'node:os';
import { type NativeConnection, Worker } from '@temporalio/worker';
import Docker from 'dockerode';
import { createActivities, type ActivityDeps } from './activities';
import { createNotifyActivity } from './activities/notify';
import { hostTaskQueue, TASK_QUEUE, workerIdentity } from './shared/names';
import { workflowCode, type WorkflowCode } from './workflow-bundle';

export interface UpgradeWorkerOptions {
  connection: NativeConnection;
  namespace: string;
  docker?: Docker;
  taskQueue?: string;
  checkpoint?: ActivityDeps['checkpoint'];
  /** Headers sent with load-balancer hook calls (readHookHeaders of the worker's environment). */
  hookHeaders?: ActivityDeps['hookHeaders'];
  /** DOCKER_HOST or the local socket, for messages. */
  dockerAddress?: string;
  engineWaitMs?: number;
  /** Webhooks for notifications (loadNotifyConfig); absent: none are sent. */
  notify?: ActivityDeps['notify'];
  /** Where the workflow code comes from; default: the prebuilt bundle, or a bundle made at start (said in `log`). */
  workflows?: WorkflowCode;
  /** Lines for the person running the worker (default: stderr). */
  log?: (line: string) => void;
  /** This worker's backup folder on its host (`--backup-dir`); default: defaultBackupDir(). */
  backupDir?: string;
}

const workflowSource = (opts: UpgradeWorkerOptions) => opts.workflows ?? workflowCode(opts.log ?? ((l) => process.stderr.write(`worker: ${l}\n`)));
const activitiesOf = (opts: UpgradeWorkerOptions) =>
  createActivities({
    docker: opts.docker ?? new Docker(),
    checkpoint: opts.checkpoint,
    dockerAddress: opts.dockerAddress,
    engineWaitMs: opts.engineWaitMs,
    hookHeaders: opts.hookHeaders,
    notify: opts.notify,
    backupDir: opts.backupDir,
  });
// Let a running health check or drain finish its step before the worker goes.
const SHUTDOWN_GRACE = '30s' as const;

/** One machine: the workflows and the activities against the local engine, on one task queue. */
export async function createUpgradeWorker(opts: UpgradeWorkerOptions): Promise<Worker> {
  return Worker.create({
    connection: opts.connection,
    namespace: opts.namespace,
    taskQueue: opts.taskQueue ?? TASK_QUEUE,
    ...workflowSource(opts),
    activities: activitiesOf(opts),
    shutdownGraceTime: SHUTDOWN_GRACE,
  });
}

/**
 * One host of a fleet: its activities on the host's own queue (only this worker touches this engine), and the
 * orchestration on the main queue, which every host's worker serves by default, so the fleet's workflow outlives any
 * one host. `orchestration: false` (`--no-workflows`) leaves the orchestration to the other workers: no workflow bundle
 * and no workflow cache in this process, which is most of a worker's memory (docs/fleet.md). Both say the host in
 * their identity, which is how `init` finds the fleet through Temporal.
 */
export async function createHostWorkers(opts: UpgradeWorkerOptions & { host: string; orchestration?: boolean }): Promise<Worker[]> {
  const identity = workerIdentity(`${process.pid}@${hostname()}`, opts.host);
  const common = { connection: opts.connection, namespace: opts.namespace, identity, shutdownGraceTime: SHUTDOWN_GRACE };
  return [
    await Worker.create({ ...common, taskQueue: hostTaskQueue(opts.host), activities: activitiesOf(opts) }),
    // notify runs on the workflow's own queue (the main one): the only activity this worker serves there.
    await Worker.create({
      ...common,
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      ...(opts.orchestration === false ? {} : workflowSource(opts)),
      activities: createNotifyActivity(opts.notify),
    }),
  ];
}

/** Run workers together: when one stops (a signal, a fatal error), the others are shut down too. */
export async function runWorkers(workers: Worker[]): Promise<void> {
  const stopAll = () => {
    for (const w of workers) if (w.getState() === 'RUNNING') w.shutdown();
  };
  const results = await Promise.allSettled(workers.map((w) => w.run().finally(stopAll)));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) throw failed.reason;
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
