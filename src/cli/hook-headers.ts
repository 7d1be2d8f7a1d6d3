// The worker's load-balancer hook headers (TYK_UPGRADE_HOOK_HEADERS or …_FILE), read once at start: a worker whose
// configuration is wrong refuses to start rather than failing its first hook call in the middle of an upgrade.
import { readHookHeaders } from '../activities/load-balancer';
import { CliError, Exit } from './exit-codes';

export function workerHookHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  try {
    return readHookHeaders(env);
  } catch (err) {
    // readHookHeaders names the variable and the problem, never the values.
    throw new CliError(`cannot start the worker: ${(err as Error).message} (docs/load-balancers.md, "Hook credentials live on the worker")`, Exit.Usage);
  }
}
