// Client-side operations on upgrades, shared by the CLI and the tests.
import { WorkflowExecutionAlreadyStartedError, WorkflowFailedError, type Client, type WorkflowHandleWithFirstExecutionRunId } from '@temporalio/client';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import { SA_STACK, SA_STAGE, SA_TARGET_VERSION, TASK_QUEUE, WORKFLOW_TYPE, workflowIdFor } from '../shared/names';
import type { Decision, GateName, GateStatus, UpgradeInput, UpgradeStatus } from '../shared/types';
import { normaliseVersion } from '../shared/version';
import { approveUpdate, decisionUpdateId, rejectUpdate, statusQuery } from '../workflows/messages';
import type { upgradeStack } from '../workflows';

/** How long a client call may wait for a worker before it gives up with a clear message. */
export const CALL_DEADLINE_MS = 15_000;

export class UpgradeAlreadyRunning extends Error {}
/** An approve or reject named no gate, and none is waiting. */
export class NoGateWaiting extends Error {}

export async function startUpgrade(
  client: Client,
  input: UpgradeInput,
  opts: { taskQueue?: string } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof upgradeStack>> {
  const target = `gateway ${normaliseVersion(input.gatewayVersion)}${input.pump && input.pumpVersion ? `, pump ${normaliseVersion(input.pumpVersion)}` : ''}`;
  try {
    return await client.workflow.start<typeof upgradeStack>(WORKFLOW_TYPE, {
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId: workflowIdFor(input.stack),
      args: [input],
      // Never two upgrades of one stack at once; a finished one may be followed by a new one.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: SA_STACK, value: input.stack },
        { key: SA_TARGET_VERSION, value: normaliseVersion(input.gatewayVersion) },
        { key: SA_STAGE, value: 'preflight' },
      ],
      staticSummary: `Upgrade Tyk stack ${input.stack} to ${target}`,
      staticDetails: planDetails(input),
    });
  } catch (err) {
    if (err instanceof WorkflowExecutionAlreadyStartedError) {
      throw new UpgradeAlreadyRunning(
        `an upgrade of stack "${input.stack}" is already running (workflow ${workflowIdFor(input.stack)}); watch it with \`tyk-upgrade watch ${workflowIdFor(input.stack)}\` or cancel it first`,
      );
    }
    throw err;
  }
}

function planDetails(input: UpgradeInput): string {
  const rows = input.gateways.map((g) => `| ${g.container} | gateway | ${g.url}/${g.helloPath} | ${normaliseVersion(input.gatewayVersion)} |`);
  if (input.pump) rows.push(`| ${input.pump.container} | pump | ${input.pump.healthUrl} | ${normaliseVersion(input.pumpVersion ?? '')} |`);
  return [
    `**Tyk upgrade plan for \`${input.stack}\`**`,
    '',
    '| container | role | health | target |',
    '|---|---|---|---|',
    ...rows,
    '',
    `Gates: ${input.gates.length ? input.gates.join(', ') : 'none'}${input.approvalTimeoutMs ? ` (abort after ${input.approvalTimeoutMs / 1000} s)` : ''}. ` +
      `Batch size ${input.batchSize}, drain ${input.drainTimeoutSec} s, health timeout ${input.healthTimeoutMs / 1000} s, soak ${(input.soakMs ?? 0) / 1000} s.`,
  ].join('\n');
}

/** The live status; a query, so a worker must answer it within the deadline. */
export async function getStatus(client: Client, workflowId: string, deadlineMs = CALL_DEADLINE_MS): Promise<UpgradeStatus> {
  const handle = client.workflow.getHandle(workflowId);
  return client.withDeadline(Date.now() + deadlineMs, () => handle.query(statusQuery));
}

