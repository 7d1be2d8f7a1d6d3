// What approve, reject, resume and cancel --rollback need before they send anything: the running upgrade the id
// names, and the approver's signer when the plan takes signatures.
import type { Client } from '@temporalio/client';
import { findUpgrade, type StatementSigner, type UpgradeExecution, upgradeInput } from '../client-lib/upgrades';
import { CliError, Exit } from './exit-codes';
import { approverSigner, needKey, type SigningFlags } from './signing';

/** The upgrade `id` names (workflow id or stack), refused when it has finished: there is nothing left to decide. */
export async function runningUpgrade(client: Client, id: string, verb: string): Promise<UpgradeExecution> {
  const exec = await findUpgrade(client, id);
  if (exec.temporalStatus !== 'RUNNING') {
    throw new CliError(
      `cannot ${verb} ${exec.workflowId}: the upgrade has already finished (${exec.temporalStatus}); see \`tyk-upgrade status ${exec.workflowId}\``,
      Exit.WorkflowState,
    );
  }
  return exec;
}

/** The signer of `--sign-key` for this upgrade's plan; none given where the plan requires signatures is refused. */
export async function signerFor(client: Client, exec: UpgradeExecution, f: SigningFlags, what: string): Promise<StatementSigner | undefined> {
  const input = await upgradeInput(client, exec.workflowId, exec.runId);
  const signer = await approverSigner(input, f);
  if (!signer && input.requireSignatures) throw needKey(input, what);
  return signer;
}
