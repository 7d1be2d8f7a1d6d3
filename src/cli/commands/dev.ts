// `tyk-upgrade dev`: the embedded default. A Temporal dev server (Web UI, data kept in a file) and a worker in
// one process; Ctrl-C stops both. Other terminals reach it at the default address, 127.0.0.1:7233.
// The server dies with this process (even on SIGKILL) and is started again when it dies alone; the worker's own
// log goes to a file next to the db file, so the terminal shows what a person needs, not the SDK's retries.
import { resolve } from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import { prepareBackupFolder } from '../../activities/backup-folder';
import { DevServerInUse } from '../../devserver/dev-server';
import { superviseDevServer } from '../../devserver/supervise';
import { createUpgradeWorker } from '../../worker';
import { connectDocker } from '../docker';
import { workerHookHeaders } from '../hook-headers';
import { announceNotify, workerNotifyConfig } from '../notify-config';
import { CliError, Exit } from '../exit-codes';
import { note, print } from '../output';
import { upgradesListUrl } from '../temporal';
import { quietRuntime } from '../worker-log';

export interface DevFlags {
  port: number;
  uiPort: number;
  dbFile: string;
  taskQueue: string;
  logLevel: string;
  notify?: string;
  /** The worker's backup folder (`--backup-dir`). */
  backupDir: string;
}

export async function devCommand(f: DevFlags): Promise<void> {
  const hookHeaders = workerHookHeaders();
  const notifyConfig = workerNotifyConfig(f.notify);
  const docker = await connectDocker();
  const dbFile = resolve(f.dbFile);
  const logFile = dbFile.replace(/(\.db)?$/, '.log');
  const workerLog = dbFile.replace(/(\.db)?$/, '-worker.log');
  quietRuntime(f.logLevel, { logFile: workerLog });
  const backupDir = resolve(f.backupDir);
  const backupProblem = await prepareBackupFolder(backupDir);
  const server = await superviseDevServer({ port: f.port, uiPort: f.uiPort, dbFile, logFile, log: (l) => note(`dev: ${l}`) }).catch((err: Error) => {
    const usage = err instanceof DevServerInUse || /already listens/.test(err.message);
    throw new CliError(`cannot start the Temporal dev server: ${err.message}`, usage ? Exit.Usage : Exit.Unexpected);
  });
  const connection = await NativeConnection.connect({ address: server.address });
  try {
    // Links in notifications point at this server's Web UI unless the config names another.
    const notify = notifyConfig && { ...notifyConfig, webUi: notifyConfig.webUi ?? server.uiUrl };
    const worker = await createUpgradeWorker({
      connection,
      namespace: server.namespace,
      taskQueue: f.taskQueue,
      docker,
      hookHeaders,
      notify,
      backupDir,
      log: (l) => note(`dev: ${l}`),
    });
    print(`Temporal dev server: ${server.address} (namespace ${server.namespace}); data in ${dbFile}, log in ${logFile}`);
    print(`Web UI: ${server.uiUrl}; the upgrades only: ${upgradesListUrl(server.uiUrl, server.namespace)}`);
    print(`Worker: polling task queue "${f.taskQueue}" (its log: ${workerLog}). Ctrl-C stops the worker and the server.`);
    if (backupProblem) note(`warning: ${backupProblem}; until then upgrades are refused at preflight`);
    else print(`Backups: ${backupDir}`);
    announceNotify(notify);
    const running = worker.run();
    const gone = await Promise.race([running.then(() => undefined), server.gaveUp]);
    if (gone) {
      // With no server the worker cannot finish its polls cleanly: give it a few seconds, then go.
      worker.shutdown();
      await Promise.race([running.catch(() => undefined), new Promise((r) => setTimeout(r, 5000))]);
      throw new CliError(`dev: ${gone.message}; see ${logFile}`, Exit.TemporalUnreachable);
    }
  } finally {
    await connection.close();
    await server.stop();
  }
}
