// The worker image users build (deploy/worker-image.sh on deploy/worker.Dockerfile), built here with --host-node
// (FROM scratch with this machine's node: no base image can be pulled here) from the packed package, and pushed
// to the local registry, so each simulated host's engine pulls it the way a real host pulls from a team's
// registry. Built once per package content (a label carries the tarball's sha256).
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packedPackage, REPO, userEnv, VERSION } from './package';
import { docker, REGISTRY } from './services';

const run = promisify(execFile);

export async function workerImage(): Promise<string> {
  const tgz = await packedPackage();
  const sha = createHash('sha256').update(readFileSync(tgz)).digest('hex');
  const tag = `${REGISTRY}/tyk-upgrade/worker:${VERSION}-${sha.slice(0, 12)}`;
  const built = await docker
    .getImage(tag)
    .inspect()
    .then((i) => i.Config.Labels?.['tyk-upgrade.package-sha256'] === sha)
    .catch(() => false);
  if (!built) {
    await run('bash', [join(REPO, 'deploy', 'worker-image.sh'), '--package', tgz, '--host-node', '-t', tag], { env: userEnv(), maxBuffer: 16 << 20 });
    // Images of earlier package contents are of no more use here once a day old (a newer one may be another
    // checkout's, in use right now); their layers go with them.
    const dayAgo = Date.now() / 1000 - 24 * 3600;
    for (const old of await docker.listImages({ filters: { reference: [`${REGISTRY}/tyk-upgrade/worker`] } })) {
      if (!old.RepoTags?.includes(tag) && old.Created < dayAgo)
        await docker
          .getImage(old.Id)
          .remove({ force: true })
          .catch(() => undefined);
    }
  }
  await run('docker', ['push', tag], { maxBuffer: 16 << 20 });
  return tag;
}
