// Images of the real Tyk builds, laid out like the official ones but FROM scratch: the binary and the package's
// files under the install folder, the shared libraries `ldd` lists at their paths, and the official image's WORKDIR,
// ENTRYPOINT, CMD, USER, ENV and labels (catalog.ts). A hash label over everything that goes in lets a warm run only
// check; a tag is pushed only when the registry does not already point at the local image.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, cp, mkdir, mkdtemp, readdir, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import type { BuiltTyk } from './binary';
import { LAYOUT, localImage, officialFacts, officialImage, type RealTykRef } from './catalog';
import { sha256File } from './source';

const run = promisify(execFile);
export const HASH_LABEL = 'tyk-upgrade.real-hash';
/** Bump when the image recipe changes in a way the hashed inputs do not show. */
const RECIPE = 'tyk-real-image/1';

/** `docker ARGS`, its stdout; the error names the command and ends with what docker said. */
async function docker(args: string[], env: NodeJS.ProcessEnv = {}): Promise<string> {
  try {
    const { stdout } = await run('docker', args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; stdout?: string; message: string };
    const said = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-20).join('\n');
    throw new Error(`docker ${args.slice(0, 2).join(' ')} failed: ${said || e.message}`);
  }
}

async function imageField(image: string, format: string): Promise<string> {
  return docker(['image', 'inspect', '-f', format, image]).then(
    (s) => s.trim(),
    () => '',
  );
}

/** The shared libraries a binary loads, as `ldd` lists them (none for a static binary). */
export async function sharedLibraries(binary: string): Promise<string[]> {
  const out = await run('ldd', [binary]).then(
    (r) => r.stdout,
    (err: { stdout?: string; stderr?: string }) => {
      if (/not a dynamic executable/.test(`${err.stdout}${err.stderr}`)) return '';
      throw new Error(`ldd ${binary}: ${err.stderr ?? err}`);
    },
  );
  const libs: string[] = [];
  for (const line of out.split('\n')) {
    const m = /^\s*(\S+)(?:\s+=>\s+(\S+))?/.exec(line);
    if (!m) continue;
    if (m[2] === 'not') throw new Error(`ldd ${binary}: ${m[1]} not found`);
    const path = m[2] ?? m[1];
    if (path.startsWith('/')) libs.push(path);
  }
  return libs;
}

function dockerfile(built: BuiltTyk, hash: string): string {
  const { ref } = built;
  const layout = LAYOUT[ref.component];
  const facts = officialFacts(ref, built.commit, built.date);
  const labels = { ...facts.labels, [HASH_LABEL]: hash };
  const q = (s: string) => JSON.stringify(s);
  return [
    `# Real Tyk ${ref.component} ${ref.version} from its source archive, laid out like the official image (${facts.base}).`,
    'FROM scratch',
    'COPY system/ /',
    `COPY ${facts.owner ? `--chown=${facts.owner} ` : ''}opt/ /opt/`,
    ...Object.entries(facts.env).map(([k, v]) => `ENV ${k}=${q(v)}`),
    `WORKDIR ${layout.dir}`,
    facts.expose.length ? `EXPOSE ${facts.expose.join(' ')}` : '',
    facts.user ? `USER ${facts.user}` : '',
    `LABEL ${Object.entries(labels)
      .map(([k, v]) => `${k}=${q(v)}`)
      .join(' \\\n      ')}`,
    `ENTRYPOINT [${q(`${layout.dir}/${layout.binary}`)}]`,
    `CMD [${q(`--conf=${layout.dir}/${layout.conf}`)}]`,
    '',
  ]
    .filter((l) => l !== '')
    .join('\n');
}

/** Fixed mtimes, so a rebuild of unchanged content yields the same layers. */
async function normaliseTimes(dir: string): Promise<void> {
  const when = new Date('2000-01-01T00:00:00Z');
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) await normaliseTimes(p);
    if (!e.isSymbolicLink()) await utimes(p, when, when);
  }
  await utimes(dir, when, when);
}

