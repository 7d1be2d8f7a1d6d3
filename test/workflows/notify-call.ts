// Calls the notify activity once and returns its result: the worker side of notifications, through a real
// Temporal server, without an upgrade around it.
import { proxyActivities } from '@temporalio/workflow';
import type { createNotifyActivity } from '../../src/activities/notify';
import type { NotifyRequest, NotifyResult } from '../../src/shared/types';

const { notify } = proxyActivities<ReturnType<typeof createNotifyActivity>>({ startToCloseTimeout: '1m', heartbeatTimeout: '10s' });

export async function notifyCall(req: NotifyRequest): Promise<NotifyResult> {
  return notify(req);
}
