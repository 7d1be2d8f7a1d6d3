// Runs the command line and turns every outcome into one message and an exit code (docs/cli.md).
import { CommanderError } from 'commander';
import { PlanError } from '../plan/problems';
import { CliError, Exit, type ExitCode } from './exit-codes';
import { note } from './output';
import { buildProgram } from './program';
import { explainTemporalError } from './temporal';

export async function main(argv: string[]): Promise<ExitCode> {
  try {
    await buildProgram().parseAsync(argv);
    return Exit.Ok;
  } catch (err) {
    return report(err);
  }
}

function report(err: unknown): ExitCode {
  if (err instanceof CommanderError) {
    // Commander has printed its message already; help and version are not errors.
    return err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? Exit.Ok : Exit.Usage;
  }
  if (err instanceof PlanError) {
    note(`tyk-upgrade: error: ${err.message}`);
    return Exit.BadPlan;
  }
  const e = explainTemporalError(err, 'Temporal');
  if (e instanceof CliError) {
    note(`tyk-upgrade: error: ${e.message}`);
    return e.exitCode;
  }
  const error = e as Error;
  note(`tyk-upgrade: unexpected error: ${error?.message ?? String(e)}`);
  if (process.env.TYK_UPGRADE_DEBUG) note(error?.stack ?? '');
  else note('(set TYK_UPGRADE_DEBUG=1 for the stack trace)');
  return Exit.Unexpected;
}
