// Client-side operations on upgrades, shared by the CLI and the tests.
import {
  isGrpcCancelledError,
  isGrpcDeadlineError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type Client,
  type WorkflowHandleWithFirstExecutionRunId,
} from '@temporalio/client';
import { ApplicationFailure, type UpdateDefinition, WorkflowNotFoundError } from '@temporalio/common';
import { decodeArrayFromPayloads } from '@temporalio/common/lib/internal-non-workflow';
import { instanceKey, SA_RUN, SA_STACK, SA_STAGE, SA_TARGET_VERSION, TASK_QUEUE, WORKER_DEADLINE_MS, WORKFLOW_TYPE, workflowIdFor } from '../shared/names';
import type { AbortRequest, AbortStatus, Decision, GateName, GateStatus, PauseDecision, PauseStatus, UpgradeInput, UpgradeStatus } from '../shared/types';
import { approverRows, signaturePolicy } from '../shared/signed-decisions';
import { contentHash, formatStatement, type Signed, type StatementDecision, type StatementSubject } from '../shared/statement';
import { normaliseVersion } from '../shared/version';
import {
  ABORT_UPDATE_ID,
  abortWithRollbackUpdate,
  approveUpdate,
  batchStatusQuery,
  decisionUpdateId,
  pauseUpdateId,
  rejectUpdate,
  resolvePauseUpdate,
  statusQuery,
} from '../workflows/messages';
import type { upgradeFleet } from '../workflows';

export class UpgradeAlreadyRunning extends Error {}
/** An approve or reject named no gate, and none is waiting. */
export class NoGateWaiting extends Error {}

