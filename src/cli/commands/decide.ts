// `tyk-upgrade approve|reject <id>`: decides the waiting gate (or the one named) through the workflow's Update,
// whose validator refuses a gate that is not waiting; the decision records who, when and why. With --sign-key
// (required when the plan requires signatures) the decision is a statement signed with the approver's SSH key.
import { decide, NoGateWaiting, UnsignableUpgrade } from '../../client-lib/upgrades';
import type { GateName } from '../../shared/types';
import { describeGateDecision } from '../decisions';
import { CliError, Exit } from '../exit-codes';
import { defaultActor, print } from '../output';
import { runningUpgrade, signerFor } from '../running-upgrade';
import type { SigningFlags } from '../signing';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export interface DecideFlags extends SigningFlags {
  gate?: GateName;
  comment?: string;
  reason?: string;
  rollback?: boolean;
}

export async function decideCommand(decision: 'approve' | 'reject', id: string, f: DecideFlags, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    let taskQueue: string | undefined;
    try {
      const exec = await runningUpgrade(session.client, id, decision);
      taskQueue = exec.taskQueue;
      const signer = await signerFor(session.client, exec, f, `${decision} the gate`);
      const gate = await decide(
        session.client,
        exec.workflowId,
        decision,
        { gate: f.gate, by: f.by ?? defaultActor(), comment: f.reason ?? f.comment, ...(f.rollback ? { rollback: true } : {}) },
        signer,
        session.workerTimeoutMs,
      );
      print(describeGateDecision(decision, exec.workflowId, gate, f.rollback));
    } catch (err) {
      if (err instanceof NoGateWaiting || err instanceof UnsignableUpgrade) throw new CliError(`cannot ${decision}: ${err.message}`, Exit.WorkflowState);
      throw explainTemporalError(err, `cannot ${decision} ${id}`, taskQueue);
    }
  });
}
