// Made ahead: while a batch soaks, the next batch's replacements are made on their hosts (created, not started),
// so that batch's recreates go straight from the inspect to the swap. Best effort: a host that cannot make them
// leaves them to its recreates, as before. Deterministic workflow code.
import type { ActivityOptions } from '@temporalio/workflow';
import type { ReplacementTarget } from '../activities/recreate';
import { instanceKey } from '../shared/names';
import type { InstancePlan, PreparedReplacement } from '../shared/types';
import { retry } from './activity-options';
import { byHost, on } from './routing';

/**
 * Tried twice at most, and never for longer than the soak it hides in (10 s at least): a batch does not wait on a
 * host whose worker is away, for work its successor's recreates can do themselves.
 */
const aheadOptions = (soakMs: number): ActivityOptions => ({
  scheduleToCloseTimeout: Math.max(soakMs, 10_000),
  startToCloseTimeout: '1m',
  heartbeatTimeout: '10s',
  retry: retry(2),
});

/** What a replacement is made for: the same for the one made ahead and for recreate's own. */
export function replacementTarget(p: InstancePlan): ReplacementTarget {
  // Compose's labels for the edited service (fleet/compose.ts), so `docker compose up` leaves it be.
  return { container: p.container, toImage: p.toImage, ...(p.compose?.labels ? { labels: p.compose.labels } : {}) };
}

/** The replacements of `instances`, made on each host at once (instance key →); those that could not be made are absent. */
export async function prepareAhead(instances: InstancePlan[], soakMs: number): Promise<Record<string, PreparedReplacement>> {
  const made = await Promise.all(
    byHost(instances).map(async ([host, mine]) => {
      try {
        const r = await on(host, aheadOptions(soakMs), `Make the replacements of ${mine.map((p) => p.container).join(', ')} ahead`).prepareReplacements({
          targets: mine.map(replacementTarget),
        });
        return mine.filter((p) => r[p.container]).map((p) => [instanceKey(p), r[p.container]] as const);
      } catch {
        return [];
      }
    }),
  );
  return Object.fromEntries(made.flat());
}
