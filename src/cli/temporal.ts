// How the CLI reaches Temporal: Temporal's environment configuration (src/temporal-config.ts) plus --address /
// --namespace / --profile, a short connect timeout so an unreachable server fails in seconds, and the Web UI
// address for links to workflows.
import { Socket } from 'node:net';
import {
  Client,
  Connection,
  isGrpcCancelledError,
  isGrpcDeadlineError,
  isGrpcServiceError,
  ServiceError,
  WorkflowUpdateFailedError,
  WorkflowUpdateRPCTimeoutOrCancelledError,
} from '@temporalio/client';
import { ApplicationFailure, NamespaceNotFoundError, WorkflowNotFoundError } from '@temporalio/common';
import { NoWorkerAnswered } from '../client-lib/look';
import { exitCodeOf } from '../shared/errors';
import { hostOfTaskQueue, UPGRADES_QUERY, WORKER_DEADLINE_MS } from '../shared/names';
import { temporalTarget } from '../temporal-config';
import { CliError, Exit } from './exit-codes';

export const CONNECT_TIMEOUT_MS = 5000;

export interface TemporalOptions {
  address?: string;
  namespace?: string;
  profile?: string;
  uiUrl?: string;
  /** --worker-timeout: how long a call waits for a worker to take its work. */
  workerTimeoutMs?: number;
}

export interface TemporalSession {
  client: Client;
  address: string;
  namespace: string;
  /** --worker-timeout, or WORKER_DEADLINE_MS. */
  workerTimeoutMs: number;
  close(): Promise<void>;
  /** Link to a workflow in the Web UI. */
  link(workflowId: string, runId: string): string;
  /** The Web UI's list of upgrades only (no look-only runs, no batch children): docs/cli.md, "The Web UI". */
  upgradesLink: string;
}

/** The Web UI's workflow list filtered to upgrades (TykRun = "upgrade"). */
export function upgradesListUrl(ui: string, namespace: string): string {
  return `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows?query=${encodeURIComponent(UPGRADES_QUERY)}`;
}

export async function connectTemporal(o: TemporalOptions): Promise<TemporalSession> {
  let target: ReturnType<typeof temporalTarget>;
  try {
    target = temporalTarget(o);
  } catch (err) {
    throw new CliError(`cannot load the Temporal client configuration: ${(err as Error).message}`, Exit.Usage);
  }
  const { address, tls, apiKey, metadata } = target.connectionOptions;
  const namespace = target.namespace;
  // A refused or unresolvable address is known at once; the gRPC connect would wait for its whole timeout.
  const refused = await tcpProblem(address);
  if (refused) throw unreachable(address, namespace, refused);
  let connection: Connection;
  try {
    connection = await Connection.connect({ address, tls: tls ?? undefined, apiKey, metadata, connectTimeout: CONNECT_TIMEOUT_MS });
  } catch {
    throw unreachable(address, namespace, NO_FRONTEND);
  }
  try {
    await connection.withDeadline(Date.now() + CONNECT_TIMEOUT_MS, () => connection.workflowService.describeNamespace({ namespace }));
  } catch (err) {
    await connection.close();
    if (isGrpcServiceError(err) && err.code === 5) {
      throw new CliError(
        `namespace "${namespace}" does not exist on the Temporal server at ${address}; set TEMPORAL_NAMESPACE or --namespace`,
        Exit.TemporalUnreachable,
      );
    }
    throw unreachable(address, namespace, (err as Error).message);
  }
  const ui = uiBase(address, o.uiUrl);
  return {
    client: new Client({ connection, namespace }),
    address,
    namespace,
    workerTimeoutMs: o.workerTimeoutMs ?? WORKER_DEADLINE_MS,
    close: () => connection.close(),
    link: (workflowId, runId) => `${ui}/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(workflowId)}/${runId}/history`,
    upgradesLink: upgradesListUrl(ui, namespace),
  };
}

export function unreachable(address: string, namespace: string, why: string): CliError {
  return new CliError(
    `cannot reach Temporal at ${address} (namespace ${namespace}): ${why}. Start the embedded server with \`tyk-upgrade dev\`, ` +
      'or point TEMPORAL_ADDRESS or --address (and TEMPORAL_PROFILE for TLS or an API key) at your server',
    Exit.TemporalUnreachable,
  );
}

export const NO_FRONTEND = `the port is open but no Temporal frontend answered within ${CONNECT_TIMEOUT_MS / 1000} s (does it need TLS or an API key?)`;

/** Why a TCP connection to host:port fails (refused, unknown host, silence), or undefined when it opens. */
export async function tcpProblem(address: string): Promise<string | undefined> {
  const m = /^(.*):(\d+)$/.exec(address);
  if (!m) return undefined;
  const host = m[1].replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    const s = new Socket();
    s.setTimeout(CONNECT_TIMEOUT_MS, () => {
      s.destroy();
      resolve(`no answer within ${CONNECT_TIMEOUT_MS / 1000} s`);
    });
    s.once('error', (e: NodeJS.ErrnoException) =>
      resolve(e.code === 'ECONNREFUSED' ? 'connection refused' : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN' ? `host "${host}" not found` : e.message),
    );
    s.connect(Number(m[2]), host, () => {
      s.destroy();
      resolve(undefined);
    });
  });
}

