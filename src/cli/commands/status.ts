// `tyk-upgrade status <id>` and `tyk-upgrade list`. A finished upgrade's status comes from its history, so
// these work with no worker running; a running one is asked through the status query.
import { finalStatus, findUpgrade, getStatus, listUpgrades, type UpgradeExecution } from '../../client-lib/upgrades';
import type { UpgradeStatus } from '../../shared/types';
import { print } from '../output';
import { renderList, renderStatus } from '../render';
import { explainTemporalError, withTemporal, type TemporalOptions, type TemporalSession } from '../temporal';

export async function statusCommand(id: string, f: { json?: boolean }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    let taskQueue: string | undefined;
    try {
      const exec = await findUpgrade(session.client, id);
      taskQueue = exec.taskQueue;
      const status = await statusOf(session, exec);
      const link = session.link(exec.workflowId, exec.runId);
      print(f.json ? JSON.stringify({ ...exec, webUi: link, status: status ?? null }, null, 2) : renderStatus(exec, status, link));
    } catch (err) {
      throw explainTemporalError(err, `no status for ${id}`, taskQueue);
    }
  });
}

async function statusOf(s: TemporalSession, exec: UpgradeExecution): Promise<UpgradeStatus | undefined> {
  // Before its start delay has passed no workflow code has run: there is nothing to ask.
  if (exec.scheduledFor) return undefined;
  if (exec.temporalStatus === 'RUNNING') return getStatus(s.client, exec.workflowId);
  return finalStatus(s.client, exec.workflowId, exec.runId);
}

export async function listCommand(f: { limit: number; json?: boolean }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    const items = await listUpgrades(session.client, f.limit).catch((err) => {
      throw explainTemporalError(err, 'cannot list upgrades');
    });
    print(f.json ? JSON.stringify(items, null, 2) : renderList(items));
  });
}
