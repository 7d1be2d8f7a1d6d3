// Client-side operations on upgrades, shared by the CLI and the tests.
import { WorkflowExecutionAlreadyStartedError, type Client, type WorkflowHandle } from '@temporalio/client';
import { SA_STACK, SA_STAGE, SA_TARGET_VERSION, TASK_QUEUE, WORKFLOW_TYPE, workflowIdFor } from '../shared/names';
import type { Decision, GateName, GateStatus, UpgradeInput, UpgradeStatus } from '../shared/types';
import { normaliseVersion } from '../shared/version';
import { approveUpdate, decisionUpdateId, rejectUpdate, statusQuery } from '../workflows/messages';
import type { upgradeStack } from '../workflows';

/** How long a client call may wait for a worker before it gives up with a clear message. */
export const CALL_DEADLINE_MS = 15_000;

export class UpgradeAlreadyRunning extends Error {}

export async function startUpgrade(
  client: Client,
  input: UpgradeInput,
  opts: { taskQueue?: string } = {},
): Promise<WorkflowHandle<typeof upgradeStack>> {
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
      `Batch size ${input.batchSize}, drain ${input.drainTimeoutSec} s, health timeout ${input.healthTimeoutMs / 1000} s.`,
  ].join('\n');
}

export async function getStatus(client: Client, workflowId: string): Promise<UpgradeStatus> {
  const handle = client.workflow.getHandle(workflowId);
  return client.withDeadline(Date.now() + CALL_DEADLINE_MS, () => handle.query(statusQuery));
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
    if (!gate) throw new Error(`no gate of ${workflowId} is waiting for a decision (stage: ${status.stage}, outcome: ${status.outcome})`);
  }
  const update = decision === 'approve' ? approveUpdate : rejectUpdate;
  return client.withDeadline(Date.now() + CALL_DEADLINE_MS, () =>
    handle.executeUpdate(update, { args: [{ ...d, gate }], updateId: decisionUpdateId(gate as string, decision) }),
  );
}
