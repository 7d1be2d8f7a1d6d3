// `tyk-upgrade watch <id>`: live progress; exits 0 on success, non-zero on failure, rollback or a stop.
import { findUpgrade } from '../../client-lib/upgrades';
import { print } from '../output';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';
import { watchToEnd } from '../watch';

export async function watchCommand(id: string, f: { autoApprove?: boolean; by?: string }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    try {
      const exec = await findUpgrade(session.client, id);
      print(`Watching ${exec.workflowId} (Web UI: ${session.link(exec.workflowId, exec.runId)})`);
      await watchToEnd(session, exec.workflowId, f);
    } catch (err) {
      throw explainTemporalError(err, `cannot watch ${id}`);
    }
  });
}
