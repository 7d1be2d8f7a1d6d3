// Helpers for driving an upgrade workflow in tests.
import { WorkflowFailedError, type Client } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { getStatus } from '../../src/client-lib/upgrades';
import type { GateName, UpgradeStatus } from '../../src/shared/types';
import { waitFor } from './services';

export function waitForGate(client: Client, workflowId: string, gate: GateName): Promise<UpgradeStatus> {
  return waitUntil(client, workflowId, `gate ${gate} waiting`, (s) => s.gates.find((g) => g.gate === gate)?.state === 'waiting');
}

export function waitUntil(client: Client, workflowId: string, what: string, pred: (s: UpgradeStatus) => boolean): Promise<UpgradeStatus> {
  return waitFor(what, async () => {
    const s = await getStatus(client, workflowId);
    if (pred(s)) return s;
    if (s.outcome !== 'running') throw new Error(`workflow ended ${s.outcome} before ${what}: ${s.reason}`);
    return undefined;
  }, 90_000, 50);
}

/** The failure a workflow ended with: its type, message and the final status it carried. */
export async function failureOf(result: Promise<unknown>): Promise<{ type?: string; message: string; status: UpgradeStatus }> {
  try {
    await result;
  } catch (err) {
    if (err instanceof WorkflowFailedError && err.cause instanceof ApplicationFailure) {
      return { type: err.cause.type ?? undefined, message: err.cause.message, status: err.cause.details?.[0] as UpgradeStatus };
    }
    throw err;
  }
  throw new Error('the workflow succeeded, a failure was expected');
}