export async function startUpgrade(
  client: Client,
  input: UpgradeInput,
  opts: { taskQueue?: string; startAt?: Date } = {},
): Promise<WorkflowHandleWithFirstExecutionRunId<typeof upgradeFleet>> {
  const target = `gateway ${normaliseVersion(input.gatewayVersion)}${input.pumps.length && input.pumpVersion ? `, pump ${normaliseVersion(input.pumpVersion)}` : ''}`;
  const hosts = hostsOf(input);
  try {
    return await client.workflow.start<typeof upgradeFleet>(WORKFLOW_TYPE, {
      taskQueue: opts.taskQueue ?? TASK_QUEUE,
      workflowId: workflowIdFor(input.stack),
      args: [input],
      // Never two upgrades of one stack at once; a finished one may be followed by a new one.
      workflowIdConflictPolicy: 'FAIL',
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
      typedSearchAttributes: [
        { key: SA_RUN, value: 'upgrade' },
        { key: SA_STACK, value: input.stack },
        { key: SA_TARGET_VERSION, value: normaliseVersion(input.gatewayVersion) },
        { key: SA_STAGE, value: opts.startAt ? 'scheduled' : 'preflight' },
      ],
      staticSummary: `Upgrade Tyk stack ${input.stack} to ${target}${hosts.length ? ` on ${hosts.length} host${hosts.length === 1 ? '' : 's'}` : ''}${opts.startAt ? `, scheduled for ${opts.startAt.toISOString()}` : ''}`,
      staticDetails: planDetails(input),
      // Temporal's start delay: the run exists (one per stack, visible everywhere) but its first task waits.
      ...(opts.startAt ? { startDelay: Math.max(1, opts.startAt.getTime() - Date.now()) } : {}),
      // Shown by `list` without asking a worker.
      memo: { hosts, instances: input.gateways.length + input.pumps.length },
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

export function hostsOf(input: UpgradeInput): string[] {
  return [...new Set([...input.gateways, ...input.pumps].map((t) => t.host).filter((h): h is string => !!h))].sort();
}

function planDetails(input: UpgradeInput): string {
  const rows = input.gateways.map(
    (g) => `| ${g.host ?? ''} | ${g.container} | gateway | ${g.url}/${g.helloPath} | ${normaliseVersion(input.gatewayVersion)} |`,
  );
  for (const p of input.pumps) rows.push(`| ${p.host ?? ''} | ${p.container} | pump | ${p.healthUrl} | ${normaliseVersion(input.pumpVersion ?? '')} |`);
  const ramp = Array.isArray(input.batchSize) ? `[${input.batchSize.join(', ')}]` : String(input.batchSize);
  return [
    `**Tyk upgrade plan for \`${input.stack}\`**`,
    '',
    '| host | container | role | health | target |',
    '|---|---|---|---|---|',
    ...rows,
    '',
    `Gates: ${input.gates.length ? input.gates.join(', ') : 'none'}${input.approvalTimeoutMs ? ` (abort after ${input.approvalTimeoutMs / 1000} s)` : ''}. ` +
      `Batches ${ramp}${input.maxUnavailable !== undefined ? `, at most ${input.maxUnavailable} of a pool out at once` : ''}, ` +
      `failure budget ${input.maxFailures ?? 0} then ${input.onFailure ?? 'rollback'}, drain ${input.drainTimeoutSec} s, health timeout ${input.healthTimeoutMs / 1000} s, soak ${(input.soakMs ?? 0) / 1000} s.`,
    ...(input.loadBalancer ? ['', `Load balancer: ${lbSummary(input.loadBalancer)}; each gateway leaves it before its stop and comes back once healthy.`] : []),
    ...(input.approvers?.length
      ? [
          '',
          `Signed decisions: ${signaturePolicy(input)}.`,
          '',
          '| approver | key | fingerprint |',
          '|---|---|---|',
          ...approverRows(input.approvers).map((r) => `| ${r.join(' | ')} |`),
        ]
      : []),
  ].join('\n');
}

function lbSummary(lb: NonNullable<UpgradeInput['loadBalancer']>): string {
  return lb.type === 'haproxy' ? `HAProxy backend \`${lb.backend}\` at \`${lb.socket ?? lb.address}\`` : `hooks \`${lb.beforeStop}\` / \`${lb.afterHealthy}\``;
}

/**
 * The live status; a query, so a worker must answer it within the deadline. While a batch runs, its child
 * workflow knows each instance's step (recreating, health check, soak): that is laid over the parent's view.
 * The children are asked at once, each within the same deadline; one that does not answer in time is passed to
 * `unanswered` and the parent's view of its instances stands.
 */
export async function getStatus(
  client: Client,
  workflowId: string,
  deadlineMs = WORKER_DEADLINE_MS,
  unanswered: (childWorkflowId: string) => void = () => undefined,
): Promise<UpgradeStatus> {
  const handle = client.workflow.getHandle(workflowId);
  const status = await client.withDeadline(Date.now() + deadlineMs, () => handle.query(statusQuery));
  const running = status.batches?.filter((b) => (b.state === 'running' || b.state === 'rolling-back') && b.workflowId) ?? [];
  const deadline = Date.now() + deadlineMs;
  const children = await Promise.all(
    running.map((b) =>
      client
        .withDeadline(deadline, () => client.workflow.getHandle(b.workflowId as string).query(batchStatusQuery))
        .catch((err) => {
          if (isGrpcDeadlineError(err) || isGrpcCancelledError(err)) unanswered(b.workflowId as string);
          return undefined; // not started yet, or just finished: the parent's view stands
        }),
    ),
  );
  for (const i of children.flatMap((live) => live ?? [])) {
    const mine = status.instances.find((s) => instanceKey(s) === instanceKey(i));
    if (mine && (mine.state === 'recreating' || mine.state === 'rolling-back')) Object.assign(mine, { state: i.state, detail: i.detail });
  }
  return status;
}

/**
 * Who signs a decision: an approver's name (as the plan lists it with the key) and what signs a statement with
 * that key (the CLI: `ssh-keygen -Y sign`).
 */
export interface StatementSigner {
  name: string;
  sign(statement: string): Promise<Signed>;
}

/** A statement about this upgrade, as it is now (its identity from the status query), signed with the signer's key. */
export async function signDecision(
  signer: StatementSigner,
  workflowId: string,
  status: UpgradeStatus,
  subject: StatementSubject,
  decision: StatementDecision,
  comment: string | undefined,
): Promise<Signed> {
  if (!status.upgradeId) throw new UnsignableUpgrade(`${workflowId} runs a version of the workflow that cannot verify signed decisions`);
  const statement = formatStatement({
    workflowId,
    upgradeId: status.upgradeId,
    subject,
    decision,
    name: signer.name,
    comment: comment ?? '',
    time: new Date().toISOString(),
  });
  return signer.sign(statement);
}

/** The workflow has no upgrade id to sign over: it predates signed decisions. */
export class UnsignableUpgrade extends Error {}

/** The start statement: the plan (exactly the input that will be sent, minus this signature) and the starter's name. */
export async function signStart(signer: StatementSigner, input: UpgradeInput, comment = ''): Promise<UpgradeInput> {
  const { startSigned: _, ...plan } = { ...input, startedBy: signer.name };
  const workflowId = workflowIdFor(input.stack);
  const statement = formatStatement({
    workflowId,
    planHash: contentHash(plan),
    subject: { kind: 'start' },
    decision: 'start',
    name: signer.name,
    comment,
    time: new Date().toISOString(),
  });
  return { ...plan, startSigned: await signer.sign(statement) };
}

/** An update ready to send: its arguments (what the Web UI's Send an Update takes as Data) and its fixed id. */
export interface PreparedUpdate<A> {
  /** The update's name, as the Web UI lists it. */
  name: string;
  args: A;
  updateId: string;
}

/** A prepared update sent, waiting for its result; a worker that does not answer within deadlineMs is an error. */
function send<A, R>(client: Client, workflowId: string, update: UpdateDefinition<R, [A]>, u: PreparedUpdate<A>, deadlineMs: number): Promise<R> {
  const handle = client.workflow.getHandle(workflowId);
  return client.withDeadline(Date.now() + deadlineMs, () => handle.executeUpdate(update, { args: [u.args], updateId: u.updateId }));
}

/** The pause decision for the pause that waits now, signed when a signer is given. */
export async function preparePause(
  client: Client,
  workflowId: string,
  d: PauseDecision,
  signer?: StatementSigner,
  deadlineMs = WORKER_DEADLINE_MS,
): Promise<PreparedUpdate<PauseDecision>> {
  const status = await getStatus(client, workflowId, deadlineMs);
  const pause = status.pause;
  if (pause?.state !== 'waiting') throw new NoGateWaiting(`${workflowId} is not paused (stage: ${status.stage}, outcome: ${status.outcome})`);
  const args: PauseDecision = signer
    ? { ...d, by: signer.name, signed: await signDecision(signer, workflowId, status, { kind: 'pause', number: pause.number }, d.choice, d.comment) }
    : d;
  return { name: resolvePauseUpdate.name, args, updateId: pauseUpdateId(pause.number, d.choice) };
}

/** Resolve a paused fleet: retry the failed instances, continue without them, or roll everything back. */
export async function resolvePause(
  client: Client,
  workflowId: string,
  d: PauseDecision,
  signer?: StatementSigner,
  deadlineMs = WORKER_DEADLINE_MS,
): Promise<PauseStatus> {
  return send(client, workflowId, resolvePauseUpdate, await preparePause(client, workflowId, d, signer, deadlineMs), deadlineMs);
}

/** The decision for the gate named, or the one that waits now, signed when a signer is given. */
export async function prepareDecision(
  client: Client,
  workflowId: string,
  decision: 'approve' | 'reject',
  d: Decision,
  signer?: StatementSigner,
  deadlineMs = WORKER_DEADLINE_MS,
): Promise<PreparedUpdate<Decision>> {
  const status = await getStatus(client, workflowId, deadlineMs);
  const gate: GateName | undefined = d.gate ?? status.gates.find((g) => g.state === 'waiting')?.gate;
  if (!gate) throw new NoGateWaiting(`no gate of ${workflowId} is waiting for a decision (stage: ${status.stage}, outcome: ${status.outcome})`);
  const sofar = status.gates.find((g) => g.gate === gate)?.approvals?.length ?? 0;
  const signed = signer
    ? await signDecision(signer, workflowId, status, { kind: 'gate', gate }, decision === 'reject' && d.rollback ? 'reject-rollback' : decision, d.comment)
    : undefined;
  const args: Decision = { ...d, gate, ...(signer ? { by: signer.name, signed } : {}) };
  const update = decision === 'approve' ? approveUpdate : rejectUpdate;
  return { name: update.name, args, updateId: decisionUpdateId(gate, decision, args.by, sofar) };
}

/** Approve or reject a gate; with no gate named, the one that waits. A retry with the same gate is deduplicated. */
export async function decide(
  client: Client,
  workflowId: string,
  decision: 'approve' | 'reject',
  d: Decision,
  signer?: StatementSigner,
  deadlineMs = WORKER_DEADLINE_MS,
): Promise<GateStatus> {
  const u = await prepareDecision(client, workflowId, decision, d, signer, deadlineMs);
  return send(client, workflowId, decision === 'approve' ? approveUpdate : rejectUpdate, u, deadlineMs);
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
  /** Started with a delay (`start --at`) that has not passed yet: nothing has run, nothing answers a query. */
  scheduledFor?: Date;
}

/** A start delay still ahead: Temporal's execution time is later than its start time and no task has run. */
function scheduledFor(executionTime: Date | undefined, historyLength: number, status: string): Date | undefined {
  return status === 'RUNNING' && executionTime && historyLength <= 1 && executionTime.getTime() > Date.now() ? executionTime : undefined;
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
    ...(scheduledFor(d.executionTime, d.historyLength, d.status.name) ? { scheduledFor: d.executionTime } : {}),
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

/**
 * The plan exactly as the workflow received it: the input of the run's first history event, decoded with the
 * client's data converter. Read from history, so no worker is needed. It holds no tyk.conf values by design.
 */
export async function upgradeInput(client: Client, workflowId: string, runId: string): Promise<UpgradeInput> {
  const namespace = client.options.namespace;
  // The first event is WorkflowExecutionStarted; one event is all that is needed, however long the history.
  const res = await client.withDeadline(Date.now() + WORKER_DEADLINE_MS, () =>
    client.workflowService.getWorkflowExecutionHistory({ namespace, execution: { workflowId, runId }, maximumPageSize: 1 }),
  );
  const started = res.history?.events?.[0]?.workflowExecutionStartedEventAttributes;
  if (!started) throw new Error(`the history of ${workflowId} (run ${runId}) does not begin with its start event`);
  const [input] = await decodeArrayFromPayloads(client.options.loadedDataConverter, started.input?.payloads, { type: 'workflow', namespace, workflowId });
  // A run that continued from another carries that run's whole state beside the plan: the plan is the rest.
  const { continued: _state, ...plan } = input as UpgradeInput;
  return plan;
}

export interface UpgradeSummary {
  workflowId: string;
  runId: string;
  temporalStatus: string;
  stack?: string;
  targetVersion?: string;
  /** The stage while running; the outcome once finished. */
  stage?: string;
  /** Hosts of a fleet upgrade (none for a single-host plan). */
  hosts: string[];
  startTime: Date;
  closeTime?: Date;
  /** `start --at`: when it will begin. */
  scheduledFor?: Date;
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
      hosts: Array.isArray(wf.memo?.hosts) ? (wf.memo?.hosts as string[]) : [],
      startTime: wf.startTime,
      closeTime: wf.closeTime,
      ...(scheduledFor(wf.executionTime, wf.historyLength, wf.status.name) ? { scheduledFor: wf.executionTime } : {}),
    });
    if (out.length >= limit) break;
  }
  return out;
}

/**
 * Ask the workflow to stop at its next safe point (a batch under way finishes first) and roll back every instance
 * this run changed, through the same rollback as a failed health check.
 */
export async function cancelWithRollback(
  client: Client,
  workflowId: string,
  r: AbortRequest,
  signer?: StatementSigner,
  deadlineMs = WORKER_DEADLINE_MS,
): Promise<AbortStatus> {
  return send(client, workflowId, abortWithRollbackUpdate, await prepareAbort(client, workflowId, r, signer, deadlineMs), deadlineMs);
}

/** The abort-with-rollback request, signed when a signer is given. */
export async function prepareAbort(
  client: Client,
  workflowId: string,
  r: AbortRequest,
  signer?: StatementSigner,
  deadlineMs = WORKER_DEADLINE_MS,
): Promise<PreparedUpdate<AbortRequest>> {
  const args: AbortRequest = signer
    ? {
        ...r,
        by: signer.name,
        signed: await signDecision(signer, workflowId, await getStatus(client, workflowId, deadlineMs), { kind: 'abort' }, 'abort-rollback', r.reason),
      }
    : r;
  return { name: abortWithRollbackUpdate.name, args, updateId: ABORT_UPDATE_ID };
}

/** Ask the workflow to stop; it finishes the container it is replacing (healthy or rolled back) first. */
export async function cancelUpgrade(client: Client, workflowId: string, runId: string): Promise<void> {
  await client.workflow.getHandle(workflowId, runId).cancel();
}
