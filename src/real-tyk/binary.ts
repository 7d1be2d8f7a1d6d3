// The real `tyk` / `tyk-pump` binaries, built once with `go build` from Tyk's source archive the way Tyk's release
// builds them (goreleaser's flags and -X ldflags, so /hello and the logs say 5.8.10), and cached by the archive's
// sha256 beside the Temporal binaries: a changed archive is a new build, the same archive never builds twice.
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { elapsed, findGo, goRun } from '../devserver/go-install';
import { cacheRoot } from '../devserver/temporal-cli';
import { LAYOUT, refName, type RealTykRef } from './catalog';
import { copyContents, findArchive, readRecipe, sha256File, unpack } from './source';

export interface BuiltTyk {
  ref: RealTykRef;
  /** A root file system: the install folder with the binary and the package's files, as the official image has it. */
  rootfs: string;
  binary: string;
  archiveSha256: string;
  binarySha256: string;
  commit: string;
  date: string;
  ldflags: string;
}

function buildDir(ref: RealTykRef, archiveSha: string): string {
  return join(cacheRoot(), 'tyk-real', `tyk-${ref.component}-v${ref.version}-${archiveSha.slice(0, 16)}`);
}

/** The cached build of `ref` from the archive in `srcDir`, building it first when there is none. */
export async function ensureBinary(ref: RealTykRef, srcDir: string, log: (line: string) => void): Promise<BuiltTyk> {
  const archive = await findArchive(srcDir, ref);
  const dir = buildDir(ref, archive.sha256);
  const manifest = join(dir, 'build.json');
  if (existsSync(manifest)) return JSON.parse(await readFile(manifest, 'utf8')) as BuiltTyk;

  const go = findGo();
  if (!go) throw new Error(`Go is needed to build real Tyk ${refName(ref)} from its source; install it (https://go.dev/dl) or put it on PATH`);
  await mkdir(join(cacheRoot(), 'tyk-real'), { recursive: true });
  // Build in a private folder and rename it into place: two runs at once cannot leave a half-made build.
  const tmp = await mkdtemp(join(cacheRoot(), 'tyk-real', 'build-'));
  const label = `Tyk ${ref.component} v${ref.version}`;
  const started = Date.now();
  try {
    const src = await unpack(archive, join(tmp, 'src'));
    const recipe = await readRecipe(src, ref, archive);
    const layout = LAYOUT[ref.component];
    const rootfs = join(tmp, 'rootfs');
    const binary = join(rootfs, layout.dir, layout.binary);
    log(`${label}: go build from ${archive.path} (once, cached by its sha256 in ${dir})`);
    await goRun(go, {
      label,
      args: ['build', ...recipe.flags, '-ldflags', recipe.ldflags, '-o', binary, '.'],
      cwd: src,
      // The module's own go.mod decides nothing here: no toolchain download, the local Go builds it.
      env: { ...recipe.env, CGO_ENABLED: layout.cgo ? '1' : '0', GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly' },
      log,
    });
    await copyContents(src, recipe.contents, rootfs);
    // The package's post-install script: the config file is not world-readable.
    const conf = join(rootfs, layout.dir, layout.conf);
    if (existsSync(conf)) await chmod(conf, 0o660);
    await rm(src, { recursive: true, force: true });
    const finalRootfs = join(dir, 'rootfs');
    const built: BuiltTyk = {
      ref,
      rootfs: finalRootfs,
      binary: join(finalRootfs, layout.dir, layout.binary),
      archiveSha256: archive.sha256,
      binarySha256: await sha256File(binary),
      commit: archive.commit,
      date: archive.date,
      ldflags: recipe.ldflags,
    };
    await writeFile(join(tmp, 'build.json'), `${JSON.stringify(built, null, 2)}\n`);
    if (existsSync(manifest)) return built; // another run finished the same build first
    await rm(dir, { recursive: true, force: true });
    await rename(tmp, dir);
    log(`${label}: ready in ${elapsed(Date.now() - started)}`);
    return built;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}
