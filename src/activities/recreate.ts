// Recreate a container on a new image: create the replacement first, swap the names while the old one still runs,
// then stop the old one with a drain timeout and start the replacement at once: nothing stands between the stop and
// the start, which is the gateway's downtime without a load balancer. The old one is kept (renamed, stopped) for a
// fast rollback. The names are swapped only on a container that is not restarting: the replacement has never run,
// and an old one its restart policy is bringing back is stopped first (the engine can fail to rename it while its
// network sandbox is gone for a moment).
// The replacement may have been made ahead, during the batch before's soak (prepare.ts): it is used only when
// it was made from the container as it is now, which the hash of its create options says.
// Idempotent: every step first looks at what the engine already has, so a retry after a crash at any point
// carries on from there and never leaves two containers under one name or none at all.
import { createHash } from 'node:crypto';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { newContainerName, oldContainerName } from '../shared/names';
import type { PreparedReplacement } from '../shared/types';
import { replacementSpec, type ReplacementSpec } from './container-spec';
import { inspectContainer, renameContainer, startContainer, stopContainer } from './docker-util';

/** What a replacement is made for: the container, its new image, and the labels it gets over the old one's. */
export interface ReplacementTarget {
  container: string;
  toImage: string;
  /** Labels the replacement gets over the old container's (compose's config hash for the edited file). */
  labels?: Record<string, string>;
}

export interface RecreateInput extends ReplacementTarget {
  drainTimeoutSec: number;
  /** The replacement made ahead of this batch, if one was. */
  prepared?: PreparedReplacement;
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
  const [current, made, kept] = await Promise.all([inspectContainer(docker, name), inspectContainer(docker, newName), inspectContainer(docker, oldName)]);
  let replacement = made && { id: made.Id, image: made.Config.Image };
  // What holds the name once the names are swapped, and the old container, wherever it is in the swap.
  let holder = current && { id: current.Id, image: current.Config.Image };
  let old = kept && { id: kept.Id, running: kept.State.Running };
  let stoppedAt: number | undefined;
  const stopOld = async (id: string) => {
    await stopContainer(docker, id, input.drainTimeoutSec);
    stoppedAt = Date.now();
    old = { id, running: false };
  };

  if (holder?.image !== input.toImage) {
    if (current) {
      // The original still holds the name: build its replacement before touching it. One found under the new
      // name is kept only when it was made ahead from the container as it is now; anything else (made before a
      // `docker update`, or by an attempt that crashed before its rename) never ran and goes.
      const wanted = await replacementFor(docker, current, input);
      if (replacement && !(input.prepared?.id === replacement.id && input.prepared.spec === wanted.hash)) {
        await docker.getContainer(replacement.id).remove({ force: true });
        replacement = undefined;
      }
      replacement ??= { id: await createFrom(docker, wanted.spec), image: input.toImage };
      await checkpoint('recreate:created');
      if (current.State.Restarting) await stopOld(current.Id);
      await renameContainer(docker, current.Id, oldName);
      old ??= { id: current.Id, running: current.State.Running && !current.State.Restarting };
      holder = undefined;
    }
    if (replacement) {
      await renameContainer(docker, replacement.id, name);
      holder = replacement;
    }
  }
  if (!holder || holder.image !== input.toImage) {
    const found = await inspectContainer(docker, oldName);
    throw new Error(
      `cannot recreate "${name}": found ${holder ? `it on ${holder.image}` : 'no container of that name'}` +
        `${found ? `, "${oldName}" on ${found.Config.Image}` : ''} and no replacement "${newName}"`,
    );
  }
  // The old one serves until here: stopped (its requests drained), then the replacement starts straight away.
  if (old?.running) await stopOld(old.id);
  await checkpoint('recreate:after-stop');
  await startContainer(docker, holder.id);
  return { id: holder.id, stoppedAt, startedAt: Date.now() };
}

/** The replacement's create options, from the container as the engine shows it now, and their hash. */
export async function replacementFor(
  docker: Docker,
  current: ContainerInspectInfo,
  target: ReplacementTarget,
): Promise<{ spec: ReplacementSpec; hash: string }> {
  const oldImage = await docker.getImage(current.Image).inspect();
  const spec = replacementSpec(current, oldImage, target.toImage, newContainerName(target.container), target.labels);
  return { spec, hash: createHash('sha256').update(JSON.stringify(spec)).digest('hex') };
}

/** Create the replacement (not started) and connect its other networks; its id. */
export async function createFrom(docker: Docker, spec: ReplacementSpec): Promise<string> {
  const created = await docker.createContainer(spec.create);
  for (const net of spec.extraNetworks) await docker.getNetwork(net.name).connect({ Container: created.id, EndpointConfig: net.config });
  return created.id;
}
