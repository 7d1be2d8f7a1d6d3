// The CLI's error with an exit code. The codes themselves live with the failure types (src/shared).
import type { ExitCode } from '../shared/exit-codes';

export { Exit, type ExitCode } from '../shared/exit-codes';

/** An error the CLI reports as one message (no stack trace) with a chosen exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
  }
}
