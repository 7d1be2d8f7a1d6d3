// `tyk-upgrade status <id>`. A finished upgrade's status comes from its history, so it works with no worker
// running; a running one is asked through the status query.
import { finalStatus, findUpgrade, getStatus, upgradeInput, type UpgradeExecution } from '../../client-lib/upgrades';
import type { UpgradeStatus } from '../../shared/types';
import { note, print } from '../output';
import { renderStatus } from '../render';
import { stagesWithDurations } from '../report';
import { explainTemporalError, withTemporal, type TemporalOptions, type TemporalSession } from '../temporal';

export async function statusCommand(id: string, f: { json?: boolean }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    let taskQueue: string | undefined;
    try {
      const exec = await findUpgrade(session.client, id);
      taskQueue = exec.taskQueue;
      const status = await statusOf(session, exec);
      const link = session.link(exec.workflowId, exec.runId);
      if (!f.json) return print(renderStatus(exec, status, link));
      // The full machine-readable record: the plan as the workflow got it, and each stage's duration.
      const input = await upgradeInput(session.client, exec.workflowId, exec.runId);
      const full = status ? { ...status, stages: stagesWithDurations(status.stages) } : null;
      print(JSON.stringify({ ...exec, webUi: link, input, status: full }, null, 2));
    } catch (err) {
      throw explainTemporalError(err, `no status for ${id}`, taskQueue);
    }
  });
}

/** Asked of the workflow while it runs (a worker must answer); read from its history once it has ended. */
export async function statusOf(s: TemporalSession, exec: UpgradeExecution): Promise<UpgradeStatus | undefined> {
  // Before its start delay has passed no workflow code has run: there is nothing to ask.
  if (exec.scheduledFor) return undefined;
  if (exec.temporalStatus === 'RUNNING') {
    return getStatus(s.client, exec.workflowId, s.workerTimeoutMs, (child) =>
      note(`note: batch ${child} did not answer within ${s.workerTimeoutMs / 1000} s; its instances show the upgrade's own view`),
    );
  }
  return finalStatus(s.client, exec.workflowId, exec.runId);
}
