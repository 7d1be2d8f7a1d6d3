// Maintenance windows: no container is stopped outside them, and the batch in hand always finishes. Outside a
// window the run waits as a pause (kind "window") that goes on by itself when the next window opens, unless a
// person decides first (continue now, outside the window; or roll back). Deterministic workflow code.
import { condition } from '@temporalio/workflow';
import { windowState } from '../../shared/window';
import { now, type FleetRun } from './run';
import { Abort, abortIfAsked } from './stops';

/** Before a batch stops anything: inside a window (or overridden, or none), go on; outside, wait. */
export async function awaitWindow(run: FleetRun): Promise<void> {
  const { status } = run;
  const w = status.window;
  if (!w || w.state === 'overridden') return;
  for (;;) {
    const s = windowState(run.windows, new Date());
    if (s.open) {
      Object.assign(w, { state: 'open', closesAt: s.closesAt?.toISOString(), opensAt: undefined });
      run.publish();
      return;
    }
    const opensAt = s.opensAt?.toISOString();
    Object.assign(w, { state: 'closed', closesAt: undefined, opensAt });
    run.pauses += 1;
    status.pause = {
      number: run.pauses,
      kind: 'window',
      state: 'waiting',
      since: now(),
      reason: `outside the maintenance window (${w.windows.join('; ')}); ${opensAt ? `the next opens at ${opensAt}` : 'no window opens in the coming week'}`,
      failed: [],
      ...(opensAt ? { opensAt } : {}),
    };
    run.setStage('waiting-for-window');
    run.publish();
    run.notifier.notify('upgrade.waiting-for-window', `Upgrade of ${run.input.stack} waits for its maintenance window: ${status.pause.reason}`, {
      pause: { ...status.pause },
    });
    const p = status.pause;
    const settled = () => p.state !== 'waiting' || !!status.abort;
    // A second past the opening, so the clock the workflow wakes with is inside the window.
    if (s.opensAt) await condition(settled, Math.max(1000, s.opensAt.getTime() - Date.now() + 1000));
    else await condition(settled);
    abortIfAsked(run);
    run.setStage(status.stage);
    if (p.state === 'waiting') {
      Object.assign(p, { state: 'decided', choice: 'continue', by: 'maintenance window', at: now() });
      continue;
    }
    if (p.choice === 'rollback') {
      throw new Abort(
        'cancelled',
        `${p.by} chose to stop while the upgrade waited for its maintenance window; everything this run changed is rolled back`,
        true,
      );
    }
    Object.assign(w, { state: 'overridden', overriddenBy: p.by, overriddenAt: p.at, opensAt: undefined });
    status.errors.push(`warning: ${p.by} chose to go on outside the maintenance window`);
    run.publish();
    return;
  }
}
