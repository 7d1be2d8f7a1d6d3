// Notifications from the upgrade workflow: it says what happened; the notify activity on its own task queue (the
// worker there alone knows the webhooks, whose URLs carry tokens) posts it. Nothing here waits on a delivery
// except the end of the run, and a delivery that fails is a warning in the status, never a failure.
// Deterministic workflow code.
import { condition, patched, workflowInfo } from '@temporalio/workflow';
import type { NotifyEventName, NotifyRequest, UpgradeInput, UpgradeStatus } from '../shared/types';
import { failureMessage, NOTIFY, on } from './routing';

export interface Notifier {
  /** False when replaying a run recorded before notifications existed: then nothing is sent. */
  notifying: boolean;
  notify(event: NotifyEventName, summary: string, extra?: Partial<NotifyRequest>): void;
  /** Every notification of the run has left (the last one must, before the run ends, or it is abandoned). */
  notificationsSent(): Promise<unknown>;
  /** Wait until `isDecided` or `timeoutMs`, calling `remind` at the worker's reminder interval meanwhile; false on timeout. */
  waitReminding(isDecided: () => boolean, timeoutMs: number | undefined, remind: () => void): Promise<boolean>;
}

/** Call where the workflow starts: the patch marker goes before any other command. */
export function createNotifier(input: UpgradeInput, status: UpgradeStatus, publish: () => void): Notifier {
  // Runs recorded before notifications existed replay without them (Temporal's patching).
  const notifying = patched('notifications');
  let notices = 0;
  const sending: Promise<void>[] = [];
  /** The worker's reminder interval for a waiting gate, learnt from its first answer; undefined: no reminders. */
  let reminderMs: number | undefined;

  function notify(event: NotifyEventName, summary: string, extra: Partial<NotifyRequest> = {}): void {
    if (!notifying) return;
    const info = workflowInfo();
    notices += 1;
    const req: NotifyRequest = {
      event,
      id: `${info.workflowId}/${info.runId}/${notices}`,
      at: new Date().toISOString(),
      workflowId: info.workflowId,
      runId: info.runId,
      namespace: info.namespace,
      stack: input.stack,
      gatewayVersion: input.gatewayVersion,
      ...(input.pumpVersion ? { pumpVersion: input.pumpVersion } : {}),
      stage: status.stage,
      outcome: status.outcome,
      summary,
      ...extra,
    };
    const sent = on(undefined, NOTIFY, `Notify ${event}`)
      .notify(req)
      .then(
        (r) => {
          reminderMs = r.reminderMs;
          if (!r.delivered.length && !r.failed.length) return;
          status.notifications ??= [];
          status.notifications.push({
            event,
            at: req.at,
            delivered: r.delivered.map((d) => d.webhook),
            failed: r.failed.map((f) => ({ webhook: f.webhook, error: f.error })),
          });
          for (const f of r.failed) status.errors.push(`warning: notification ${event} not delivered to webhook ${f.webhook}: ${f.error}`);
          publish();
        },
        (err) => void status.errors.push(`warning: notification ${event} not sent: ${failureMessage(err)}`),
      );
    sending.push(sent);
  }

  async function waitReminding(isDecided: () => boolean, timeoutMs: number | undefined, remind: () => void): Promise<boolean> {
    const until = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    let last = Date.now();
    for (;;) {
      if (isDecided()) return true;
      const t = Date.now();
      if (t >= until) return false;
      const every = reminderMs;
      if (every && t >= last + every) {
        remind();
        last = t;
        continue;
      }
      // Wake at the timeout or the next reminder, or as soon as the worker's first answer says to remind.
      const wake = Math.min(until, every ? last + every : Infinity);
      const changed = () => isDecided() || reminderMs !== every;
      if (wake === Infinity) await condition(changed);
      else await condition(changed, wake - t);
    }
  }

  return { notifying, notify, notificationsSent: () => Promise.all(sending), waitReminding };
}
