// `tyk-upgrade cancel <id>`: asks the upgrade to stop. A container being replaced is finished first (healthy or
// rolled back); what was upgraded stays and the old containers are kept. With --rollback, every instance this
// run changed goes back to its old container and config (an Update, so who asked is recorded).
import { cancelUpgrade, cancelWithRollback, findUpgrade } from '../../client-lib/upgrades';
import { CliError, Exit } from '../exit-codes';
import { defaultActor, print } from '../output';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export async function cancelCommand(id: string, f: { rollback?: boolean; by?: string; reason?: string }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    try {
      const exec = await findUpgrade(session.client, id);
      if (exec.temporalStatus !== 'RUNNING') {
        throw new CliError(`cannot cancel ${exec.workflowId}: it has already finished (${exec.temporalStatus})`, Exit.WorkflowState);
      }
      if (f.rollback) {
        await cancelWithRollback(
          session.client,
          exec.workflowId,
          { by: f.by ?? defaultActor(), ...(f.reason ? { reason: f.reason } : {}) },
          session.workerTimeoutMs,
        );
        print(
          `Cancellation with rollback of ${exec.workflowId} requested: it stops at the next safe point and rolls back everything it changed; follow it with \`tyk-upgrade watch ${exec.workflowId}\``,
        );
        return;
      }
      await cancelUpgrade(session.client, exec.workflowId, exec.runId);
      print(`Cancellation of ${exec.workflowId} requested; follow it with \`tyk-upgrade watch ${exec.workflowId}\``);
    } catch (err) {
      throw explainTemporalError(err, `cannot cancel ${id}`, undefined);
    }
  });
}
