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
