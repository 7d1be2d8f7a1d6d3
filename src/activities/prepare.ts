// Replacements made ahead of their batch, during the batch before's soak, so the create is off the path between
// a gateway's stop and its start. Each is a stopped container under the new name, made exactly as recreate would
// make it; recreate takes it only when the hash of its create options still matches (recreate.ts). One whose
// batch never recreates it is discarded when the run ends: it never ran, so nothing is lost.
import type Docker from 'dockerode';
import { newContainerName, oldContainerName } from '../shared/names';
import type { PreparedReplacement } from '../shared/types';
import { inspectContainer } from './docker-util';
import { settleInOrder, PER_HOST_PARALLEL } from './parallel';
import { createFrom, replacementFor, type ReplacementTarget } from './recreate';

/** The replacement of one container, made ahead; undefined when there is nothing to make (gone, mid-swap, upgraded). */
export async function prepareReplacement(docker: Docker, target: ReplacementTarget): Promise<PreparedReplacement | undefined> {
  const newName = newContainerName(target.container);
  const [current, made, kept] = await Promise.all([
    inspectContainer(docker, target.container),
    inspectContainer(docker, newName),
    inspectContainer(docker, oldContainerName(target.container)),
  ]);
  if (!current || kept || current.Config.Image === target.toImage || made?.State.Running) return undefined;
  // A retry's earlier attempt may have made one: it never ran, and this one is made from what runs now.
  if (made) await docker.getContainer(made.Id).remove({ force: true });
  const wanted = await replacementFor(docker, current, target);
  return { id: await createFrom(docker, wanted.spec), spec: wanted.hash };
}

/** Every container of one host at once; one that cannot be made is simply made later, by its recreate. */
export async function prepareReplacements(docker: Docker, targets: ReplacementTarget[]): Promise<Record<string, PreparedReplacement>> {
  const settled = await settleInOrder(targets, PER_HOST_PARALLEL, (t) => prepareReplacement(docker, t));
  const made = targets.flatMap((t, i) => {
    const s = settled[i];
    return s.status === 'fulfilled' && s.value ? [[t.container, s.value] as const] : [];
  });
  return Object.fromEntries(made);
}

/** The replacements no recreate took: each goes if it is still under the new name and has never run. */
export async function discardReplacements(docker: Docker, containers: string[]): Promise<{ done: string[]; warnings: string[] }> {
  const settled = await settleInOrder(containers, PER_HOST_PARALLEL, async (container) => {
    const made = await inspectContainer(docker, newContainerName(container));
    if (!made || made.State.Running || made.State.StartedAt !== '0001-01-01T00:00:00Z') return undefined;
    await docker.getContainer(made.Id).remove({ force: true });
    return `${container}: removed its unused replacement ${newContainerName(container)}`;
  });
  return {
    done: settled.flatMap((s) => (s.status === 'fulfilled' && s.value ? [s.value] : [])),
    warnings: settled.flatMap((s, i) =>
      s.status === 'rejected' ? [`unused replacement ${newContainerName(containers[i])} not removed: ${(s.reason as Error).message}`] : [],
    ),
  };
}
