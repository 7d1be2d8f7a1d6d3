// The embedded Temporal dev server (`temporal server start-dev`) with the Web UI, a persisted SQLite file and
// our search attributes registered. Used by `tyk-upgrade dev`, the demo and the test run.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Connection } from '@temporalio/client';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { SEARCH_ATTRIBUTES } from '../shared/names';
import { findTemporalCli } from './temporal-cli';

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
  stop(): Promise<void>;
}

const CLI_TYPE: Record<string, string> = { KEYWORD: 'Keyword', TEXT: 'Text', INT: 'Int', FLOAT: 'Double', BOOL: 'Bool', DATETIME: 'Datetime', KEYWORD_LIST: 'KeywordList' };

export async function startDevServer(opts: DevServerOptions = {}): Promise<DevServer> {
  const ip = opts.ip ?? '127.0.0.1';
  const port = opts.port ?? 7233;
  const uiPort = opts.uiPort ?? 8233;
  const namespace = opts.namespace ?? 'default';
  const address = `${ip}:${port}`;
  const uiUrl = `http://${ip}:${uiPort}`;
  if (await answers(address, 1000)) {
    throw new Error(`something already listens on ${address} (another Temporal server?); stop it or choose another port`);
  }
  const cli = await findTemporalCli({ log: opts.log });
  if (!cli) {
    // No CLI and no Go: the SDK downloads the dev server (needs internet).
    opts.log?.('no temporal CLI and no Go found; letting the Temporal SDK download the dev server');
    const env = await TestWorkflowEnvironment.createLocal({
      server: { ip, port, ui: true, uiPort, namespace, dbFilename: opts.dbFile, searchAttributes: SEARCH_ATTRIBUTES },
    });
    return { address, uiUrl, namespace, stop: () => env.teardown() };
  }
  if (opts.dbFile) await mkdir(dirname(opts.dbFile), { recursive: true });
  const args = ['server', 'start-dev', '--ip', ip, '--port', String(port), '--ui-port', String(uiPort), '--namespace', namespace, '--log-level', 'warn'];
  if (opts.dbFile) args.push('--db-filename', opts.dbFile);
  for (const key of SEARCH_ATTRIBUTES) args.push('--search-attribute', `${key.name}=${CLI_TYPE[key.type]}`);
  const child = spawn(cli, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  if (opts.logFile) {
    await mkdir(dirname(opts.logFile), { recursive: true });
    const out = createWriteStream(opts.logFile, { flags: 'a' });
    child.stdout?.pipe(out);
    child.stderr?.pipe(out);
  } else {
    child.stdout?.resume();
    child.stderr?.resume();
  }
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  const deadline = Date.now() + (opts.startTimeoutMs ?? 60_000);
  while (!(await answers(address, 1000))) {
    if (exited) throw new Error(`temporal dev server ${exited}${opts.logFile ? `; see ${opts.logFile}` : ''}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`temporal dev server did not answer on ${address} within ${(opts.startTimeoutMs ?? 60_000) / 1000} s`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return { address, uiUrl, namespace, stop: () => stopChild(child) };
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
    connection = await Connection.connect({ address, connectTimeout: timeoutMs });
    await connection.withDeadline(Date.now() + timeoutMs, () => connection!.workflowService.getSystemInfo({}));
    return true;
  } catch {
    return false;
  } finally {
    await connection?.close().catch(() => undefined);
  }
}
