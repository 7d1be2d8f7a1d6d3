// Reading recorded workflow histories in tests. Type imports only: test files that install their own Runtime use it.
import type { Client, WorkflowHandle } from '@temporalio/client';

export type History = Awaited<ReturnType<WorkflowHandle['fetchHistory']>>;
type HistoryEvent = NonNullable<History['events']>[number];

/**
 * A history as searchable text, with every payload decoded: JSON.stringify of the raw history writes payload
 * bytes as numbers, in which no secret could ever be found (a check on that would pass whatever the history held).
 */
export function historyText(history: unknown): string {
  return JSON.stringify(history, (_k, v: unknown) => {
    const p = v as { metadata?: unknown; data?: unknown } | null;
    if (!p || typeof p !== 'object' || !('metadata' in p) || p.data === undefined || p.data === null) return v;
    const data = p.data instanceof Uint8Array ? Buffer.from(p.data) : typeof p.data === 'string' ? Buffer.from(p.data, 'base64') : undefined;
    return data ? { ...p, data: data.toString('utf8') } : v;
  });
}

/** One recorded run of a workflow: the upgrade's own runs and each child it started. */
export interface RecordedRun {
  workflowId: string;
  runId: string;
  workflowType: string;
  /** The run that started it as a child; undefined for the upgrade's own runs. */
  parent?: { workflowId: string; runId: string };
  history: History;
}

/**
 * Every history an upgrade wrote: each run of its workflow id (earlier runs found through each run's
 * `continuedExecutionRunId`), then every child those runs started, in the order they started. The children are
 * taken from the parents' ChildWorkflowExecutionStarted events — Temporal's record of what ran — never from the
 * product's own naming of them, so a child the product forgot to list is searched too.
 */
export async function upgradeHistories(client: Client, workflowId: string, latestRunId?: string): Promise<RecordedRun[]> {
  const runs: RecordedRun[] = [];
  let runId: string | undefined = latestRunId ?? (await client.workflow.getHandle(workflowId).describe()).runId;
  while (runId) {
    const history: History = await client.workflow.getHandle(workflowId, runId).fetchHistory();
    const started = history.events?.[0]?.workflowExecutionStartedEventAttributes;
    runs.unshift({ workflowId, runId, workflowType: started?.workflowType?.name ?? '', history });
    runId = started?.continuedExecutionRunId || undefined;
  }
  for (let i = 0; i < runs.length; i++) {
    for (const e of runs[i].history.events ?? []) {
      const child = e.childWorkflowExecutionStartedEventAttributes;
      const exec = child?.workflowExecution;
      if (!exec?.workflowId || !exec.runId) continue;
      const history = await client.workflow.getHandle(exec.workflowId, exec.runId).fetchHistory();
      runs.push({
        workflowId: exec.workflowId,
        runId: exec.runId,
        workflowType: child?.workflowType?.name ?? '',
        parent: { workflowId: runs[i].workflowId, runId: runs[i].runId },
        history,
      });
    }
  }
  return runs;
}

/** The children an upgrade started (batches, rollbacks), from the recorded histories. */
export const childrenOf = (runs: RecordedRun[]) => runs.filter((r) => r.parent);

/** What one scheduled activity did, joined from its scheduled, started and closing events. */
export interface ActivityRun {
  type: string;
  /** Its arguments, decoded. */
  input: unknown[];
  scheduledAt: number;
  /** The attempt that closed it (Temporal writes ActivityTaskStarted once, for the last attempt). */
  attempt?: number;
  /** The worker identity of that attempt. */
  identity?: string;
  /** What made the earlier attempt fail, when it was retried (a heartbeat timeout after a worker died, say). */
  lastFailure?: string;
  closedAt?: number;
  outcome?: 'completed' | 'failed' | 'timed-out' | 'canceled';
}

const msOf = (t: { seconds?: unknown; nanos?: number | null } | null | undefined): number =>
  t ? Number(String(t.seconds ?? 0)) * 1000 + Math.floor((t.nanos ?? 0) / 1e6) : Number.NaN;

/** Payloads (arguments, results) decoded from JSON. */
export function decodePayloads(p: { payloads?: { data?: Uint8Array | null }[] | null } | null | undefined): unknown[] {
  return (p?.payloads ?? []).map((x) => {
    const text = x.data ? Buffer.from(x.data).toString('utf8') : '';
    try {
      return JSON.parse(text) as unknown;
    } catch {
      return text;
    }
  });
}

/** The activities a history scheduled, in order, with their attempts and outcomes. */
export function activitiesIn(history: History): ActivityRun[] {
  const byId = new Map<string, ActivityRun>();
  const out: ActivityRun[] = [];
  const close = (e: HistoryEvent, scheduledEventId: unknown, outcome: ActivityRun['outcome']) => {
    const a = byId.get(String(scheduledEventId));
    if (a) Object.assign(a, { closedAt: msOf(e.eventTime), outcome });
  };
  for (const e of history.events ?? []) {
    const s = e.activityTaskScheduledEventAttributes;
    if (s) {
      const a: ActivityRun = { type: s.activityType?.name ?? '', input: decodePayloads(s.input), scheduledAt: msOf(e.eventTime) };
      byId.set(String(e.eventId), a);
      out.push(a);
    }
    const st = e.activityTaskStartedEventAttributes;
    if (st) {
      const a = byId.get(String(st.scheduledEventId));
      if (a) Object.assign(a, { attempt: st.attempt ?? undefined, identity: st.identity ?? undefined, lastFailure: st.lastFailure?.message ?? undefined });
    }
    if (e.activityTaskCompletedEventAttributes) close(e, e.activityTaskCompletedEventAttributes.scheduledEventId, 'completed');
    if (e.activityTaskFailedEventAttributes) close(e, e.activityTaskFailedEventAttributes.scheduledEventId, 'failed');
    if (e.activityTaskTimedOutEventAttributes) close(e, e.activityTaskTimedOutEventAttributes.scheduledEventId, 'timed-out');
    if (e.activityTaskCanceledEventAttributes) close(e, e.activityTaskCanceledEventAttributes.scheduledEventId, 'canceled');
  }
  return out;
}

/** The containers an activity worked on, from its decoded input (its instance, gateway, container or instances). */
export function containersOf(a: ActivityRun): string[] {
  type Named = { container?: string };
  const arg = (a.input[0] ?? {}) as { instance?: Named; gateway?: Named; container?: string; instances?: Named[]; targets?: Named[] };
  const names = [arg.instance?.container, arg.gateway?.container, arg.container, ...[...(arg.instances ?? []), ...(arg.targets ?? [])].map((i) => i.container)];
  return names.filter((n): n is string => typeof n === 'string');
}
