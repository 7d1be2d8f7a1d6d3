// Recreate a container on a new image: create the replacement first, stop the old one with a drain timeout,
// keep it (renamed, stopped) for a fast rollback, start the replacement under the original name. The names are
// swapped before the start, never on a running container: a replacement that exits at once and is restarted by
// its policy can make the engine fail a rename (its network sandbox is gone for a moment). Between the stop and
// the start there are only the two renames: what each container is, is known from the inspects made before.
// Idempotent: every step first looks at what the engine already has, so a retry after a crash at any point
// carries on from there and never leaves two containers under one name or none at all.
import type Docker from 'dockerode';
import { newContainerName, oldContainerName } from '../shared/names';
import { replacementSpec } from './container-spec';
import { inspectContainer, renameContainer, startContainer, stopContainer } from './docker-util';

export interface RecreateInput {
  container: string;
  toImage: string;
  drainTimeoutSec: number;
  /** Labels the replacement gets over the old container's (compose's config hash for the edited file). */
  labels?: Record<string, string>;
}

export interface RecreateResult {
  id: string;
  /** Epoch ms when the old container had stopped and when the new one was started; absent on a resumed step. */
  stoppedAt?: number;
  startedAt: number;
}

export type Checkpoint = (name: string) => Promise<void> | void;

export async function recreateContainer(docker: Docker, input: RecreateInput, checkpoint: Checkpoint): Promise<RecreateResult> {
  const name = input.container;
  const oldName = oldContainerName(name);
  const newName = newContainerName(name);
  const [current, made] = await Promise.all([inspectContainer(docker, name), inspectContainer(docker, newName)]);
  let replacement = made && { id: made.Id, image: made.Config.Image };
  // What holds the name once the names are swapped.
  let holder = current && { id: current.Id, image: current.Config.Image };
  let stoppedAt: number | undefined;

  if (holder?.image !== input.toImage) {
    if (current) {
      // The original still holds the name: build its replacement before touching it.
      if (!replacement) {
        const oldImage = await docker.getImage(current.Image).inspect();
        const spec = replacementSpec(current, oldImage, input.toImage, newName, input.labels);
        const created = await docker.createContainer(spec.create);
        for (const net of spec.extraNetworks) await docker.getNetwork(net.name).connect({ Container: created.id, EndpointConfig: net.config });
        replacement = { id: created.id, image: input.toImage };
      }
      await checkpoint('recreate:created');
      await stopContainer(docker, current.Id, input.drainTimeoutSec);
      stoppedAt = Date.now();
      await checkpoint('recreate:after-stop');
      await renameContainer(docker, current.Id, oldName);
      holder = undefined;
    }
    if (replacement) {
      await renameContainer(docker, replacement.id, name);
      holder = replacement;
    }
  }
  if (!holder || holder.image !== input.toImage) {
    const old = await inspectContainer(docker, oldName);
    throw new Error(
      `cannot recreate "${name}": found ${holder ? `it on ${holder.image}` : 'no container of that name'}` +
        `${old ? `, "${oldName}" on ${old.Config.Image}` : ''} and no replacement "${newName}"`,
    );
  }
  await checkpoint('recreate:before-start');
  await startContainer(docker, holder.id);
  return { id: holder.id, stoppedAt, startedAt: Date.now() };
}
