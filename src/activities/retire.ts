// After the new containers are accepted, the old ones go, or stay under a name that says what they were.
// An old container made by compose is kept as a copy without compose's labels: with them, the next
// `docker compose up` counts it as a second container of the service. Compose v1 then removes the newer one
// (ours, the upgraded one) as a duplicate and starts or recreates the old; v2 removes the old one as one
// container too many (docs/compose.md).
import type Docker from 'dockerode';
import { oldContainerName, retiredContainerName } from '../shared/names';
import { splitImage } from '../shared/version';
import { replacementSpec } from './container-spec';
import { inspectContainer, renameContainer } from './docker-util';
import { mapInOrder, PER_HOST_PARALLEL } from './parallel';

export interface RetireInput {
  container: string;
  fromImage: string;
  keep: boolean;
}

const COPY_OF = 'io.tyk-upgrade.copy-of';
const KEPT_FROM = 'io.tyk-upgrade.kept-from-compose';

export async function retireOldContainer(docker: Docker, input: RetireInput): Promise<string> {
  const old = await inspectContainer(docker, oldContainerName(input.container));
  if (!old) return 'nothing to retire';
  if (!input.keep) {
    // v: false — anonymous volumes are shared with the new container and must survive.
    await docker.getContainer(old.Id).remove({ v: false, force: false });
    return `removed ${oldContainerName(input.container)}`;
  }
  const labels = old.Config.Labels ?? {};
  const project = labels['com.docker.compose.project'];
  // A retry after the copy was made finds it by the old container's id.
  const copied = project ? (await docker.listContainers({ all: true, filters: { label: [`${COPY_OF}=${old.Id}`] } }))[0] : undefined;
  const base = retiredContainerName(input.container, splitImage(input.fromImage).tag || 'old');
  let name = copied ? (copied.Names[0] ?? '').replace(/^\//, '') : base;
  for (let i = 2; !copied && (await inspectContainer(docker, name)); i++) name = `${base}-${i}`;
  if (!project) {
    await renameContainer(docker, old.Id, name);
    return `kept as ${name}`;
  }
  if (!copied) {
    const spec = replacementSpec(old, await docker.getImage(old.Image).inspect(), old.Config.Image, name);
    const kept = Object.entries(spec.create.Labels ?? {}).filter(([k]) => !k.startsWith('com.docker.compose.'));
    spec.create.Labels = { ...Object.fromEntries(kept), [COPY_OF]: old.Id, [KEPT_FROM]: `${project}/${labels['com.docker.compose.service'] ?? ''}` };
    const created = await docker.createContainer(spec.create);
    for (const net of spec.extraNetworks) await docker.getNetwork(net.name).connect({ Container: created.id, EndpointConfig: net.config });
  }
  await docker.getContainer(old.Id).remove({ v: false, force: false });
  return `kept as ${name} (a stopped copy without compose's labels, so \`docker compose up\` leaves it and the upgraded container alone)`;
}

/** Every old container of one host, each on its own: one that cannot go is a warning, never a rollback. */
export async function retireOldContainers(
  docker: Docker,
  input: { containers: { container: string; fromImage: string }[]; keep: boolean },
): Promise<{ done: string[]; warnings: string[] }> {
  const results = await mapInOrder(input.containers, PER_HOST_PARALLEL, (c) =>
    retireOldContainer(docker, { ...c, keep: input.keep }).then(
      (done) => ({ done: `${c.container}: ${done}` }),
      (err: Error) => ({ warning: `old container of ${c.container} not ${input.keep ? 'renamed' : 'removed'}: ${err.message}` }),
    ),
  );
  return { done: results.flatMap((r) => ('done' in r ? [r.done] : [])), warnings: results.flatMap((r) => ('warning' in r ? [r.warning] : [])) };
}
