// The CLI reaches Docker only through the workers: before it asks them anything it makes sure each one it needs
// is polling, and says by name which host has none.
import type { DryRunReport } from '../activities/dry-run';
import { dryRunPlan, hostsWithoutWorker, workflowWorkerPolling } from '../client-lib/fleet';
import { hostsOf } from '../client-lib/upgrades';
import type { UpgradeInput } from '../shared/types';
import type { HostAnswer } from '../workflows/inspect';
import { CliError, Exit } from './exit-codes';
import { explainTemporalError, type TemporalSession } from './temporal';

const hostLabel = (h: string | undefined) => (h ? `host "${h}"` : 'the local worker');

/** A worker that has just started shows up as a poller within seconds: give it that long before refusing. */
const GRACE_MS = 10_000;

/** Workers for the workflows (main queue) and for every host of the plan, or a CLI error naming who is missing. */
export async function requireWorkers(session: TemporalSession, hosts: (string | undefined)[], taskQueue: string): Promise<void> {
  const deadline = Date.now() + Math.min(GRACE_MS, session.workerTimeoutMs);
  for (;;) {
    try {
      return await checkWorkers(session, hosts, taskQueue);
    } catch (err) {
      if (!(err instanceof CliError) || Date.now() >= deadline) throw err;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
}

async function checkWorkers(session: TemporalSession, hosts: (string | undefined)[], taskQueue: string): Promise<void> {
  try {
    if (!(await workflowWorkerPolling(session.client, taskQueue))) {
      throw new CliError(
        `no worker polls task queue "${taskQueue}" on ${session.address}; start \`tyk-upgrade dev\` (one machine) or \`tyk-upgrade worker --host NAME\` on each Docker host (at least one of them without --no-workflows)`,
        Exit.TemporalUnreachable,
      );
    }
    const missing = await hostsWithoutWorker(session.client, hosts, taskQueue);
    if (missing.length) {
      const fix = missing.map((h) => (h ? `tyk-upgrade worker --host ${h}` : `tyk-upgrade worker --task-queue ${taskQueue}`)).join('`, `');
      throw new CliError(
        `no worker polls ${missing.map(hostLabel).join(', ')}; nothing was changed. Start \`${fix}\` on ${missing.length === 1 ? 'that machine' : 'those machines'}`,
        Exit.TemporalUnreachable,
      );
    }
  } catch (err) {
    throw explainTemporalError(err, 'cannot look up the workers');
  }
}

/**
 * A host whose worker never took its part (the look-only workflow's own first-contact timeout) cannot be checked:
 * exit 6 naming it, as when the client's own deadline passes first (src/client-lib/look.ts).
 */
export function refuseSilentHosts(answers: HostAnswer<unknown>[]): void {
  const silent = answers.filter((a) => a.error && NO_WORKER.test(a.error));
  if (silent.length) {
    throw new CliError(`${silent.map((a) => (a.host ? `host ${a.host}: ` : '') + a.error).join('; ')}; nothing was changed`, Exit.TemporalUnreachable);
  }
}
/** How src/workflows/failures.ts (explainNoWorker) says that nobody took a host's work in time. */
const NO_WORKER = /^no worker (with Docker access )?polls /;

export function planHosts(input: UpgradeInput): (string | undefined)[] {
  const hosts = hostsOf(input);
  return hosts.length ? hosts : [undefined];
}

/** The dry run, each host's part done by its own worker; a host that cannot look is a problem of the report. */
export async function fleetDryRun(session: TemporalSession, input: UpgradeInput, taskQueue: string): Promise<{ reports: DryRunReport[]; dockerDown: boolean }> {
  await requireWorkers(session, planHosts(input), taskQueue);
  const answers = await dryRunPlan(session.client, input, taskQueue, session.workerTimeoutMs).catch((err) => {
    throw explainTemporalError(err, 'the dry run failed', taskQueue);
  });
  refuseSilentHosts(answers);
  let dockerDown = false;
  const reports = answers.map((a): DryRunReport => {
    if (a.result) return { ...a.result, ...(a.host ? { host: a.host } : {}) };
    if (/cannot reach its Docker engine/.test(a.error ?? '')) dockerDown = true;
    return { ...(a.host ? { host: a.host } : {}), instances: [], images: [], problems: [a.error ?? 'no answer'], warnings: [] };
  });
  return { reports, dockerDown };
}
