// `tyk-upgrade cancel <id>`: asks the upgrade to stop. A container being replaced is finished first (healthy or
// rolled back); what was upgraded stays and the old containers are kept.
import { cancelUpgrade, findUpgrade } from '../../client-lib/upgrades';
import { CliError, Exit } from '../exit-codes';
import { print } from '../output';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export async function cancelCommand(id: string, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    try {
      const exec = await findUpgrade(session.client, id);
      if (exec.temporalStatus !== 'RUNNING') {
        throw new CliError(`cannot cancel ${exec.workflowId}: it has already finished (${exec.temporalStatus})`, Exit.WorkflowState);
      }
      await cancelUpgrade(session.client, exec.workflowId, exec.runId);
      print(`Cancellation of ${exec.workflowId} requested; follow it with \`tyk-upgrade watch ${exec.workflowId}\``);
    } catch (err) {
      throw explainTemporalError(err, `cannot cancel ${id}`);
    }
  });
}
