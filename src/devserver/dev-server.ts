// The embedded Temporal dev server (`temporal server start-dev`) with the Web UI, a persisted SQLite file and
// our search attributes registered. Used by `tyk-upgrade dev`, the demo and the test run.
// The server cannot outlive the process that starts it (`setpriv --pdeathsig`), and with a db file it keeps a pid
// file beside it, so a server left by a process that died anyway (no setpriv, an older version) is found and stopped.
import { spawn, type ChildProcess, type StdioOptions } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../shared/names';
import { alive, pidFileFor, removePidFile, serverState, stopProcess, writePidFile } from './pid-file';
import { findTemporalCli, onPath } from './temporal-cli';

export interface DevServerOptions {
  ip?: string;
  port?: number;
  uiPort?: number;
  namespace?: string;
  /** SQLite file that keeps workflows across restarts; in memory when absent. */
  dbFile?: string;
  /** Where the server's own log goes. */
  logFile?: string;
  log?: (line: string) => void;
  startTimeoutMs?: number;
}

export interface DevServer {
  address: string;
  uiUrl: string;
  namespace: string;
  /** The server's process id (undefined when the SDK started it). */
  pid?: number;
  /** Resolves with how the server ended ("exited with SIGKILL") when it exits, whoever stopped it. */
  exited: Promise<string>;
  stop(): Promise<void>;
}

/** Refused because another live process uses this db file's server; the message says which and what to do. */
export class DevServerInUse extends Error {}

const CLI_TYPE: Record<string, string> = {
  KEYWORD: 'Keyword',
  TEXT: 'Text',
  INT: 'Int',
  FLOAT: 'Double',
  BOOL: 'Bool',
  DATETIME: 'Datetime',
  KEYWORD_LIST: 'KeywordList',
};

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  const namespace = opts.namespace ?? 'default';
  const address = `${ip}:${port}`;
  const uiUrl = `http://${ip}:${uiPort}`;
  const dbFile = opts.dbFile && resolve(opts.dbFile);
  if (dbFile) await stopOrphan(dbFile, opts.log);
  if (await answers(address, 1000)) {
    throw new Error(`something already listens on ${address} (another Temporal server?); stop it or choose another port`);
  }
  const cli = await findTemporalCli({ log: opts.log });
  if (!cli) {
    // No CLI and no Go: the SDK downloads the dev server (needs internet).
    opts.log?.('no temporal CLI and no Go found; letting the Temporal SDK download the dev server');
    const env = await TestWorkflowEnvironment.createLocal({
      server: { ip, port, ui: true, uiPort, namespace, dbFilename: dbFile, searchAttributes: SEARCH_ATTRIBUTES },
    });
    return { address, uiUrl, namespace, exited: new Promise(() => undefined), stop: () => env.teardown() };
  }
  if (dbFile) await mkdir(dirname(dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--ui-port', String(uiPort), '--namespace', namespace, '--log-level', 'warn'];
  if (dbFile) args.push('--db-filename', dbFile);
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`);
  // The server writes its log straight to the file: no pipe through this process that could break (a Go program
  // dies of SIGPIPE writing to one) and nothing lost if this process goes first.
  let out: number | 'ignore' = 'ignore';
  if (opts.logFile) {
    await mkdir(dirname(opts.logFile), { recursive: true });
    out = openSync(opts.logFile, 'a');
  }
  const stdio: StdioOptions = ['ignore', out, out];
  // setpriv execs the server in place (same pid), which gets SIGTERM when this process dies, however it dies.
  const setpriv = onPath('setpriv');
  const child = setpriv ? spawn(setpriv, ['--pdeathsig', 'TERM', '--', cli, ...args], { stdio }) : spawn(cli, args, { stdio });
  if (typeof out === 'number') closeSync(out);
  if (!setpriv) opts.log?.('setpriv (util-linux) not found: the dev server may outlive this process if it is killed');
  const pid = child.pid as number;
  if (dbFile) writePidFile(dbFile, { pid, parentPid: process.pid, address, dbFile, startedAt: new Date().toISOString() });
  let exited: string | undefined;
  const exitedPromise = new Promise<string>((done) =>
    child.on('exit', (code, signal) => {
      exited = `exited with ${signal ?? code}`;
      if (dbFile) removePidFile(dbFile, pid);
      done(exited);
    }),
  );
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  while (!(await answers(address, 1000))) {
    if (exited) throw new Error(`temporal dev server ${exited}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not answer on ${address} within ${(opts.startTimeoutMs ?? 60_000) / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { address, uiUrl, namespace, pid, exited: exitedPromise, stop: () => stopChild(child) };
}

/**
 * A server for this db file whose starter is gone is ours to stop: it holds the db file and the port, and
 * nothing will ever stop it. One whose starter still runs belongs to that process: refuse, saying which.
 */
async function stopOrphan(dbFile: string, log?: (line: string) => void): Promise<void> {
  const state = serverState(dbFile);
  if (state.kind === 'owned') {
    const { pid, parentPid, address } = state.record;
    throw new DevServerInUse(
      `${dbFile} is served by the Temporal dev server pid ${pid} on ${address}, started by process ${parentPid}, which still runs; ` +
        `use that server, or stop process ${parentPid} first`,
    );
  }
  if (state.kind === 'orphan') {
    const { pid, address } = state.record;
    log?.(`stopping the Temporal dev server pid ${pid} on ${address} left by an earlier run for ${dbFile}`);
    await stopProcess(pid);
    if (alive(pid)) throw new Error(`the orphaned Temporal dev server pid ${pid} (${pidFileFor(dbFile)}) did not stop`);
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await gone;
  clearTimeout(timer);
}

/** Whether a Temporal frontend answers at the address (a real gRPC call, not only an open port). */
export async function answers(address: string, timeoutMs: number): Promise<boolean> {
  let connection: Connection | undefined;
  try {
    const c = await Connection.connect({ address, connectTimeout: timeoutMs });
    connection = c;
    await c.withDeadline(Date.now() + timeoutMs, () => c.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
