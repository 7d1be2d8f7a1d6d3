// Calls the notify activity once and returns its result: the worker side of notifications, through a real
// Temporal server, without an upgrade around it. `taskQueue`: where the activity runs, when not this workflow's
// own queue (a fleet host's worker serves it on the main queue).
import { proxyActivities } from '@temporalio/workflow';
import type { createNotifyActivity } from '../../src/activities/notify';
import type { NotifyRequest, NotifyResult } from '../../src/shared/types';

type NotifyActivity = ReturnType<typeof createNotifyActivity>;
// scheduleToClose: a notify nobody serves fails the test instead of hanging it.
const options = { startToCloseTimeout: '1m', scheduleToCloseTimeout: '30s', heartbeatTimeout: '10s' } as const;

export async function notifyCall(req: NotifyRequest, taskQueue?: string): Promise<NotifyResult> {
  const { notify } = proxyActivities<NotifyActivity>(taskQueue ? { ...options, taskQueue } : options);
  return notify(req);
}
