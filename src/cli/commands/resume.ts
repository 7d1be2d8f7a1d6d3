// `tyk-upgrade resume <id> retry|continue|rollback`: the decision a paused fleet waits for, through the
// workflow's Update (its validator refuses when nothing is paused); who, when and why are recorded, and signed
// with --sign-key (required when the plan requires signatures).
import { NoGateWaiting, resolvePause, UnsignableUpgrade } from '../../client-lib/upgrades';
import type { PauseChoice } from '../../shared/types';
import { describePauseDecision } from '../decisions';
import { CliError, Exit } from '../exit-codes';
import { defaultActor, print } from '../output';
import { runningUpgrade, signerFor } from '../running-upgrade';
import type { SigningFlags } from '../signing';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export async function resumeCommand(id: string, choice: PauseChoice, f: SigningFlags & { comment?: string }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    let taskQueue: string | undefined;
    try {
      const exec = await runningUpgrade(session.client, id, 'resume');
      taskQueue = exec.taskQueue;
      const signer = await signerFor(session.client, exec, f, 'resume');
      const p = await resolvePause(
        session.client,
        exec.workflowId,
        { choice, by: f.by ?? defaultActor(), comment: f.comment },
        signer,
        session.workerTimeoutMs,
      );
      print(describePauseDecision(exec.workflowId, p));
    } catch (err) {
      if (err instanceof NoGateWaiting || err instanceof UnsignableUpgrade) throw new CliError(`cannot resume: ${err.message}`, Exit.WorkflowState);
      throw explainTemporalError(err, `cannot resume ${id}`, taskQueue);
    }
  });
}
