// Look-only runs (`init`'s discovery, `plan`'s and `start`'s dry run) wait on workers the client cannot see: a
// worker killed a moment ago still shows as a poller for a minute or more, so a poller check alone lets a call
// hang on a worker that is gone. The client therefore watches the run it started: any part of it that waits for
// a worker longer than the deadline (its workflow task, or a host's activity) ends the wait, the run is
// terminated, and the error names the task queues nobody served. A part a worker has taken is not waiting, so a
// slow host is not cut short, and a worker that comes back within the deadline is simply used.
import type { Client, WorkflowHandle } from '@temporalio/client';
import { optionalTsToMs } from '@temporalio/common/lib/time';
import { SA_RUN } from '../shared/names';

/** A look-only run ends by itself after this (or twice the deadline, if longer), even when its client is gone. */
export const LOOK_RUN_TIMEOUT_MS = 5 * 60_000;
const POLL_MS = 1000;

const ACTIVITY_SCHEDULED = 1; // PENDING_ACTIVITY_STATE_SCHEDULED: no worker has taken this attempt
const TASK_SCHEDULED = 1; // PENDING_WORKFLOW_TASK_STATE_SCHEDULED

/** Nobody took part of a look-only run within the deadline; the run has been terminated. */
export class NoWorkerAnswered extends Error {
  constructor(
    readonly workflowId: string,
    /** The task queues whose work waited: the run's own (its workflow task) and/or hosts' queues. */
    readonly taskQueues: string[],
    readonly deadlineMs: number,
  ) {
    super(`no worker took the work of ${workflowId} on task queue ${taskQueues.join(', ')} within ${deadlineMs / 1000} s`);
  }
}

export interface LookOptions {
  taskQueue: string;
  workflowId: string;
  args: unknown[];
  staticSummary: string;
  /** How long a part may wait for a worker to take it. */
  deadlineMs: number;
}

/** Starts a look-only run (tagged TykRun=look, with an execution timeout) and waits for its answer with the deadline. */
export async function look<T>(client: Client, workflowType: string, o: LookOptions): Promise<T> {
  const startedAt = Date.now();
  const handle = await client.workflow.start(workflowType, {
    taskQueue: o.taskQueue,
    workflowId: o.workflowId,
    args: o.args,
    staticSummary: o.staticSummary,
    workflowExecutionTimeout: Math.max(LOOK_RUN_TIMEOUT_MS, 2 * o.deadlineMs),
    typedSearchAttributes: [{ key: SA_RUN, value: 'look' }],
  });
  return answer<T>(handle, o.taskQueue, o.deadlineMs, startedAt);
}

async function answer<T>(handle: WorkflowHandle, taskQueue: string, deadlineMs: number, startedAt: number): Promise<T> {
  const result = handle.result() as Promise<T>;
  const settled = result.then(
    () => true,
    () => true,
  );
  let nextMs = POLL_MS;
  for (;;) {
    if (await Promise.race([settled, new Promise<false>((r) => setTimeout(() => r(false), nextMs))])) return result;
    const waiting = await waitingParts(handle, taskQueue, startedAt);
    const late = waiting.filter((w) => w.waitedMs >= deadlineMs);
    if (late.length) {
      const queues = [...new Set(late.map((w) => w.taskQueue))];
      const terminated = await handle.terminate(`no worker took its work on ${queues.join(', ')} within ${deadlineMs / 1000} s`).then(
        () => true,
        () => false,
      );
      // Not terminated: it may have just finished after all, and then its answer counts.
      if (!terminated && (await Promise.race([settled, new Promise<false>((r) => setTimeout(() => r(false), 2000))]))) return result;
      throw new NoWorkerAnswered(handle.workflowId, queues, deadlineMs);
    }
    // Look again when the part that has waited longest reaches the deadline, so the call ends on time.
    nextMs = Math.max(50, Math.min(POLL_MS, ...waiting.map((w) => deadlineMs - w.waitedMs)));
  }
}

/**
 * The parts of the run that wait for a worker (its workflow task, activities no worker has taken) with how long
 * each has waited. Server times are turned into the client's clock through the run's start time, so a skewed
 * clock neither shortens nor stretches the wait.
 */
async function waitingParts(handle: WorkflowHandle, taskQueue: string, startedAt: number): Promise<{ taskQueue: string; waitedMs: number }[]> {
  const { raw } = await handle.describe();
  const serverStart = optionalTsToMs(raw.workflowExecutionInfo?.startTime) ?? 0;
  const waited = (since: number) => Date.now() - (startedAt + (since - serverStart));
  const parts: { taskQueue: string; waitedMs: number }[] = [];
  const task = raw.pendingWorkflowTask;
  const taskSince = optionalTsToMs(task?.scheduledTime);
  if (task?.state === TASK_SCHEDULED && taskSince !== undefined) parts.push({ taskQueue, waitedMs: waited(taskSince) });
  const activities = (raw.pendingActivities ?? []).filter((a) => a.state === ACTIVITY_SCHEDULED && optionalTsToMs(a.scheduledTime) !== undefined);
  if (activities.length) {
    // Servers before 1.27 do not say an activity's queue in the description; its history does.
    const queues = activities.every((a) => a.activityOptions?.taskQueue?.name) ? new Map<string, string>() : await activityQueues(handle);
    for (const a of activities) {
      const queue = a.activityOptions?.taskQueue?.name || queues.get(a.activityId ?? '') || taskQueue;
      parts.push({ taskQueue: queue, waitedMs: waited(optionalTsToMs(a.scheduledTime) as number) });
    }
  }
  return parts;
}

/** Each scheduled activity's task queue, from the run's (short) history. */
async function activityQueues(handle: WorkflowHandle): Promise<Map<string, string>> {
  const queues = new Map<string, string>();
  for (const e of (await handle.fetchHistory()).events ?? []) {
    const a = e.activityTaskScheduledEventAttributes;
    if (a?.activityId && a.taskQueue?.name) queues.set(a.activityId, a.taskQueue.name);
  }
  return queues;
}
