// `tyk-upgrade watch <id>`: live progress; exits 0 on success, non-zero on failure, rollback or a stop.
import { findUpgrade } from '../../client-lib/upgrades';
import { CliError, Exit } from '../exit-codes';
import { defaultActor, interactive, print } from '../output';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';
import { watchUpgrade } from '../watch';

export async function watchCommand(id: string, f: { autoApprove?: boolean; by?: string }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    try {
      const exec = await findUpgrade(session.client, id);
      print(`Watching ${exec.workflowId} (Web UI: ${session.link(exec.workflowId, exec.runId)})`);
      const result = await watchUpgrade({
        session,
        workflowId: exec.workflowId,
        autoApprove: !!f.autoApprove,
        ask: interactive(),
        by: f.by ?? defaultActor(),
        out: print,
      });
      if (result.exitCode !== Exit.Ok) {
        const what = result.status?.outcome ?? result.execution.temporalStatus.toLowerCase();
        throw new CliError(`upgrade ${what}${result.status?.reason ? `: ${result.status.reason}` : ''}`, result.exitCode);
      }
    } catch (err) {
      throw explainTemporalError(err, `cannot watch ${id}`);
    }
  });
}
