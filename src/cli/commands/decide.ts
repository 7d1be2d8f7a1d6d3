// `tyk-upgrade approve|reject <id>`: decides the waiting gate (or the one named) through the workflow's Update,
// whose validator refuses a gate that is not waiting; the decision records who, when and why.
import { decide, findUpgrade, NoGateWaiting } from '../../client-lib/upgrades';
import type { GateName } from '../../shared/types';
import { CliError, Exit } from '../exit-codes';
import { defaultActor, print } from '../output';
import { clock } from '../table';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export interface DecideFlags {
  gate?: GateName;
  comment?: string;
  reason?: string;
  by?: string;
  rollback?: boolean;
}

export async function decideCommand(decision: 'approve' | 'reject', id: string, f: DecideFlags, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    let taskQueue: string | undefined;
    try {
      const exec = await findUpgrade(session.client, id);
      taskQueue = exec.taskQueue;
      if (exec.temporalStatus !== 'RUNNING') {
        throw new CliError(
          `cannot ${decision} ${exec.workflowId}: the upgrade has already finished (${exec.temporalStatus}); see \`tyk-upgrade status ${exec.workflowId}\``,
          Exit.WorkflowState,
        );
      }
      const gate = await decide(
        session.client,
        exec.workflowId,
        decision,
        {
          gate: f.gate,
          by: f.by ?? defaultActor(),
          comment: f.reason ?? f.comment,
          ...(f.rollback ? { rollback: true } : {}),
        },
        session.workerTimeoutMs,
      );
      print(
        `${decision === 'approve' ? 'Approved' : 'Rejected'} gate ${gate.gate} of ${exec.workflowId} (by ${gate.by} at ${clock(gate.at)}${gate.comment ? `: "${gate.comment}"` : ''})${f.rollback ? '; everything this run changed is being rolled back' : ''}`,
      );
    } catch (err) {
      if (err instanceof NoGateWaiting) throw new CliError(`cannot ${decision}: ${err.message}`, Exit.WorkflowState);
      throw explainTemporalError(err, `cannot ${decision} ${id}`, taskQueue);
    }
  });
}
