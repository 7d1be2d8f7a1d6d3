// `tyk-upgrade resume <id> retry|continue|rollback`: the decision a paused fleet waits for, through the
// workflow's Update (its validator refuses when nothing is paused); who, when and why are recorded.
import { findUpgrade, NoGateWaiting, resolvePause } from '../../client-lib/upgrades';
import type { PauseChoice } from '../../shared/types';
import { CliError, Exit } from '../exit-codes';
import { defaultActor, print } from '../output';
import { clock } from '../table';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export async function resumeCommand(id: string, choice: PauseChoice, f: { comment?: string; by?: string }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    let taskQueue: string | undefined;
    try {
      const exec = await findUpgrade(session.client, id);
      taskQueue = exec.taskQueue;
      if (exec.temporalStatus !== 'RUNNING') {
        throw new CliError(`cannot resume ${exec.workflowId}: the upgrade has already finished (${exec.temporalStatus})`, Exit.WorkflowState);
      }
      const p = await resolvePause(session.client, exec.workflowId, { choice, by: f.by ?? defaultActor(), comment: f.comment }, session.workerTimeoutMs);
      print(`Pause ${p.number} of ${exec.workflowId}: ${p.choice} (by ${p.by} at ${clock(p.at)}${p.comment ? `: "${p.comment}"` : ''})`);
    } catch (err) {
      if (err instanceof NoGateWaiting) throw new CliError(`cannot resume: ${err.message}`, Exit.WorkflowState);
      throw explainTemporalError(err, `cannot resume ${id}`, taskQueue);
    }
  });
}
