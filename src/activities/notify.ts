// The notify activity: posts one event to the webhooks of this worker's config. It never throws for a delivery
// failure (an undelivered notification is a warning, never a reason to stop or fail an upgrade), and it keeps the
// webhooks that already got the event in its heartbeat details, so a retried activity does not send them twice.
import { Context } from '@temporalio/activity';
import { webhookWants, type NotifyConfig } from '../notify/config';
import { sendNotification } from '../notify/send';
import type { NotifyRequest, NotifyResult } from '../shared/types';

/** What survives an activity retry: when the first attempt began and who already has the event. */
interface Progress {
  startedAt: number;
  delivered: [webhook: string, attempts: number][];
}

function progressOf(details: unknown): Progress | undefined {
  const p = details as Partial<Progress> | undefined;
  if (typeof p?.startedAt !== 'number' || !Array.isArray(p.delivered)) return undefined;
  return { startedAt: p.startedAt, delivered: p.delivered.filter((d) => Array.isArray(d) && typeof d[0] === 'string' && typeof d[1] === 'number') };
}

export function createNotifyActivity(config: NotifyConfig | undefined) {
  return {
    async notify(req: NotifyRequest): Promise<NotifyResult> {
      if (!config) return { delivered: [], failed: [] };
      // Reminders only when some webhook would get them; else the workflow would wake up for nothing.
      const reminder = config.reminderMs && config.webhooks.some((w) => webhookWants(w, 'gate.reminder')) ? { reminderMs: config.reminderMs } : {};
      if (!config.webhooks.some((w) => webhookWants(w, req.event))) return { delivered: [], failed: [], ...reminder };

      const ctx = Context.current();
      const progress = progressOf(ctx.info.heartbeatDetails) ?? { startedAt: Date.now(), delivered: [] };
      const beat = () => ctx.heartbeat(progress);
      beat();
      // Some webhooks may take their time: keep beating, so a dead worker is still told from a slow receiver.
      const ticker = setInterval(beat, 1000);
      // Leave the activity's own timeout a second to report, so a slow receiver ends as a warning, not a timeout.
      const activityLeft = ctx.info.startToCloseTimeoutMs ? ctx.info.startToCloseTimeoutMs - 1000 : Infinity;
      try {
        const result = await sendNotification(config.webhooks, req, {
          webUi: config.webUi,
          deadlineMs: Math.min(config.deadlineMs, Date.now() - progress.startedAt + activityLeft),
          startedAt: progress.startedAt,
          alreadyDelivered: new Map(progress.delivered),
          onDelivered: (webhook, attempts) => {
            progress.delivered.push([webhook, attempts]);
            beat();
          },
          signal: ctx.cancellationSignal,
        });
        // Cancelled (the worker shuts down, the workflow went away): not a delivery failure. End as cancelled, so a
        // retry on another worker sends what is left, skipping the webhooks in the heartbeat details.
        ctx.cancellationSignal.throwIfAborted();
        for (const d of result.delivered)
          ctx.log.info(`notification ${req.event} delivered to webhook ${d.webhook} (${d.attempts} attempt${d.attempts === 1 ? '' : 's'})`);
        for (const f of result.failed) ctx.log.warn(`notification ${req.event} not delivered to webhook ${f.webhook}: ${f.error}`);
        return { ...result, ...reminder };
      } finally {
        clearInterval(ticker);
      }
    },
  };
}
