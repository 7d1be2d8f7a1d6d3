// Recreate a container on a new image: create the replacement first, stop the old one with a drain timeout,
// keep it (renamed, stopped) for a fast rollback, start the replacement under the original name.
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
  let current = await inspectContainer(docker, name);
  let replacement = await inspectContainer(docker, newName);
  let stoppedAt: number | undefined;

  if (current?.Config.Image !== input.toImage) {
    if (current) {
      // The original still holds the name: build its replacement before touching it.
      if (!replacement) {
        const oldImage = await docker.getImage(current.Image).inspect();
        const spec = replacementSpec(current, oldImage, input.toImage, newName, input.labels);
        const created = await docker.createContainer(spec.create);
        for (const net of spec.extraNetworks) await docker.getNetwork(net.name).connect({ Container: created.id, EndpointConfig: net.config });
        replacement = await inspectContainer(docker, created.id);
      }
      await checkpoint('recreate:created');
      await stopContainer(docker, current.Id, input.drainTimeoutSec);
      stoppedAt = Date.now();
      await checkpoint('recreate:after-stop');
      await renameContainer(docker, current.Id, oldName);
      current = undefined;
    }
    if (replacement) {
      await renameContainer(docker, replacement.Id, name);
      current = await inspectContainer(docker, name);
    }
  }
  if (!current || current.Config.Image !== input.toImage) {
    const old = await inspectContainer(docker, oldName);
    throw new Error(
      `cannot recreate "${name}": found ${current ? `it on ${current.Config.Image}` : 'no container of that name'}` +
        `${old ? `, "${oldName}" on ${old.Config.Image}` : ''} and no replacement "${newName}"`,
    );
  }
  await checkpoint('recreate:before-start');
  await startContainer(docker, current.Id);
  return { id: current.Id, stoppedAt, startedAt: Date.now() };
}
