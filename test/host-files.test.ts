// Backups and preflight read bind-mounted files from the host side: the tar must hold what the engine's archive API
// gives (names, types, modes, owners, mtimes, bytes), and anything the worker cannot be sure it sees as the engine
// does must come through the engine instead.
import assert from 'node:assert/strict';
import { chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { extract } from 'tar-stream';
import { readArchive } from '../src/activities/archive';
import { readContainerPath } from '../src/activities/host-files';
import { docker, REGISTRY, tempDir } from './support/services';

interface Entry {
  name: string;
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  linkname: string | null;
  uname: string;
  body: string;
}

async function entries(tar: Buffer | undefined): Promise<Entry[]> {
  assert.ok(tar, 'a tar');
  const out: Entry[] = [];
  const ex = extract();
  const done = new Promise<void>((resolve, reject) => {
    ex.on('entry', (h, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        out.push({
          name: h.name,
          type: h.type ?? 'file',
          mode: (h.mode ?? 0) & 0o7777,
          uid: h.uid ?? -1,
          gid: h.gid ?? -1,
          mtime: h.mtime?.getTime() ?? 0,
          linkname: h.linkname ?? null,
          uname: h.uname ?? '',
          body: Buffer.concat(chunks).toString('base64'),
        });
        next();
      });
    });
    ex.on('finish', resolve);
    ex.on('error', reject);
  });
  ex.end(tar);
  await done;
  return out;
}
/** What a restore depends on: everything but the user names (the engine looks them up, the host side does not). */
const restorable = (es: Entry[]) => es.map(({ uname: _u, ...e }) => e);

/** A fresh engine client each time: the host root is decided once per client, from TYK_UPGRADE_HOST_ROOT. */
function withRoot<T>(root: string | undefined, fn: (d: Docker) => Promise<T>): Promise<T> {
  const was = process.env.TYK_UPGRADE_HOST_ROOT;
  if (root === undefined) delete process.env.TYK_UPGRADE_HOST_ROOT;
  else process.env.TYK_UPGRADE_HOST_ROOT = root;
  return fn(new Docker()).finally(() => {
    if (was === undefined) delete process.env.TYK_UPGRADE_HOST_ROOT;
    else process.env.TYK_UPGRADE_HOST_ROOT = was;
  });
}

describe('container files from the host side', () => {
  const dir = tempDir('host-files');
  let info: ContainerInspectInfo;
  const conf = join(dir, 'gw', 'tyk.conf');
  const paths = ['/opt/tyk-gateway/tyk.conf', '/opt/tyk-gateway/apps', '/opt/tyk-gateway/policies', '/opt/tyk-gateway/middleware'];

  before(async () => {
    for (const d of ['gw/apps/sub', 'gw/policies', 'gw/extra']) mkdirSync(join(dir, d), { recursive: true });
    writeFileSync(conf, '{"listen_port": 8080, "secret": "s3cret"}\n', { mode: 0o640 });
    writeFileSync(join(dir, 'gw/apps/a.json'), '{"api_id": "a"}\n');
    writeFileSync(join(dir, 'gw/apps/sub/b.json'), '{"api_id": "b"}\n', { mode: 0o600 });
    chownSync(join(dir, 'gw/apps/sub/b.json'), 1234, 99);
    symlinkSync('a.json', join(dir, 'gw/apps/link.json'));
    writeFileSync(join(dir, 'gw/policies/p.json'), '{}\n');
    writeFileSync(join(dir, 'gw/extra/m.js'), '// middleware\n');
    const c = await docker.createContainer({
      name: `host-files-${process.pid}`,
      Image: `${REGISTRY}/library/redis:7`,
      Cmd: ['redis-server', '--port', '0', '--save', ''],
      Labels: { 'io.tyk-upgrade.test': 'host-files' },
      HostConfig: {
        NetworkMode: 'none',
        Binds: [
          `${conf}:/opt/tyk-gateway/tyk.conf`,
          `${join(dir, 'gw/apps')}:/opt/tyk-gateway/apps`,
          // A mount inside a mounted folder: the host folder alone does not show it.
          `${join(dir, 'gw/extra')}:/opt/tyk-gateway/apps/extra`,
          `${join(dir, 'gw/policies')}:/opt/tyk-gateway/policies`,
        ],
      },
    });
    await c.start();
    info = await c.inspect();
  });
  after(async () => {
    if (info) await docker.getContainer(info.Id).remove({ force: true });
  });

  it('a bind-mounted file or folder comes from the host, entry for entry as the engine gives it; the rest from the engine', async () => {
    await withRoot(undefined, async (d) => {
      for (const path of paths) {
        const viaEngine = await readArchive(d, info.Id, path);
        const mine = await readContainerPath(d, info, path);
        if (path.endsWith('middleware')) {
          // Not in the container at all: nothing, either way.
          assert.equal(viaEngine, undefined);
          assert.equal(mine, undefined);
          continue;
        }
        assert.deepEqual(restorable(await entries(mine)), restorable(await entries(viaEngine)), path);
        // The engine names the owners it knows (root); the host side leaves names out: which way each path came.
        const fromHost = (await entries(mine)).every((e) => e.uname === '');
        assert.equal(fromHost, path !== '/opt/tyk-gateway/apps', `${path} read from the ${fromHost ? 'host' : 'engine'}`);
      }
      const apps = await entries(await readContainerPath(d, info, paths[1]));
      assert.deepEqual(
        apps.map((e) => [e.name, e.type, e.mode, e.uid, e.gid]),
        [
          ['apps/', 'directory', 0o755, 0, 0],
          ['apps/a.json', 'file', 0o644, 0, 0],
          ['apps/extra/', 'directory', 0o755, 0, 0],
          ['apps/extra/m.js', 'file', 0o644, 0, 0],
          ['apps/link.json', 'symlink', 0o777, 0, 0],
          ['apps/sub/', 'directory', 0o755, 0, 0],
          ['apps/sub/b.json', 'file', 0o600, 1234, 99],
        ],
      );
    });
  });

  it('a host root that is not the engine host (another hostname file there) or "none": every file through the engine', async () => {
    const fake = tempDir('host-files-fake');
    mkdirSync(dirname(join(fake, info.HostnamePath)), { recursive: true });
    writeFileSync(join(fake, info.HostnamePath), 'some-other-machine\n');
    mkdirSync(dirname(join(fake, conf)), { recursive: true });
    writeFileSync(join(fake, conf), '{"not": "the gateway\'s file"}\n');
    for (const root of [fake, 'none']) {
      await withRoot(root, async (d) => {
        const got = await entries(await readContainerPath(d, info, paths[0]));
        assert.equal(got.length, 1);
        assert.equal(Buffer.from(got[0].body, 'base64').toString(), '{"listen_port": 8080, "secret": "s3cret"}\n', root);
        assert.equal(got[0].uname, 'root', `${root}: through the engine`);
      });
    }
  });
});
