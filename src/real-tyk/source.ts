// Tyk's source archives (a folder like ../shared/tyk-src: `git archive` tarballs of each release tag and SHA256SUMS)
// and what the tag's own release config says about building and packaging it: the goreleaser build (flags and the
// -X ldflags that stamp the version) and the nfpm package contents (the files the official image has beside the
// binary, since the images are made from that package).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, existsSync } from 'node:fs';
import { cp, mkdir, readdir, readFile } from 'node:fs/promises';
import { basename, dirname, join, relative } from 'node:path';
import { createGunzip } from 'node:zlib';
import { parse } from 'yaml';
import { archiveName, LAYOUT, type RealTykRef } from './catalog';

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export interface Archive {
  path: string;
  sha256: string;
  /** The commit `git archive` recorded in the tarball's pax header. */
  commit: string;
  /** The commit time (every entry's mtime), RFC 3339: used as the build date so a rebuild stamps the same one. */
  date: string;
}

/** The archive of `ref` in `srcDir`, checked against SHA256SUMS; a clear error when it is missing or altered. */
export async function findArchive(srcDir: string, ref: RealTykRef): Promise<Archive> {
  const path = join(srcDir, archiveName(ref));
  if (!existsSync(path)) throw new Error(`${archiveName(ref)} is not in TYK_SRC_DIR (${srcDir}); that folder must hold the Tyk source archives and SHA256SUMS`);
  const sha256 = await sha256File(path);
  const sums = join(srcDir, 'SHA256SUMS');
  if (existsSync(sums)) {
    const line = (await readFile(sums, 'utf8')).split('\n').find((l) => l.trim().endsWith(` ${archiveName(ref)}`) || l.trim().endsWith(`*${archiveName(ref)}`));
    if (!line) throw new Error(`${sums} has no line for ${archiveName(ref)}`);
    if (line.trim().split(/\s+/)[0] !== sha256)
      throw new Error(`${path} does not match its hash in ${sums} (got ${sha256}): the archive is damaged or replaced`);
  }
  return { path, sha256, ...(await tarballOrigin(path)) };
}

/** Reads the first blocks of the gzip'd tar: the pax global header (`comment=<commit>`) and the first entry's mtime. */
async function tarballOrigin(path: string): Promise<{ commit: string; date: string }> {
  const head = await new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const input = createReadStream(path);
    const gunzip = createGunzip();
    gunzip.on('data', (d: Buffer) => {
      chunks.push(d);
      size += d.length;
      if (size >= 4096) {
        input.destroy();
        gunzip.destroy();
        resolve(Buffer.concat(chunks));
      }
    });
    gunzip.on('end', () => resolve(Buffer.concat(chunks)));
    gunzip.on('error', reject);
    input.on('error', reject);
    input.pipe(gunzip);
  });
  const field = (off: number, len: number) =>
    head
      .toString('latin1', off, off + len)
      .replace(/\0.*$/s, '')
      .trim();
  let offset = 0;
  let commit = '';
  if (field(156, 1) === 'g') {
    const size = Number.parseInt(field(124, 12), 8);
    commit = /comment=([0-9a-f]{40})/.exec(head.toString('latin1', 512, 512 + size))?.[1] ?? '';
    offset = 512 + Math.ceil(size / 512) * 512;
  }
  const mtime = Number.parseInt(field(offset + 136, 12), 8);
  if (!commit || !Number.isFinite(mtime)) throw new Error(`${path} is not a \`git archive\` tarball (no commit id in its header)`);
  return { commit, date: new Date(mtime * 1000).toISOString().replace(/\.\d+Z$/, 'Z') };
}

/** Unpacks the archive into `into`; returns the source folder (the archive's one top folder). */
export async function unpack(archive: Archive, into: string): Promise<string> {
  await mkdir(into, { recursive: true });
  await new Promise<void>((resolve, reject) => {
    const tar = spawn('tar', ['-xzf', archive.path, '-C', into], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    tar.stderr.on('data', (d) => (err += d));
    tar.once('error', reject);
    tar.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`tar -xzf ${archive.path}: ${err.trim() || `exit ${code}`}`))));
  });
  const top = await readdir(into);
  if (top.length !== 1) throw new Error(`${archive.path} should unpack into one folder, found ${top.join(', ')}`);
  return join(into, top[0]);
}