/** TEMPORAL_UI_URL or --ui-url; Temporal Cloud's UI; else the dev server's convention (UI port = port + 1000). */
export function uiBase(address: string, override?: string): string {
  const explicit = override ?? process.env.TEMPORAL_UI_URL;
  if (explicit) return explicit.replace(/\/+$/, '');
  if (/\.tmprl\.cloud:\d+$/.test(address) || /\.api\.temporal\.io:\d+$/.test(address)) return 'https://cloud.temporal.io';
  const m = /^(.*):(\d+)$/.exec(address);
  return m ? `http://${m[1]}:${Number(m[2]) + 1000}` : `http://${address}`;
}

/**
 * A call made with a deadline got no answer in time: no worker took the query or update. grpc-js reports the
 * passed deadline as DEADLINE_EXCEEDED or, depending on timing, CANCELLED (the CLI never cancels calls itself).
 */
export function noAnswer(err: unknown): boolean {
  return isGrpcDeadlineError(err) || isGrpcCancelledError(err) || err instanceof WorkflowUpdateRPCTimeoutOrCancelledError;
}

/** gRPC codes of a server that cannot answer right now: DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED, ABORTED, INTERNAL, UNAVAILABLE. */
const SERVER_BUSY = new Set([4, 8, 10, 13, 14]);

/**
 * The Temporal server failing for a moment (restarted, failing over, its store overloaded), not a wrong request.
 * Only for calls about an upgrade already found: then a namespace said not to exist (seen from a dev server whose
 * SQLite store timed out) is the server's moment too.
 */
export function serverMoment(err: unknown): boolean {
  if (err instanceof NamespaceNotFoundError) return true;
  const grpc = err instanceof ServiceError ? err.cause : err;
  return isGrpcServiceError(grpc) && SERVER_BUSY.has(grpc.code);
}

/** Turns what Temporal says into a message and an exit code; anything else is passed on. */
export function explainTemporalError(err: unknown, what: string, taskQueue?: string): unknown {
  if (err instanceof CliError) return err;
  if (err instanceof WorkflowNotFoundError) {
    return new CliError(`${what}: there is no such upgrade workflow; list them with \`tyk-upgrade list\``, Exit.WorkflowState);
  }
  if (err instanceof WorkflowUpdateFailedError) {
    // The workflow's validator refused: its failure type says why, and so which exit code (src/shared/errors.ts).
    const type = err.cause instanceof ApplicationFailure ? err.cause.type : undefined;
    return new CliError(`${what}: ${err.cause?.message ?? err.message}`, exitCodeOf(type) ?? Exit.WorkflowState);
  }
  if (err instanceof NoWorkerAnswered) return new CliError(`${what}: ${noWorkerMessage(err)}`, Exit.TemporalUnreachable);
  if (noAnswer(err)) {
    return new CliError(
      `${what}: no worker answered in time; is \`tyk-upgrade worker${taskQueue ? ` --task-queue ${taskQueue}` : ''}\` running against this server?`,
      Exit.TemporalUnreachable,
    );
  }
  const missing = missingSearchAttribute(err);
  if (missing) {
    return new CliError(
      `${what}: the Temporal namespace has no search attribute ${missing}, which this version of tyk-upgrade sets on every run; ` +
        `register it once: \`temporal operator search-attribute create --name ${missing} --type Keyword\` (with --namespace), or \`sh temporal/setup.sh\` (docs/temporal-server.md)`,
      Exit.TemporalUnreachable,
    );
  }
  if (isGrpcServiceError(err) && err.code === 14) {
    return new CliError(`${what}: lost the connection to Temporal (${err.details})`, Exit.TemporalUnreachable);
  }
  return err;
}

/** A start refused because the namespace does not know one of our search attributes (a server set up for 0.3, say). */
function missingSearchAttribute(err: unknown): string | undefined {
  const cause = err instanceof ServiceError ? err.cause : err;
  if (!isGrpcServiceError(cause) || cause.code !== 3) return undefined;
  return /no mapping defined for search attribute (\w+)/.exec(cause.details)?.[1];
}

/** Who did not take a look-only run's work, and what to start where; the run is gone, nothing was changed. */
function noWorkerMessage(err: NoWorkerAnswered): string {
  const silent = err.taskQueues.map((q) => {
    const host = hostOfTaskQueue(q);
    return host
      ? { who: `host "${host}" (task queue ${q})`, fix: `\`tyk-upgrade worker --host ${host}\` on that machine` }
      : {
          who: `task queue "${q}"`,
          fix: `\`tyk-upgrade dev\` (one machine) or \`tyk-upgrade worker --task-queue ${q}\` (with --host NAME on each Docker host of a fleet)`,
        };
  });
  return (
    `no worker took the work of ${silent.map((s) => s.who).join(' and ')} within ${err.deadlineMs / 1000} s (--worker-timeout); ` +
    `a worker that was stopped or killed may still be listed as polling for a minute. Start ${silent.map((s) => s.fix).join('; and ')}. ` +
    `The look-only run ${err.workflowId} was terminated; nothing was changed.`
  );
}

/** Runs `fn` with a connected session and always closes it. */
export async function withTemporal<T>(o: TemporalOptions, fn: (s: TemporalSession) => Promise<T>): Promise<T> {
  const session = await connectTemporal(o);
  try {
    return await fn(session);
  } finally {
    await session.close();
  }
}

/** Whether any worker polled the task queue lately; a started upgrade waits for one. */
export async function workerPolling(s: TemporalSession, taskQueue: string): Promise<boolean> {
  const res = await s.client.workflowService.describeTaskQueue({
    namespace: s.namespace,
    taskQueue: { name: taskQueue },
    taskQueueType: 1, // TASK_QUEUE_TYPE_WORKFLOW
  });
  return (res.pollers ?? []).length > 0;
}
