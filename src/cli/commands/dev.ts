// `tyk-upgrade dev`: the embedded default. A Temporal dev server (Web UI, data kept in a file) and a worker in
// one process; Ctrl-C stops both. Other terminals reach it at the default address, 127.0.0.1:7233.
import { resolve } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { startDevServer } from '../../devserver/dev-server';
import { createUpgradeWorker } from '../../worker';
import { connectDocker } from '../docker';
import { workerHookHeaders } from '../hook-headers';
import { CliError, Exit } from '../exit-codes';
import { note, print } from '../output';
import { quietRuntime } from './runtime';

export interface DevFlags {
  port: number;
  uiPort: number;
  dbFile: string;
  taskQueue: string;
  logLevel: string;
}

export async function devCommand(f: DevFlags): Promise<void> {
  const hookHeaders = workerHookHeaders();
  const docker = await connectDocker();
  quietRuntime(f.logLevel);
  const dbFile = resolve(f.dbFile);
  const logFile = dbFile.replace(/(\.db)?$/, '.log');
  const server = await startDevServer({ port: f.port, uiPort: f.uiPort, dbFile, logFile, log: (l) => note(`dev: ${l}`) }).catch((err: Error) => {
    throw new CliError(`cannot start the Temporal dev server: ${err.message}`, /already listens/.test(err.message) ? Exit.Usage : Exit.Unexpected);
  });
  const connection = await NativeConnection.connect({ address: server.address });
  try {
    const worker = await createUpgradeWorker({ connection, namespace: server.namespace, taskQueue: f.taskQueue, docker, hookHeaders });
    print(`Temporal dev server: ${server.address} (namespace ${server.namespace}); data in ${dbFile}, log in ${logFile}`);
    print(`Web UI: ${server.uiUrl}`);
    print(`Worker: polling task queue "${f.taskQueue}". Ctrl-C stops the worker and the server.`);
    await worker.run();
  } finally {
    await connection.close();
    await server.stop();
  }
}
