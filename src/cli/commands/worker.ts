// `tyk-upgrade worker`: runs the upgrade workflow and its activities against TEMPORAL_ADDRESS (or a profile),
// so it works with the embedded dev server, the compose server and Temporal Cloud alike.
import { resolve } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { prepareBackupFolder } from '../../activities/backup-folder';
import { HOST_NAME, hostTaskQueue } from '../../shared/names';
import { crashAt, createHostWorkers, createUpgradeWorker, runWorkers } from '../../worker';
import { temporalTarget } from '../../temporal-config';
import { connectDocker, dockerAddress } from '../docker';
import { workerHookHeaders } from '../hook-headers';
import { announceNotify, workerNotifyConfig } from '../notify-config';
import { CliError, Exit } from '../exit-codes';
import { note } from '../output';
import { CONNECT_TIMEOUT_MS, NO_FRONTEND, tcpProblem, unreachable, type TemporalOptions } from '../temporal';
import { wasmBaselineOnly } from '../wasm-baseline';
import { quietRuntime } from '../worker-log';

export async function workerCommand(
  f: { taskQueue: string; logLevel: string; host?: string; workflows: boolean; engineWait: number; notify?: string; backupDir: string },
  g: TemporalOptions,
): Promise<void> {
  if (f.host !== undefined && !HOST_NAME.test(f.host)) {
    throw new CliError(`--host "${f.host}" is not a host name: 1–63 letters, digits, "_", "." or "-" (it names a task queue)`, Exit.Usage);
  }
  if (!f.workflows && f.host === undefined) {
    throw new CliError('--no-workflows needs --host NAME: a one-machine worker runs the workflows itself', Exit.Usage);
  }
  let target: ReturnType<typeof temporalTarget>;
  try {
    target = temporalTarget(g);
  } catch (err) {
    throw new CliError(`cannot load the Temporal client configuration: ${(err as Error).message}`, Exit.Usage);
  }
  wasmBaselineOnly();
  const hookHeaders = workerHookHeaders();
  const notify = workerNotifyConfig(f.notify, g.uiUrl ? { ...process.env, TEMPORAL_UI_URL: g.uiUrl } : process.env);
  const docker = await connectDocker();
  const backupDir = resolve(f.backupDir);
  const backupProblem = await prepareBackupFolder(backupDir, f.host);
  quietRuntime(f.logLevel);
  const { address } = target.connectionOptions;
  const connection = await connectNative(target.connectionOptions, target.namespace);
  let workers: Worker[];
  const opts = {
    connection,
    namespace: target.namespace,
    taskQueue: f.taskQueue,
    docker,
    dockerAddress: dockerAddress(),
    engineWaitMs: f.engineWait,
    checkpoint: crashAt(process.env.TYK_UPGRADE_CRASH_AT),
    hookHeaders,
    notify,
    backupDir,
  };
  try {
    workers = f.host ? await createHostWorkers({ ...opts, host: f.host, orchestration: f.workflows }) : [await createUpgradeWorker(opts)];
  } catch (err) {
    await connection.close();
    if (/namespace/i.test((err as Error).message)) {
      throw new CliError(`namespace "${target.namespace}" is not usable on ${address}: ${(err as Error).message}`, Exit.TemporalUnreachable);
    }
    throw err;
  }
  note(
    f.host
      ? `worker for host "${f.host}": activities on "${hostTaskQueue(f.host)}" (Docker at ${dockerAddress()}), ${f.workflows ? `workflows on "${f.taskQueue}"` : `no workflows (other workers run the orchestration on "${f.taskQueue}")`}, on ${address} (namespace ${target.namespace}); Ctrl-C stops it`
      : `worker: polling task queue "${f.taskQueue}" on ${address} (namespace ${target.namespace}); Ctrl-C stops it`,
  );
  note(backupProblem ? `warning: ${backupProblem}; until then upgrades on this host are refused at preflight` : `backups: ${backupDir}`);
  announceNotify(notify);
  try {
    await runWorkers(workers);
  } finally {
    await connection.close();
  }
}

/** NativeConnection.connect with a deadline: a black-holed address must not hang the worker's start. */
async function connectNative(options: ReturnType<typeof temporalTarget>['connectionOptions'], namespace: string): Promise<NativeConnection> {
  const refused = await tcpProblem(options.address);
  if (refused) throw unreachable(options.address, namespace, refused);
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      NativeConnection.connect(options),
      new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timeout')), CONNECT_TIMEOUT_MS))),
    ]);
  } catch (err) {
    throw unreachable(options.address, namespace, (err as Error).message === 'timeout' ? NO_FRONTEND : (err as Error).message);
  } finally {
    clearTimeout(timer);
  }
}