/** Approve or reject a gate; with no gate named, the one that waits. A retry with the same gate is deduplicated. */
export async function decide(
  client: Client,
  workflowId: string,
  decision: 'approve' | 'reject',
  d: Decision,
): Promise<GateStatus> {
  const handle = client.workflow.getHandle(workflowId);
  let gate: GateName | undefined = d.gate;
  if (!gate) {
    const status = await getStatus(client, workflowId);
    gate = status.gates.find((g) => g.state === 'waiting')?.gate;
    if (!gate) throw new NoGateWaiting(`no gate of ${workflowId} is waiting for a decision (stage: ${status.stage}, outcome: ${status.outcome})`);
  }
  const update = decision === 'approve' ? approveUpdate : rejectUpdate;
  return client.withDeadline(Date.now() + CALL_DEADLINE_MS, () =>
    handle.executeUpdate(update, { args: [{ ...d, gate }], updateId: decisionUpdateId(gate as string, decision) }),
  );
}

/** What Temporal knows about an upgrade without asking a worker. */
export interface UpgradeExecution {
  workflowId: string;
  runId: string;
  /** Temporal's status: RUNNING, COMPLETED, FAILED, CANCELLED, TERMINATED, TIMED_OUT, ... */
  temporalStatus: string;
  taskQueue: string;
  startTime: Date;
  closeTime?: Date;
  historyLength: number;
}

/** The upgrade with this workflow id, or, when there is none, the one of the stack with that name. */
export async function findUpgrade(client: Client, idOrStack: string): Promise<UpgradeExecution> {
  try {
    return await describeUpgrade(client, idOrStack);
  } catch (err) {
    if (err instanceof WorkflowNotFoundError && !idOrStack.startsWith('tyk-upgrade-')) return describeUpgrade(client, workflowIdFor(idOrStack));
    throw err;
  }
}

async function describeUpgrade(client: Client, workflowId: string): Promise<UpgradeExecution> {
  const d = await client.workflow.getHandle(workflowId).describe();
  return {
    workflowId: d.workflowId,
    runId: d.runId,
    temporalStatus: d.status.name,
    taskQueue: d.taskQueue,
    startTime: d.startTime,
    closeTime: d.closeTime,
    historyLength: d.historyLength,
  };
}

/**
 * The status of a finished upgrade, read from its history (no worker needed): the result on success, the
 * status the workflow attached to its failure otherwise. Undefined for a cancelled or terminated run.
 */
export async function finalStatus(client: Client, workflowId: string, runId: string): Promise<UpgradeStatus | undefined> {
  try {
    return (await client.workflow.getHandle(workflowId, runId, { followRuns: false }).result()) as UpgradeStatus;
  } catch (err) {
    const cause = err instanceof WorkflowFailedError ? err.cause : undefined;
    if (cause instanceof ApplicationFailure && cause.details?.[0]) return cause.details[0] as UpgradeStatus;
    return undefined;
  }
}

export interface UpgradeSummary {
  workflowId: string;
  runId: string;
  temporalStatus: string;
  stack?: string;
  targetVersion?: string;
  /** The stage while running; the outcome once finished. */
  stage?: string;
  startTime: Date;
  closeTime?: Date;
}

/** The newest upgrades first, from Temporal's visibility store (search attributes; no worker needed). */
export async function listUpgrades(client: Client, limit: number): Promise<UpgradeSummary[]> {
  const out: UpgradeSummary[] = [];
  for await (const wf of client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}'`, pageSize: Math.min(limit, 100) })) {
    out.push({
      workflowId: wf.workflowId,
      runId: wf.runId,
      temporalStatus: wf.status.name,
      stack: wf.typedSearchAttributes.get(SA_STACK),
      targetVersion: wf.typedSearchAttributes.get(SA_TARGET_VERSION),
      stage: wf.typedSearchAttributes.get(SA_STAGE),
      startTime: wf.startTime,
      closeTime: wf.closeTime,
    });
    if (out.length >= limit) break;
  }
  return out;
}

/** Ask the workflow to stop; it finishes the container it is replacing (healthy or rolled back) first. */
export async function cancelUpgrade(client: Client, workflowId: string, runId: string): Promise<void> {
  await client.workflow.getHandle(workflowId, runId).cancel();
}
