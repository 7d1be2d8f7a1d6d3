// `tyk-upgrade worker`: runs the upgrade workflow and its activities against TEMPORAL_ADDRESS (or a profile),
// so it works with the embedded dev server, the compose server and Temporal Cloud alike.
import { NativeConnection, type Worker } from '@temporalio/worker';
import { crashAt, createUpgradeWorker } from '../../worker';
import { temporalTarget } from '../../temporal-config';
import { connectDocker } from '../docker';
import { CliError, Exit } from '../exit-codes';
import { note } from '../output';
import { CONNECT_TIMEOUT_MS, NO_FRONTEND, tcpProblem, unreachable, type TemporalOptions } from '../temporal';
import { quietRuntime } from './runtime';

export async function workerCommand(f: { taskQueue: string; logLevel: string }, g: TemporalOptions): Promise<void> {
  let target: ReturnType<typeof temporalTarget>;
  try {
    target = temporalTarget(g);
  } catch (err) {
    throw new CliError(`cannot load the Temporal client configuration: ${(err as Error).message}`, Exit.Usage);
  }
  const docker = await connectDocker();
  quietRuntime(f.logLevel);
  const { address } = target.connectionOptions;
  const connection = await connectNative(target.connectionOptions, target.namespace);
  let worker: Worker;
  try {
    worker = await createUpgradeWorker({
      connection,
      namespace: target.namespace,
      taskQueue: f.taskQueue,
      docker,
      checkpoint: crashAt(process.env.TYK_UPGRADE_CRASH_AT),
    });
  } catch (err) {
    await connection.close();
    if (/namespace/i.test((err as Error).message)) {
      throw new CliError(`namespace "${target.namespace}" is not usable on ${address}: ${(err as Error).message}`, Exit.TemporalUnreachable);
    }
    throw err;
  }
  note(`worker: polling task queue "${f.taskQueue}" on ${address} (namespace ${target.namespace}); Ctrl-C stops it`);
  try {
    await worker.run();
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
