// `tyk-upgrade watch <id>`: live progress; exits 0 on success, non-zero on failure, rollback or a stop.
import { findUpgrade, upgradeInput } from '../../client-lib/upgrades';
import { print } from '../output';
import { approverSigner, needKey, type SigningFlags } from '../signing';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';
import { watchToEnd } from '../watch';

export async function watchCommand(id: string, f: SigningFlags & { autoApprove?: boolean }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    try {
      const exec = await findUpgrade(session.client, id);
      const input = await upgradeInput(session.client, exec.workflowId, exec.runId);
      const signer = await approverSigner(input, f);
      if (!signer && input.requireSignatures && f.autoApprove) throw needKey(input, 'approve automatically');
      print(`Watching ${exec.workflowId} (Web UI: ${session.link(exec.workflowId, exec.runId)})`);
      await watchToEnd(session, exec.workflowId, { ...f, signer });
    } catch (err) {
      throw explainTemporalError(err, `cannot watch ${id}`);
    }
  });
}
