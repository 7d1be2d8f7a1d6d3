// The Temporal worker runtime's own log lines (INFO for every poll and task) drown the CLI's output.
import { DefaultLogger, Runtime, type LogLevel } from '@temporalio/worker';
import { CliError, Exit } from '../exit-codes';

const LEVELS = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];

export function quietRuntime(level = 'WARN'): void {
  const upper = level.toUpperCase();
  if (!LEVELS.includes(upper)) throw new CliError(`--log-level: "${level}" must be one of ${LEVELS.join(', ')}`, Exit.Usage);
  Runtime.install({ logger: new DefaultLogger(upper as LogLevel) });
}
