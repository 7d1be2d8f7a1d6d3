// After the new containers are accepted, the old ones go, or stay under a name that says what they were.
import type Docker from 'dockerode';
import { oldContainerName, retiredContainerName } from '../shared/names';
import { splitImage } from '../shared/version';
import { inspectContainer, renameContainer } from './docker-util';

export interface RetireInput {
  container: string;
  fromImage: string;
  keep: boolean;
}

export async function retireOldContainer(docker: Docker, input: RetireInput): Promise<string> {
  const old = await inspectContainer(docker, oldContainerName(input.container));
  if (!old) return 'nothing to retire';
  if (!input.keep) {
    // v: false — anonymous volumes are shared with the new container and must survive.
    await docker.getContainer(old.Id).remove({ v: false, force: false });
    return `removed ${oldContainerName(input.container)}`;
  }
  const base = retiredContainerName(input.container, splitImage(input.fromImage).tag || 'old');
  let name = base;
  for (let i = 2; await inspectContainer(docker, name); i++) name = `${base}-${i}`;
  await renameContainer(docker, old.Id, name);
  return `kept as ${name}`;
}

/** Every old container of one host, each on its own: one that cannot go is a warning, never a rollback. */
export async function retireOldContainers(
  docker: Docker,
  input: { containers: { container: string; fromImage: string }[]; keep: boolean },
): Promise<{ done: string[]; warnings: string[] }> {
  const done: string[] = [];
  const warnings: string[] = [];
  for (const c of input.containers) {
    try {
      done.push(`${c.container}: ${await retireOldContainer(docker, { ...c, keep: input.keep })}`);
    } catch (err) {
      warnings.push(`old container of ${c.container} not ${input.keep ? 'renamed' : 'removed'}: ${(err as Error).message}`);
    }
  }
  return { done, warnings };
}
