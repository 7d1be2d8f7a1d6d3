// Compose projects follow the upgrade: after the pull each host says which of its compose files change and what
// the recreated containers must be labelled with so `docker compose up` sees them as up to date; a file is edited
// once every service it names on that host is done (a file naming only gateways after the gateway stage, one
// with the pump after the pump stage; on any other end, to the version each service runs); every rollback of
// the whole run puts the files back byte for byte. Runs only when preflight found instances whose files change,
// so runs without compose projects (and every recorded history) have none of these steps. Deterministic.
import type { ComposeFileStatus, InstancePlan } from '../../shared/types';
import { instanceKey } from '../../shared/names';
import { SHORT } from '../activity-options';
import { failureMessage } from '../failures';
import { byHost, on } from '../routing';
import { where } from './hosts';
import type { FleetRun } from './run';

const composed = (run: FleetRun) => run.plan.filter((p) => p.compose);

/** The files of each host's compose projects, and the labels of the containers whose files change. */
export async function prepareCompose(run: FleetRun): Promise<void> {
  const list = composed(run);
  if (!list.length) return;
  const { status } = run;
  status.compose = [];
  await Promise.all(
    byHost(list).map(async ([host, mine]) => {
      try {
        const r = await on(host, SHORT, `Compose files of ${projects(mine)}${where(host)}: what changes, and the labels compose expects`).prepareCompose({
          instances: mine,
          manifest: run.manifests[host ?? ''],
        });
        for (const [container, labels] of Object.entries(r.labels)) {
          const p = run.planOf(instanceKey({ host, container }));
          if (p?.compose) p.compose.labels = labels;
        }
        status.compose?.push(...r.files.map((f) => ({ ...(host ? { host } : {}), ...f })));
        for (const w of r.warnings) run.warn(host, w);
      } catch (err) {
        // The upgrade itself goes on: its containers keep their labels, the files stay as they are (today's warning).
        run.warn(host, `compose files of ${projects(mine)} are not changed: ${failureMessage(err)}; set the new images there yourself`);
      }
    }),
  );
  run.publish();
}

/**
 * Edit the pending files whose services are all done: `gateways` after the gateway stage (files that name no
 * pump), `all` after the pumps or when the run ends early (each service gets the version it runs).
 */
export async function settleCompose(run: FleetRun, due: 'gateways' | 'all'): Promise<void> {
  const files = (run.status.compose ?? []).filter((f) => f.state === 'pending' && (due === 'all' || namesOnlyGateways(run, f)));
  if (!files.length) return;
  await Promise.all(
    byHost(files).map(async ([host, mine]) => {
      const instances = composed(run).filter((p) => p.host === host);
      try {
        const r = await on(host, SHORT, `Update compose files${where(host)}: ${mine.map((f) => f.path).join(', ')}`).updateComposeFiles({
          instances,
          manifest: run.manifests[host ?? ''],
          upgraded: instances.filter((p) => run.statusOf(instanceKey(p)).state === 'upgraded').map((p) => p.container),
          files: mine.map((f) => f.path),
        });
        for (const f of r.files) Object.assign(mine.find((x) => x.path === f.path) as ComposeFileStatus, f);
        for (const w of r.warnings) run.warn(host, w);
      } catch (err) {
        for (const f of mine) Object.assign(f, { state: 'skipped', detail: `not updated: ${failureMessage(err)}` });
        run.warn(host, `compose files ${mine.map((f) => f.path).join(', ')} not updated: ${failureMessage(err)}; set the new images there yourself`);
      }
    }),
  );
  run.publish();
}

/** After a rollback of everything: each file this run changed goes back to its bytes from the backup. */
export async function restoreCompose(run: FleetRun): Promise<void> {
  const files = (run.status.compose ?? []).filter((f) => f.state === 'updated');
  if (!files.length) return;
  await Promise.all(
    byHost(files).map(async ([host, mine]) => {
      try {
        const r = await on(host, SHORT, `Restore compose files${where(host)}: ${mine.map((f) => f.path).join(', ')}`).restoreComposeFiles({
          manifest: run.manifests[host ?? ''],
          files: mine.map(({ path, sha256Before, sha256After }) => ({ path, sha256Before, sha256After })),
        });
        for (const f of r.files) Object.assign(mine.find((x) => x.path === f.path) as ComposeFileStatus, f);
        for (const w of r.warnings) run.warn(host, w);
      } catch (err) {
        run.status.errors.push(`compose files${where(host)} not restored: ${failureMessage(err)}; restore them from the backup by hand`);
      }
    }),
  );
  run.publish();
}

function namesOnlyGateways(run: FleetRun, f: ComposeFileStatus): boolean {
  return composed(run)
    .filter((p) => p.host === f.host && p.compose?.project === f.project && f.services.includes(p.compose.service))
    .every((p) => p.role === 'gateway');
}

function projects(list: InstancePlan[]): string {
  return [...new Set(list.map((p) => p.compose?.project))].map((n) => `"${n}"`).join(', ');
}
