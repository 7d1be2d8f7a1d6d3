// `tyk-upgrade cancel <id>`: asks the upgrade to stop. A container being replaced is finished first (healthy or
// rolled back); what was upgraded stays and the old containers are kept. With --rollback, every instance this
// run changed goes back to its old container and config (an Update, so who asked is recorded, and signed with
// --sign-key when the plan requires signatures). A plain cancel is Temporal's own cancellation: never signed.
import { cancelUpgrade, cancelWithRollback, UnsignableUpgrade } from '../../client-lib/upgrades';
import { describeAbort } from '../decisions';
import { CliError, Exit } from '../exit-codes';
import { defaultActor, print } from '../output';
import { runningUpgrade, signerFor } from '../running-upgrade';
import type { SigningFlags } from '../signing';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export async function cancelCommand(id: string, f: SigningFlags & { rollback?: boolean; reason?: string }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    try {
      const exec = await runningUpgrade(session.client, id, 'cancel');
      if (f.rollback) {
        const signer = await signerFor(session.client, exec, f, 'cancel --rollback');
        const a = await cancelWithRollback(
          session.client,
          exec.workflowId,
          { by: f.by ?? defaultActor(), ...(f.reason ? { reason: f.reason } : {}) },
          signer,
          session.workerTimeoutMs,
        );
        print(describeAbort(exec.workflowId, a));
        return;
      }
      await cancelUpgrade(session.client, exec.workflowId, exec.runId);
      print(`Cancellation of ${exec.workflowId} requested; follow it with \`tyk-upgrade watch ${exec.workflowId}\``);
    } catch (err) {
      if (err instanceof UnsignableUpgrade) throw new CliError(`cannot cancel: ${err.message}`, Exit.WorkflowState);
      throw explainTemporalError(err, `cannot cancel ${id}`, undefined);
    }
  });
}
