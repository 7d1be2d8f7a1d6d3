// The parent's side of replacements made ahead (../ahead.ts): which batch makes the next one's during its soak,
// what the parent keeps of them, and the discard of those no recreate took when the run ends (an instance that
// failed before its recreate, a batch that never ran). Deterministic workflow code.
import { patched } from '@temporalio/workflow';
import type { BatchStatus, PreparedReplacement } from '../../shared/types';
import { SHORT } from '../activity-options';
import { failureMessage } from '../failures';
import { byHost, on } from '../routing';
import { where } from './hosts';
import type { FleetRun } from './run';

/** Runs recorded before replacements were made ahead replay without them. */
export const AHEAD_PATCH = 'prepare-ahead';

/**
 * The instance keys whose replacements gateway batch `i` makes during its soak: the next batch's, unless there is
 * no soak to hide the work in or a person decides between the two (the gate after the canary).
 */
export function aheadOf(run: FleetRun, batches: BatchStatus[], i: number): string[] {
  const next = batches[i + 1];
  if (!next || !run.input.soakMs || (i === 0 && run.input.gates.includes('after-canary'))) return [];
  return patched(AHEAD_PATCH) ? next.instances : [];
}

/** What a batch made ahead is kept until its own batch runs; the instances it upgraded no longer need theirs. */
export function keepPrepared(run: FleetRun, upgraded: string[], made: Record<string, PreparedReplacement> | undefined): void {
  // Their recreate took the replacement, or removed it as made from a container that has changed since.
  for (const k of upgraded) delete run.prepared[k];
  Object.assign(run.prepared, made ?? {});
}

/** The replacements made ahead that no recreate took go when the run ends: they never ran, nothing is lost. */
export async function discardUnused(run: FleetRun): Promise<void> {
  const keys = Object.keys(run.prepared).filter((k) => run.statusOf(k)?.state !== 'upgraded');
  if (!keys.length) return;
  const unused = keys.map((k) => run.planOf(k));
  await Promise.all(
    byHost(unused).map(async ([host, list]) => {
      const names = list.map((p) => p.container).join(', ');
      try {
        const r = await on(host, SHORT, `Remove the unused replacements of ${names}${where(host)}`).discardReplacements({
          containers: list.map((p) => p.container),
        });
        for (const w of r.warnings) run.warn(host, w);
      } catch (err) {
        run.warn(host, `the replacements made ahead for ${names} were not removed (\`docker rm\` their "-tyk-upgrade-new" containers): ${failureMessage(err)}`);
      }
    }),
  );
  for (const k of keys) delete run.prepared[k];
}
