// `tyk-upgrade start -f plan.yaml`: checks the plan against the engine (as `plan` does), then starts the
// workflow and prints its id and Web UI link; with --watch (or --auto-approve) it follows it to the end.
import { WorkflowNotFoundError } from '@temporalio/common';
import { findUpgrade, signStart, startUpgrade, UpgradeAlreadyRunning } from '../../client-lib/upgrades';
import { TASK_QUEUE, workflowIdFor } from '../../shared/names';
import { CliError, Exit } from '../exit-codes';
import { defaultActor, note, print } from '../output';
import { dateTime } from '../table';
import { explainTemporalError, withTemporal, workerPolling, type TemporalOptions } from '../temporal';
import { watchToEnd } from '../watch';
import { mergeReports } from '../render';
import { fleetDryRun } from '../workers';
import { approverSigner, needKey, type SigningFlags } from '../signing';
import { loadPlanWithFlags, type PlanFlags } from './plan';

export interface StartFlags extends PlanFlags, SigningFlags {
  watch?: boolean;
  autoApprove?: boolean;
  skipChecks?: boolean;
  /** `--at`: Temporal's start delay until then. */
  at?: Date;
}

/** Resolves with the started workflow's id and run id once it is started (or, with --watch, has succeeded). */
export async function startCommand(f: StartFlags, g: TemporalOptions): Promise<{ workflowId: string; runId: string }> {
  const { input, file } = await loadPlanWithFlags(f);
  const taskQueue = f.taskQueue ?? TASK_QUEUE;
  // The key is checked before Temporal is asked anything: a wrong key is a mistake on this command line.
  const signer = await approverSigner(input, f);
  if (!signer && input.requireSignatures) throw needKey(input, 'start the upgrade');
  return withTemporal(g, async (session) => {
    const id = workflowIdFor(input.stack);
    // Checked before the containers: mid-upgrade they carry temporary names that would only confuse.
    const current = await findUpgrade(session.client, id).catch((err) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw explainTemporalError(err, `cannot look up ${id}`);
    });
    if (current?.temporalStatus === 'RUNNING') {
      throw new CliError(
        `an upgrade of stack "${input.stack}" is already running (workflow ${id}, started ${dateTime(current.startTime)}); ` +
          `follow it with \`tyk-upgrade watch ${id}\` or stop it with \`tyk-upgrade cancel ${id}\``,
        Exit.WorkflowState,
      );
    }
    if (!f.skipChecks) {
      const { reports, dockerDown } = await fleetDryRun(session, input, taskQueue);
      const report = mergeReports(reports);
      if (report.problems.length) {
        throw new CliError(
          [
            `the stack is not ready for this plan; nothing was started:`,
            ...report.problems.map((p) => `  - ${p}`),
            `(full dry run: tyk-upgrade plan -f ${file})`,
          ].join('\n'),
          dockerDown ? Exit.DockerUnreachable : Exit.StackNotReady,
        );
      }
    }
    // Recorded at start, so four-eyes can refuse the starter's own approval: a claim (docs/cli.md), or signed.
    const toStart = signer ? await signStart(signer, input) : { ...input, startedBy: f.by ?? defaultActor() };
    const handle = await startUpgrade(session.client, toStart, { taskQueue, ...(f.at ? { startAt: f.at } : {}) }).catch((err) => {
      if (err instanceof UpgradeAlreadyRunning) throw new CliError(err.message, Exit.WorkflowState);
      throw explainTemporalError(err, `cannot start ${id}`);
    });
    const started = { workflowId: handle.workflowId, runId: handle.firstExecutionRunId };
    print(`Started upgrade ${handle.workflowId} (run ${handle.firstExecutionRunId}) on task queue ${taskQueue}`);
    print(`Web UI: ${session.link(handle.workflowId, handle.firstExecutionRunId)} (every upgrade: ${session.upgradesLink})`);
    if (f.at)
      print(
        `Scheduled: it starts at ${dateTime(f.at)} (Temporal start delay); until then nothing runs, and \`tyk-upgrade cancel ${handle.workflowId}\` withdraws it.`,
      );
    if (!(await workerPolling(session, taskQueue).catch(() => true))) {
      note(`note: no worker polls task queue "${taskQueue}" yet; the upgrade waits until one does: tyk-upgrade worker --task-queue ${taskQueue}`);
    }
    if (!f.watch && !f.autoApprove) {
      print(`Follow it: tyk-upgrade watch ${handle.workflowId}`);
      return started;
    }
    await watchToEnd(session, handle.workflowId, { ...f, signer });
    return started;
  });
}
