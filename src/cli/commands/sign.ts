// `tyk-upgrade sign approve|reject|resume|cancel <id>`: signs the decision as `approve` etc. would, but sends
// nothing: it prints the Update's arguments as JSON, for a person to paste into the Temporal Web UI (More Actions →
// Send an Update). The statement is bound to the upgrade and the gate or pause waiting now, and expires.
import {
  findUpgrade,
  NoGateWaiting,
  prepareAbort,
  prepareDecision,
  preparePause,
  UnsignableUpgrade,
  upgradeInput,
  type PreparedUpdate,
} from '../../client-lib/upgrades';
import { DEFAULT_SIGNATURE_MAX_AGE_MS } from '../../shared/signed-decisions';
import type { GateName, PauseChoice } from '../../shared/types';
import { CliError, Exit } from '../exit-codes';
import { note, print } from '../output';
import { approverSigner, signKeyOf, type SigningFlags } from '../signing';
import { clock } from '../table';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export type SignWhat =
  | { decision: 'approve' | 'reject'; gate?: GateName; comment?: string; rollback?: boolean }
  | { decision: 'resume'; choice: PauseChoice; comment?: string }
  | { decision: 'cancel'; reason?: string };

export async function signCommand(id: string, what: SignWhat, f: SigningFlags, g: TemporalOptions): Promise<void> {
  if (!signKeyOf(f)) throw new CliError('sign needs the key to sign with: --sign-key KEY (or TYK_UPGRADE_SIGN_KEY)', Exit.Usage);
  await withTemporal(g, async (session) => {
    let taskQueue: string | undefined;
    try {
      const exec = await findUpgrade(session.client, id);
      taskQueue = exec.taskQueue;
      if (exec.temporalStatus !== 'RUNNING')
        throw new CliError(`cannot sign for ${exec.workflowId}: it has already finished (${exec.temporalStatus})`, Exit.WorkflowState);
      const input = await upgradeInput(session.client, exec.workflowId, exec.runId);
      const signer = await approverSigner(input, f);
      if (!signer) throw new CliError('no key to sign with', Exit.Usage);
      const { client } = session;
      const u: PreparedUpdate<unknown> =
        what.decision === 'resume'
          ? await preparePause(
              client,
              exec.workflowId,
              { choice: what.choice, ...(what.comment ? { comment: what.comment } : {}) },
              signer,
              session.workerTimeoutMs,
            )
          : what.decision === 'cancel'
            ? await prepareAbort(client, exec.workflowId, what.reason ? { reason: what.reason } : {}, signer, session.workerTimeoutMs)
            : await prepareDecision(
                client,
                exec.workflowId,
                what.decision,
                { ...(what.gate ? { gate: what.gate } : {}), ...(what.comment ? { comment: what.comment } : {}), ...(what.rollback ? { rollback: true } : {}) },
                signer,
                session.workerTimeoutMs,
              );
      const expires = new Date(Date.now() + (input.signatureMaxAgeMs ?? DEFAULT_SIGNATURE_MAX_AGE_MS));
      note(
        `Signed as ${signer.name} (${signer.fingerprint}). In the Web UI (${session.link(exec.workflowId, exec.runId)}): More Actions → Send an Update → ` +
          `name "${u.name}", paste the JSON below as its Data; accepted until ${clock(expires)} (${expires.toISOString()}). Or save it as payload.json and run: ` +
          `temporal workflow update execute --workflow-id ${exec.workflowId} --name ${u.name} --update-id ${u.updateId} --input-file payload.json`,
      );
      print(JSON.stringify(u.args, null, 2));
    } catch (err) {
      if (err instanceof NoGateWaiting || err instanceof UnsignableUpgrade) throw new CliError(`cannot sign: ${err.message}`, Exit.WorkflowState);
      throw explainTemporalError(err, `cannot sign for ${id}`, taskQueue);
    }
  });
}
