// The real-Tyk rig step (rig/tyk-real.sh → src/real-tyk/rig.ts): where the images come from, what they are, and how
// it fails. The builds themselves are the rig's (cold: minutes); here only what must hold once they are there.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { localImage, REAL_TYK_BUILDS } from '../src/real-tyk/catalog';
import { HASH_LABEL } from '../src/real-tyk/image';
import { docker, tempDir } from './support/services';

const RIG = join(__dirname, '..', 'src', 'real-tyk', 'rig.js');

function rig(args: string[], env: Record<string, string | undefined>) {
  const merged: NodeJS.ProcessEnv = { ...process.env, ...env };
  for (const [k, v] of Object.entries(env)) if (v === undefined) delete merged[k];
  const r = spawnSync(process.execPath, [RIG, ...args], { env: merged, encoding: 'utf8', timeout: 600_000 });
  return { code: r.status, stderr: r.stderr };
}

describe('real Tyk rig step', () => {
  it('in CI without TYK_SRC_DIR it fails and says where the archives go; it does not pull', () => {
    const r = rig([], { CI: 'true', TYK_SRC_DIR: undefined });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /TYK_SRC_DIR is not set: in CI the real Tyk images are built from Tyk's source archives/);
    assert.match(r.stderr, /\.\.\/shared\/tyk-src/);
    assert.doesNotMatch(r.stderr, /pulling/);
  });

  it('refuses a build it does not know, by name', () => {
    const r = rig(['gateway:v9.9.9'], { TYK_SRC_DIR: tempDir('tyk-src-empty') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /unknown real Tyk build "gateway:v9\.9\.9": expected one of gateway:v5\.2\.0, .*pump:v1\.12\.2/);
  });

  it('a folder without the archive fails and names the file', () => {
    const r = rig(['pump:v1.9.0'], { TYK_SRC_DIR: tempDir('tyk-src-empty') });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /pump:v1\.9\.0: tyk-pump-v1\.9\.0\.tar\.gz is not in TYK_SRC_DIR/);
  });

  it('an archive that does not match SHA256SUMS is refused before anything is built', () => {
    const dir = tempDir('tyk-src-bad');
    writeFileSync(join(dir, 'tyk-pump-v1.9.0.tar.gz'), 'not the archive');
    writeFileSync(join(dir, 'SHA256SUMS'), `${'0'.repeat(64)}  tyk-pump-v1.9.0.tar.gz\n`);
    const r = rig(['pump:v1.9.0'], { TYK_SRC_DIR: dir });
    assert.equal(r.code, 1);
    assert.match(r.stderr, /does not match its hash in .*SHA256SUMS .*: the archive is damaged or replaced/);
  });

  it('warm: a second run builds nothing, and each image is laid out like the official one and reports its version', async () => {
    const started = Date.now();
    const r = rig([], {});
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /real Tyk ready in \S+ \(built 0, pushed 0\)/);
    assert.ok(Date.now() - started < 60_000, `a warm run only checks (took ${Date.now() - started} ms)`);
    for (const ref of REAL_TYK_BUILDS) {
      const image = localImage(ref);
      assert.match(image, /\/tyk-real\/tyk-(gateway|pump):v/, 'a repository of its own');
      const c = (await docker.getImage(image).inspect()).Config;
      const dir = ref.component === 'gateway' ? '/opt/tyk-gateway' : '/opt/tyk-pump';
      const bin = ref.component === 'gateway' ? 'tyk' : 'tyk-pump';
      const conf = ref.component === 'gateway' ? 'tyk.conf' : 'pump.conf';
      assert.equal(c.WorkingDir, dir);
      assert.deepEqual(c.Entrypoint, [`${dir}/${bin}`]);
      assert.deepEqual(c.Cmd, [`--conf=${dir}/${conf}`]);
      // Built from the archives when they are given; pulled official images carry Tyk's labels only.
      if (process.env.TYK_SRC_DIR) assert.match(c.Labels[HASH_LABEL] ?? '', /^[0-9a-f]{64}$/, 'built here from TYK_SRC_DIR');
      const out = spawnSync('docker', ['run', '--rm', '--network', 'none', '--entrypoint', `${dir}/${bin}`, image, '--version'], { encoding: 'utf8' });
      assert.equal(`${out.stdout}${out.stderr}`.trim(), ref.version, `${image} --version: stamped like Tyk's release build`);
    }
  });
});