export interface BuildRecipe {
  /** `go build` flags from goreleaser (e.g. -trimpath, -tags=goplugin). */
  flags: string[];
  ldflags: string;
  env: Record<string, string>;
  /** nfpm contents below the install folder: a source glob or file, and where it goes in the image. */
  contents: { src: string; dst: string }[];
}

interface GoreleaserBuild {
  id: string;
  goarch?: string[];
  flags?: string[];
  ldflags?: string[] | string;
  env?: string[];
}
interface NfpmConfig {
  package_name: string;
  ids?: string[];
  builds?: string[];
  contents?: { src: string; dst: string; type?: string }[];
}

const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', s390x: 's390x' };

/** The open-source package's build for this machine's architecture, with goreleaser's templates filled in. */
export async function readRecipe(srcTree: string, ref: RealTykRef, archive: Archive): Promise<BuildRecipe> {
  const file = join(srcTree, 'ci', 'goreleaser', 'goreleaser.yml');
  const config = parse(await readFile(file, 'utf8')) as { builds: GoreleaserBuild[]; nfpms: NfpmConfig[] };
  const pkg = config.nfpms.find((n) => n.package_name === `tyk-${ref.component}`);
  if (!pkg) throw new Error(`${file}: no nfpm package tyk-${ref.component}`);
  const ids = pkg.ids ?? pkg.builds ?? [];
  const arch = GOARCH[process.arch] ?? process.arch;
  const build = config.builds.find((b) => ids.includes(b.id) && (b.goarch ?? []).includes(arch));
  if (!build) throw new Error(`${file}: no build of tyk-${ref.component} for ${arch}`);
  const fill = (s: string) =>
    s
      .replaceAll(/\{\{\s*\.Version\s*\}\}/g, ref.version)
      .replaceAll(/\{\{\s*\.FullCommit\s*\}\}/g, archive.commit)
      .replaceAll(/\{\{\s*\.Date\s*\}\}/g, archive.date);
  const ldflags = (Array.isArray(build.ldflags) ? build.ldflags : [build.ldflags ?? '']).map(fill).join(' ').trim();
  // CC names a cross compiler for the other architectures and NOP is a placeholder; the native gcc builds ours.
  const env = Object.fromEntries((build.env ?? []).map((e) => e.split(/=(.*)/s, 2) as [string, string]).filter(([k]) => k !== 'CC' && k !== 'NOP'));
  const dir = LAYOUT[ref.component].dir;
  const contents = (pkg.contents ?? []).filter((c) => (c.type ?? '').split('|')[0] !== 'symlink' && (c.dst === dir || c.dst.startsWith(`${dir}/`)));
  return { flags: build.flags ?? [], ldflags, env, contents: contents.map(({ src, dst }) => ({ src, dst })) };
}

/**
 * Copies the package contents into `rootfs` as nfpm lays them out: a file to its dst; a glob (only `*` in its last
 * part, as Tyk's configs use) puts each match under dst, a matched folder with everything in it.
 */
export async function copyContents(srcTree: string, contents: BuildRecipe['contents'], rootfs: string): Promise<void> {
  for (const { src, dst } of contents) {
    const target = join(rootfs, dst);
    if (!src.includes('*')) {
      await mkdir(dirname(target), { recursive: true });
      await cp(join(srcTree, src), target, { recursive: true });
      continue;
    }
    const dir = join(srcTree, dirname(src));
    const re = new RegExp(
      `^${basename(src)
        .replace(/[.+?^${}()|[\]\\]/g, '\\$&')
        .replaceAll('*', '.*')}$`,
    );
    const matches = existsSync(dir) ? (await readdir(dir)).filter((n) => re.test(n)).sort() : [];
    if (!matches.length) throw new Error(`package contents: nothing matches ${src} in ${relative(process.cwd(), srcTree) || srcTree}`);
    await mkdir(target, { recursive: true });
    for (const name of matches) await cp(join(dir, name), join(target, name), { recursive: true });
  }
}
