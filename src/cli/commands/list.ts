// `tyk-upgrade list`: recent upgrades from Temporal's visibility store (search attributes and memo), so no
// worker is needed.
import { listUpgrades } from '../../client-lib/upgrades';
import { print } from '../output';
import { renderList } from '../render';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';

export async function listCommand(f: { limit: number; json?: boolean }, g: TemporalOptions): Promise<void> {
  await withTemporal(g, async (session) => {
    const items = await listUpgrades(session.client, f.limit).catch((err) => {
      throw explainTemporalError(err, 'cannot list upgrades');
    });
    if (f.json) return print(JSON.stringify(items, null, 2));
    print(renderList(items));
    print(`\nIn the Web UI (upgrades only, no look-only runs or batches): ${session.upgradesLink}`);
  });
}