async function registryConfigDigest(image: string): Promise<string> {
  const m = /^([^/]+)\/(.+):([^:]+)$/.exec(image);
  if (!m) return '';
  const res = await fetch(`http://${m[1]}/v2/${m[2]}/manifests/${m[3]}`, {
    headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    signal: AbortSignal.timeout(10_000),
  }).catch(() => undefined);
  if (!res?.ok) return '';
  const body = (await res.json().catch(() => ({}))) as { config?: { digest?: string } };
  return body.config?.digest ?? '';
}

export interface ImageResult {
  image: string;
  built: boolean;
  pushed: boolean;
  sizeBytes: number;
}

async function pushIfNeeded(image: string): Promise<boolean> {
  if ((await registryConfigDigest(image)) === (await imageField(image, '{{.Id}}'))) return false;
  await docker(['push', image]);
  return true;
}

/** The local-registry image of a real build: built when its hash label is not the one wanted, pushed when needed. */
export async function ensureImage(built: BuiltTyk, log: (line: string) => void): Promise<ImageResult> {
  const image = localImage(built.ref);
  const libs = await sharedLibraries(built.binary);
  const libHashes = await Promise.all(libs.map(async (l) => `${l} ${await sha256File(l)}`));
  const certs = '/etc/ssl/certs/ca-certificates.crt';
  const withCerts = existsSync(certs);
  const hashInput = [RECIPE, built.archiveSha256, built.binarySha256, ...libHashes, withCerts ? await sha256File(certs) : '', dockerfile(built, '')];
  const hash = createHash('sha256').update(hashInput.join('\n')).digest('hex');
  let didBuild = false;
  if ((await imageField(image, `{{index .Config.Labels "${HASH_LABEL}"}}`)) !== hash) {
    const started = Date.now();
    log(`building ${image}`);
    const ctx = await mkdtemp(join(tmpdir(), 'tyk-real-image-'));
    try {
      await cp(join(built.rootfs, 'opt'), join(ctx, 'opt'), { recursive: true, preserveTimestamps: true });
      for (const lib of libs) {
        const dest = join(ctx, 'system', lib);
        await mkdir(dirname(dest), { recursive: true });
        await cp(lib, dest, { dereference: true });
      }
      // Distroless and Debian slim both have a sticky /tmp and the CA bundle.
      await mkdir(join(ctx, 'system', 'tmp'), { recursive: true });
      await chmod(join(ctx, 'system', 'tmp'), 0o1777);
      if (withCerts) {
        await mkdir(join(ctx, 'system', dirname(certs)), { recursive: true });
        await cp(certs, join(ctx, 'system', certs), { dereference: true });
      }
      await writeFile(join(ctx, 'Dockerfile'), dockerfile(built, hash));
      await normaliseTimes(ctx);
      const old = await imageField(image, '{{.Id}}');
      await docker(['build', '--force-rm', '-t', image, ctx], { DOCKER_BUILDKIT: '0' });
      const now = await imageField(image, '{{.Id}}');
      if (old && old !== now) await docker(['rmi', old]).catch(() => undefined);
      log(`built ${image} in ${Math.round((Date.now() - started) / 1000)} s`);
      didBuild = true;
    } finally {
      await rm(ctx, { recursive: true, force: true });
    }
  }
  const pushed = await pushIfNeeded(image);
  if (pushed) log(`pushed ${image}`);
  return { image, built: didBuild, pushed, sizeBytes: Number(await imageField(image, '{{.Size}}')) };
}

/** Without archives: the official image, pulled (needs internet) and pushed under our local name. */
export async function ensurePulled(ref: RealTykRef, log: (line: string) => void): Promise<ImageResult> {
  const official = officialImage(ref);
  const image = localImage(ref);
  log(`pulling ${official}`);
  await docker(['pull', official]);
  await docker(['tag', official, image]);
  const pushed = await pushIfNeeded(image);
  if (pushed) log(`pushed ${image}`);
  return { image, built: false, pushed, sizeBytes: Number(await imageField(image, '{{.Size}}')) };
}

/** Is `image` in the registry already (any build of it)? */
export async function inRegistry(image: string): Promise<boolean> {
  return (await registryConfigDigest(image)) !== '';
}
