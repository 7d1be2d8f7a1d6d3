// Helpers for driving an upgrade workflow in tests.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodePendingActivityState, WorkflowFailedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { historyToJSON } from '@temporalio/common/lib/proto-utils';
import { ApplicationFailure } from '@temporalio/common';
import { getStatus } from '../../src/client-lib/upgrades';
import type { GateName, UpgradeStatus } from '../../src/shared/types';
import { type History, upgradeHistories } from './history';
import { waitFor } from './services';

export function waitForGate(client: Client, workflowId: string, gate: GateName): Promise<UpgradeStatus> {
  return waitUntil(client, workflowId, `gate ${gate} waiting`, (s) => s.gates.find((g) => g.gate === gate)?.state === 'waiting');
}

export function waitUntil(client: Client, workflowId: string, what: string, pred: (s: UpgradeStatus) => boolean): Promise<UpgradeStatus> {
  return waitFor(
    what,
    async () => {
      const s = await getStatus(client, workflowId);
      if (pred(s)) return s;
      if (s.outcome !== 'running') throw new Error(`workflow ended ${s.outcome} before ${what}: ${s.reason}`);
      return undefined;
    },
    90_000,
    50,
  );
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

/** Where recorded histories live in the source tree; replay.test replays every one of them. */
export const HISTORY_DIR = join(__dirname, '..', '..', '..', 'test', 'fixtures', 'histories');

/** With RECORD_HISTORIES=1, keep this run's history, and its batch children's, as replay fixtures (commit them). */
export async function keepHistory(handle: WorkflowHandle, name: string, client?: Client): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  mkdirSync(HISTORY_DIR, { recursive: true });
  const history = await handle.fetchHistory();
  writeFileSync(join(HISTORY_DIR, `${name}.json`), historyToJSON(history));
  if (!client) return;
  const prefix = `${handle.workflowId}/`;
  for (const e of history.events ?? []) {
    const child = e.childWorkflowExecutionStartedEventAttributes?.workflowExecution;
    if (!child?.workflowId?.startsWith(prefix)) continue;
    const childHistory = await client.workflow.getHandle(child.workflowId, child.runId ?? undefined).fetchHistory();
    writeFileSync(join(HISTORY_DIR, `${name}.${child.workflowId.slice(prefix.length)}.json`), historyToJSON(childHistory));
  }
}

/**
 * The runs of a workflow id, oldest first, each with how it closed and its history: read from the histories
 * themselves (each run names the one it continued), not from the visibility list, which trails a busy server.
 */
export async function runsOf(client: Client, workflowId: string): Promise<{ runId: string; status: string; history: History }[]> {
  const runs = (await upgradeHistories(client, workflowId)).filter((r) => !r.parent);
  return runs.map((r) => {
    const last = r.history.events?.at(-1);
    const status = last?.workflowExecutionContinuedAsNewEventAttributes
      ? 'CONTINUED_AS_NEW'
      : last?.workflowExecutionCompletedEventAttributes
        ? 'COMPLETED'
        : last?.workflowExecutionFailedEventAttributes
          ? 'FAILED'
          : 'OPEN';
    return { runId: r.runId, status, history: r.history };
  });
}

/** keepHistory for each run of a workflow that continued as new: `<name>.run-1.json`, … and every child. */
export async function keepRunHistories(client: Client, workflowId: string, name: string): Promise<void> {
  if (!process.env.RECORD_HISTORIES) return;
  const runs = await runsOf(client, workflowId);
  for (const [i, r] of runs.entries()) await keepHistory(client.workflow.getHandle(workflowId, r.runId), `${name}.run-${i + 1}`, client);
}

/**
 * Wait until the workflow has nothing in flight (no activity pending, the history length steady), so a check that
 * "the history did not change" measures what the test did, not a notification finishing meanwhile.
 */
export async function quiet(handle: WorkflowHandle): Promise<number> {
  let last = -1;
  return waitFor(
    'the workflow to be quiet',
    async () => {
      const d = await handle.describe();
      const pending = d.raw.pendingActivities?.length ?? 0;
      const steady = pending === 0 && d.historyLength === last;
      last = d.historyLength;
      return steady ? d.historyLength : undefined;
    },
    30_000,
    300,
  );
}

/** An activity caught while it runs: the workflow it belongs to (the upgrade or a batch child) and its attempt. */
export interface RunningActivity {
  workflowId: string;
  runId: string;
  attempt: number;
  /** The worker running it ("pid@host"). */
  identity: string;
}

/**
 * Wait until an activity of `type` has started and not finished, in the upgrade or in one of its pending children
 * (the batches), so a fault injected now lands inside it. Found through Temporal's own description of the runs
 * (pending children, pending activities), not through the product's status.
 */
export function waitForRunningActivity(client: Client, workflowId: string, type: string, timeoutMs = 120_000): Promise<RunningActivity> {
  return waitFor(
    `activity ${type} to run`,
    async () => {
      const parent = await client.workflow.getHandle(workflowId).describe();
      if (parent.status.name !== 'RUNNING') throw new Error(`the upgrade ended (${parent.status.name}) before ${type} was seen running`);
      const runs = [{ workflowId, runId: parent.runId, raw: parent.raw }];
      for (const c of parent.raw.pendingChildren ?? []) {
        if (c.workflowId && c.runId)
          runs.push({ workflowId: c.workflowId, runId: c.runId, raw: (await client.workflow.getHandle(c.workflowId, c.runId).describe()).raw });
      }
      for (const r of runs) {
        const a = r.raw.pendingActivities?.find((p) => p.activityType?.name === type && decodePendingActivityState(p.state) === 'STARTED');
        if (a) return { workflowId: r.workflowId, runId: r.runId, attempt: a.attempt ?? 1, identity: a.lastWorkerIdentity ?? '' };
      }
      return undefined;
    },
    timeoutMs,
    20,
  );
}
