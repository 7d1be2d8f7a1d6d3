// The Temporal worker runtime's own log lines. Its INFO lines (every poll and task) drown the CLI's output, and
// an upgrade that ends rejected, timed out, cancelled or rolled back is an outcome the CLI reports, not a crash:
// the SDK's "Workflow failed" warning with a stack trace for it would read like one.
// - `tyk-upgrade worker` logs to stderr, an expected failure in one line.
// - `dev` and `demo` (a worker inside a conversation) log to a file; only ERROR lines reach the terminal, in one line.
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DefaultLogger, makeTelemetryFilterString, Runtime, type LogEntry, type LogLevel } from '@temporalio/worker';
import { isOurFailureType } from '../shared/errors';
import { hostOfTaskQueue } from '../shared/names';
import { CliError, Exit } from './exit-codes';

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

interface FailureLike {
  name?: string;
  type?: string | null;
  message?: string;
  stack?: string;
  cause?: unknown;
}

/** The failure's own type when it is one we threw on purpose (an activity's arrives wrapped in its cause). */
function expectedType(err: unknown): string | undefined {
  for (let e = err as FailureLike | undefined, depth = 0; e && typeof e === 'object' && depth < 5; e = e.cause as FailureLike, depth++) {
    if (isOurFailureType(e.type)) return e.type;
  }
  return undefined;
}

/** One line: time, level, message, the ids that say which workflow or activity, and the error (stack only when unexpected). */
export function formatEntry(entry: LogEntry, withStack: boolean): string {
  const time = new Date(Number(entry.timestampNanos / 1_000_000n)).toISOString();
  const { error, ...meta } = (entry.meta ?? {}) as Record<string, unknown> & { error?: FailureLike };
  const ids = ['workflowId', 'activityType', 'taskQueue'].filter((k) => meta[k] !== undefined).map((k) => `${k}=${String(meta[k])}`);
  let line = `${time} [${entry.level}] ${entry.message}${ids.length ? ` ${ids.join(' ')}` : ''}`;
  if (error) {
    const msg = (error.message ?? String(error)).split('\n')[0];
    // A workflow's error reaches the logger through a worker thread (structured clone): its type is lost, its
    // name may be too; the stack's first line still says what it was.
    // The upgrade workflow throws ApplicationFailure only to end with an outcome; a bug throws something else.
    const outcome = entry.message === 'Workflow failed' && (error.name === 'ApplicationFailure' || /^ApplicationFailure: /.test(error.stack ?? ''));
    const type = expectedType(error);
    line += outcome ? `: ${msg}` : type ? `: ${type}: ${msg}` : `: ${withStack && error.stack ? error.stack : msg}`;
  }
  return line;
}

/**
 * The SDK warns when a worker has no workflows. A host's own queue has none by design (the workflows run on the
 * main queue, which the same process serves): say what it serves instead of a line that reads like a mistake.
 */
const NO_WORKFLOWS = 'No workflows registered, not polling for workflow tasks';
export function reword(entry: LogEntry): LogEntry {
  if (entry.message !== NO_WORKFLOWS) return entry;
  const { taskQueue, ...meta } = (entry.meta ?? {}) as Record<string, unknown>;
  const queue = String(taskQueue ?? '');
  const host = hostOfTaskQueue(queue);
  return { ...entry, level: 'INFO', meta, message: `${host ? `host ${host}: ` : ''}activities only on ${queue}` };
}

export function quietRuntime(level = 'WARN', opts: { logFile?: string } = {}): void {
  const upper = level.toUpperCase();
  if (!LEVELS.includes(upper)) throw new CliError(`--log-level: "${level}" must be one of ${LEVELS.join(', ')}`, Exit.Usage);
  const { logFile } = opts;
  if (logFile) mkdirSync(dirname(logFile), { recursive: true });
  const write = logFile
    ? (entry: LogEntry) => {
        appendFileSync(logFile, `${formatEntry(reword(entry), true)}\n`);
        if (entry.level === 'ERROR') process.stderr.write(`worker: ${formatEntry(entry, false)} (more in ${logFile})\n`);
      }
    : (entry: LogEntry) => process.stderr.write(`${formatEntry(reword(entry), true)}\n`);
  // Core's own lines (gRPC retries while the server is away) go through the same logger instead of straight to
  // the console, so in dev and demo they land in the file too.
  Runtime.install({
    logger: new DefaultLogger(upper as LogLevel, write),
    telemetryOptions: { logging: { filter: makeTelemetryFilterString({ core: upper as LogLevel }), forward: {} } },
  });
}
