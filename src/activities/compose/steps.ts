// The compose side of an upgrade, one host at a time: preflight (which files change, which cannot, what refuses
// the plan), the dry run's diffs, the backup of the files, the labels the recreated containers get, the edit once
// the services run their target, and the restore on a rollback. Each step works from the files as they were
// before the upgrade (the backup), so a retry computes the same bytes, and never writes over a file someone
// else changed meanwhile.
import { mkdir, mkdtemp, readFile, rm, writeFile, chmod } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import type Docker from 'dockerode';
import type { ComposeFileStatus, ComposeMode, ComposeRef, InstancePlan } from '../../shared/types';
import { inspectContainer, nameOf } from '../docker-util';
import { composeFor, configHashes, resolvedImages, type ComposeBinary, type ProjectArgs } from './binary';
import { notWritable, replaceFile } from './files';
import { byProject, composeRefOf, diffOf, LABEL, projectEdits, readFromDisk, sha256, type FileReader, type Member, type ProjectEdits } from './project';

/** A project file as the backup keeps it. */
export interface ComposeBackupEntry {
  path: string;
  copy: string;
  sha256: string;
}

export interface ComposeFindings {
  warnings: string[];
  /** Reasons the plan cannot go ahead as it is (a shared version some service does not move with). */
  problems: string[];
  projects: { edits: ProjectEdits; members: Member[] }[];
}

const UPGRADE_LEFTOVER = /-tyk-upgrade-(old|new|failed)$/;

/** Today's advice for a container whose file is not changed (warn mode, or the reason it cannot be). */
function adviceFor(container: string, ref: { project: string; service: string; configFiles?: string[] }, toImage: string, why?: string): string {
  return (
    `${container} belongs to compose project "${ref.project}" (service "${ref.service}"${ref.configFiles?.length ? `, ${ref.configFiles.join(',')}` : ''}): ` +
    `set its image to ${toImage} there too, or the next \`docker compose up\` that recreates it brings the old version back` +
    (why ? ` (not changed by the upgrade: ${why})` : '')
  );
}

/**
 * Preflight's part, on the instances it found: those whose file the upgrade edits get `compose` set; the others
 * (warn mode, or a version that cannot be traced to one writable place) keep the advice to change it by hand.
 */
export async function composePreflight(docker: Docker, mode: ComposeMode | undefined, instances: InstancePlan[]): Promise<ComposeFindings> {
  const found: ComposeFindings = { warnings: [], problems: [], projects: [] };
  if (mode === 'ignore') return found;
  const members: Member[] = [];
  for (const p of instances) {
    const info = await inspectContainer(docker, p.containerId);
    const labels = info?.Config.Labels ?? {};
    if (!labels[LABEL.project]) continue;
    const ref = composeRefOf(labels);
    const name = info ? nameOf(info) : p.container;
    const service = labels[LABEL.service] ?? name;
    if (mode === 'warn' || !ref) {
      const files = labels[LABEL.configFiles];
      found.warnings.push(
        adviceFor(
          name,
          { project: labels[LABEL.project], service, configFiles: files ? [files] : [] },
          p.toImage,
          ref ? undefined : 'its labels do not name the project folder',
        ),
      );
      continue;
    }
    members.push({ container: p.container, role: p.role, fromImage: p.fromImage, toImage: p.toImage, ref });
  }
  for (const group of byProject(members)) {
    const edits = await projectEdits(group, readFromDisk);
    found.problems.push(...edits.problems, ...(await replicasLeftOut(docker, group, instances)));
    const notEdited = new Map(edits.untraced.map((u) => [u.service, u.why]));
    for (const c of edits.changes) {
      const why = await notWritable(c.path);
      if (why) for (const s of c.services) notEdited.set(s, why);
    }
    for (const m of group) {
      const why = notEdited.get(m.ref.service) ?? (edits.changes.some((c) => c.services.includes(m.ref.service)) ? undefined : 'no edit found');
      if (why) found.warnings.push(adviceFor(m.container, m.ref, m.toImage, why));
      else (instances.find((p) => p.container === m.container) as InstancePlan).compose = m.ref;
    }
    found.projects.push({ edits, members: group });
  }
  return found;
}

/** A service's image line names all its containers: each of them must be in the plan. */
async function replicasLeftOut(docker: Docker, group: Member[], instances: InstancePlan[]): Promise<string[]> {
  const problems: string[] = [];
  for (const service of new Set(group.map((m) => m.ref.service))) {
    const { project } = group[0].ref;
    const list = await docker.listContainers({
      all: true,
      filters: { label: [`${LABEL.project}=${project}`, `${LABEL.service}=${service}`, `${LABEL.oneoff}=False`] },
    });
    const names = list.map((c) => (c.Names[0] ?? '').replace(/^\//, '')).filter((n) => n && !UPGRADE_LEFTOVER.test(n));
    const left = names.filter((n) => !instances.some((p) => p.container === n));
    if (left.length) {
      problems.push(
        `service "${service}" of compose project "${project}" has ${names.length} containers (${names.join(', ')}) and the plan upgrades only ${names.filter((n) => !left.includes(n)).join(', ')}: ` +
          `its image line names them all, so add ${left.join(', ')} to the plan (or remove ${left.length === 1 ? 'it' : 'them'} if ${left.length === 1 ? 'it is' : 'they are'} a leftover)`,
      );
    }
  }
  return problems;
}

/** The dry run's view of each file that will change: its diff, and whether this host's compose agrees. */
export async function composeDryRun(findings: ComposeFindings): Promise<{ files: Omit<ComposeFileStatus, 'state'>[]; notes: string[] }> {
  const files: Omit<ComposeFileStatus, 'state'>[] = [];
  const notes: string[] = [];
  for (const { edits, members } of findings.projects) {
    if (!edits.changes.length) continue;
    const binary = await composeFor(edits.madeBy);
    let verdict = '';
    if (!binary) verdict = noCompose(edits);
    else {
      try {
        const images = await withEdited(edits, (args) => resolvedImages(binary, args));
        const wrong = members.filter((m) => edits.changes.some((c) => c.services.includes(m.ref.service)) && images[m.ref.service] !== m.toImage);
        verdict = wrong.length
          ? `compose ${binary.version} resolves ${wrong.map((m) => `"${m.ref.service}" to ${images[m.ref.service]}`).join(', ')} after the edit, not the target: the files will be left alone`
          : `compose ${binary.version} resolves ${members.map((m) => `"${m.ref.service}" to ${m.toImage}`).join(', ')} after the edit`;
      } catch (err) {
        verdict = (err as Error).message;
      }
    }
    notes.push(`compose project "${edits.project}" (${edits.workingDir}): ${verdict}`);
    for (const c of edits.changes) {
      const why = await notWritable(c.path);
      files.push({ ...statusOf(edits, c), ...(why ? { detail: `left as it is: ${why}` } : {}) });
      const roles = new Set(members.filter((m) => c.services.includes(m.ref.service)).map((m) => m.role));
      if (roles.has('gateway') && roles.has('pump')) {
        // Its gateways' containers carry the new file's labels from their recreate on: the old file no longer matches them.
        notes.push(
          `${c.label} names gateways and the pump, so it is edited after the pump stage: until then (e.g. while before-pump waits) do not run \`docker compose up\` in ${edits.workingDir}, or it puts the gateways back on their old version`,
        );
      }
    }
  }
  return { files, notes };
}

function statusOf(edits: ProjectEdits, c: ProjectEdits['changes'][number]): Omit<ComposeFileStatus, 'state'> {
  return { project: edits.project, path: c.path, services: c.services, sha256Before: c.sha256Before, sha256After: c.sha256After, diff: diffOf(c) };
}

function noCompose(edits: ProjectEdits): string {
  const major = Number((edits.madeBy ?? '2').split('.')[0]) || 2;
  return (
    `no compose ${major === 1 ? 'v1 (docker-compose 1.x)' : 'v2 (docker compose)'} on this host to ask, so the recreated containers keep their labels: ` +
    'the files are changed, and the next `docker compose up` recreates each edited service once, on its target image'
  );
}

/** The project's files and env file, copied beside the config backup (0600) with their sha256. */
export async function backupComposeFiles(dir: string, instances: InstancePlan[]): Promise<ComposeBackupEntry[]> {
  const paths = new Set<string>();
  for (const p of instances) {
    if (!p.compose) continue;
    for (const f of [...p.compose.configFiles, ...(p.compose.envFiles.length ? p.compose.envFiles : [join(p.compose.workingDir, '.env')])]) paths.add(f);
  }
  if (!paths.size) return [];
  const out: ComposeBackupEntry[] = [];
  const cdir = join(dir, 'compose');
  await mkdir(cdir, { recursive: true, mode: 0o700 });
  await chmod(cdir, 0o700);
  let n = 0;
  for (const path of paths) {
    const bytes = await readFromDisk(path);
    if (!bytes) continue; // no .env: nothing to keep
    const copy = join(cdir, `${++n}-${basename(path)}`);
    await writeFile(copy, bytes, { mode: 0o600 });
    await chmod(copy, 0o600);
    out.push({ path, copy, sha256: sha256(bytes) });
  }
  return out;
}

/** Reads the project's files as the backup has them (and the disk for any the backup did not take). */
async function backupReader(manifest: string | undefined): Promise<{ read: FileReader; entries: ComposeBackupEntry[] }> {
  const entries: ComposeBackupEntry[] = manifest ? ((JSON.parse(await readFile(manifest, 'utf8')) as { compose?: ComposeBackupEntry[] }).compose ?? []) : [];
  return {
    entries,
    read: async (path) => {
      const e = entries.find((x) => x.path === path);
      if (!e) return readFromDisk(path);
      const bytes = await readFile(e.copy);
      if (sha256(bytes) !== e.sha256) throw new Error(`the backup copy ${e.copy} of ${path} does not match its sha256 in the manifest`);
      return bytes;
    },
  };
}

function membersOf(instances: InstancePlan[]): Member[] {
  return instances
    .filter((p) => p.compose)
    .map((p) => ({ container: p.container, role: p.role, fromImage: p.fromImage, toImage: p.toImage, ref: p.compose as ComposeRef }));
}

/** The project as compose is told about it, with the edited files copied into a folder of our own. */
async function withEdited<T>(edits: ProjectEdits, fn: (args: ProjectArgs) => Promise<T>): Promise<T> {
  const tmp = await mkdtemp(join(tmpdir(), 'tyk-upgrade-compose-'));
  try {
    const mapped = new Map<string, string>();
    for (const [i, c] of edits.changes.entries()) {
      const copy = join(tmp, `${i}-${basename(c.path)}`);
      await writeFile(copy, c.after, { mode: 0o600 });
      mapped.set(c.path, copy);
    }
    const to = (p: string) => mapped.get(p) ?? p;
    const envEdited = edits.envFiles.some((p) => mapped.has(p));
    return await fn({
      project: edits.project,
      workingDir: edits.workingDir,
      files: edits.configFiles.map(to),
      envFiles: edits.explicitEnv || envEdited ? edits.envFiles.map(to) : [],
    });
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export interface PreparedCompose {
  /** Labels for each container's replacement (by container name). */
  labels: Record<string, Record<string, string>>;
  files: Omit<ComposeFileStatus, 'host'>[];
  warnings: string[];
}

/**
 * After the pull: what each edited service's container must be labelled with so compose sees it as up to date
 * (the config hash this host's compose computes for the edited files; for compose v2 also the image id), and
 * which files will be changed. A file the worker cannot write, or one changed since the backup, is left alone and
 * its services keep their labels (a plain `up` then leaves them be).
 */
export async function prepareCompose(docker: Docker, input: { instances: InstancePlan[]; manifest?: string }): Promise<PreparedCompose> {
  const out: PreparedCompose = { labels: {}, files: [], warnings: [] };
  const { read } = await backupReader(input.manifest);
  for (const group of byProject(membersOf(input.instances))) {
    const edits = await projectEdits(group, read);
    const skip = new Map<string, string>();
    for (const c of edits.changes) {
      const now = await readFromDisk(c.path);
      const why = !now || sha256(now) !== c.sha256Before ? `${c.label} changed since the backup` : await notWritable(c.path);
      if (why) skip.set(c.path, why);
    }
    const binary = await composeFor(edits.madeBy);
    if (!binary) out.warnings.push(`compose project "${edits.project}": ${noCompose(edits)}`);
    else {
      try {
        await labelsFor(docker, binary, edits, group, skip, out);
      } catch (err) {
        out.warnings.push(`compose project "${edits.project}": ${(err as Error).message}; the recreated containers keep their labels`);
      }
    }
    for (const c of edits.changes) {
      const why = skip.get(c.path);
      out.files.push({ ...statusOf(edits, c), state: why ? 'skipped' : 'pending', ...(why ? { detail: `left as it is: ${why}` } : {}) });
      if (!why) continue;
      for (const m of group.filter((x) => c.services.includes(x.ref.service))) out.warnings.push(adviceFor(m.container, m.ref, m.toImage, why));
    }
    for (const u of edits.untraced) out.warnings.push(`compose project "${edits.project}": service "${u.service}" is not changed: ${u.why}`);
  }
  return out;
}

/** compose's own view of the edited project: each service's target image and config hash, as labels. */
async function labelsFor(
  docker: Docker,
  binary: ComposeBinary,
  edits: ProjectEdits,
  group: Member[],
  skip: Map<string, string>,
  out: PreparedCompose,
): Promise<void> {
  const services = [...new Set(edits.changes.filter((c) => !skip.has(c.path)).flatMap((c) => c.services))];
  if (!services.length) return;
  const original: ProjectArgs = {
    project: edits.project,
    workingDir: edits.workingDir,
    files: edits.configFiles,
    envFiles: edits.explicitEnv ? edits.envFiles : [],
  };
  const before = await configHashes(binary, original, services);
  const images = await withEdited(edits, (args) => resolvedImages(binary, args));
  const after = await withEdited(edits, (args) => configHashes(binary, args, services));
  for (const m of group.filter((x) => services.includes(x.ref.service))) {
    if (images[m.ref.service] !== m.toImage) {
      for (const c of edits.changes.filter((x) => x.services.includes(m.ref.service)))
        skip.set(c.path, `compose ${binary.version} resolves "${m.ref.service}" to ${images[m.ref.service]} after the edit, not ${m.toImage}`);
      continue;
    }
    const old = await inspectContainer(docker, m.container);
    const labels = old?.Config.Labels ?? {};
    if (labels[LABEL.configHash] !== before[m.ref.service]) {
      out.warnings.push(
        `${m.container}: this host's compose ${binary.version} hashes service "${m.ref.service}" differently from the compose that made the container (${edits.madeBy ?? 'unknown'}), ` +
          'or the project was started with other files or environment: the next `docker compose up` may recreate it once, on its target image',
      );
    }
    out.labels[m.container] = {
      [LABEL.configHash]: after[m.ref.service],
      // v2 also compares the image id it resolves with this label (v1 has none).
      ...(labels[LABEL.image] ? { [LABEL.image]: (await docker.getImage(m.toImage).inspect()).Id } : {}),
    };
  }
}

export interface SettleInput {
  instances: InstancePlan[];
  manifest?: string;
  /** Containers that run their target now. */
  upgraded: string[];
  /** The files to settle (pending ones of this host). */
  files: string[];
}

export interface SettledFile {
  path: string;
  state: ComposeFileStatus['state'];
  sha256After: string;
  diff: string;
  detail?: string;
}

/**
 * The files name what runs: each service whose every container runs its target gets its target version, the
 * others keep theirs. Idempotent: a file that already has the new bytes is done; one whose bytes are neither the
 * backup's nor ours was changed by someone, and is not overwritten.
 */
export async function updateComposeFiles(input: SettleInput): Promise<{ files: SettledFile[]; warnings: string[] }> {
  const out = { files: [] as SettledFile[], warnings: [] as string[] };
  const { read } = await backupReader(input.manifest);
  for (const group of byProject(membersOf(input.instances))) {
    const moved = (service: string) => group.filter((m) => m.ref.service === service).every((m) => input.upgraded.includes(m.container));
    const all = await projectEdits(group, read);
    const edits = await projectEdits(group, read, moved);
    for (const e of all.changes.flatMap((c) => c.edits)) {
      const up = e.services.filter(moved);
      if (up.length && up.length < e.services.length) {
        out.warnings.push(
          `${e.label} stays at ${e.before}: it names ${e.services.map((s) => `"${s}"`).join(', ')}, and only ${up.join(', ')} run${up.length === 1 ? 's' : ''} the target; ` +
            `the next \`docker compose up\` would put ${up.join(', ')} back on the old version: give ${up.length === 1 ? 'it' : 'them'} a place of ${up.length === 1 ? 'its' : 'their'} own and set the target there`,
        );
      }
    }
    for (const path of input.files) {
      const planned = all.changes.find((c) => c.path === path);
      if (!planned) continue;
      const c = edits.changes.find((x) => x.path === path);
      const want = c?.after ?? planned.before;
      const result = await settle(path, planned.before, want, planned.label);
      const diff = c ? diffOf(c) : '';
      out.files.push({ path, sha256After: sha256(want), diff, ...result });
      if (result.state === 'skipped') {
        for (const s of planned.services) {
          const m = group.find((x) => x.ref.service === s);
          if (m) out.warnings.push(adviceFor(m.container, m.ref, m.toImage, result.detail));
        }
      }
    }
  }
  return out;
}

async function settle(path: string, before: Buffer, want: Buffer, label: string): Promise<{ state: ComposeFileStatus['state']; detail?: string }> {
  const now = await readFromDisk(path);
  const nowSha = now ? sha256(now) : 'no file';
  if (now?.equals(want)) return { state: before.equals(want) ? 'unchanged' : 'updated' };
  if (!now?.equals(before)) {
    return {
      state: 'skipped',
      detail: `${label} was changed by someone during the upgrade (sha256 ${nowSha.slice(0, 12)}…, the backup's ${sha256(before).slice(0, 12)}…): not overwritten`,
    };
  }
  const why = await notWritable(path);
  if (why) return { state: 'skipped', detail: `left as it is: ${why}` };
  await replaceFile(path, want);
  const check = await readFromDisk(path);
  if (!check?.equals(want)) throw new Error(`${path} does not read back as written`);
  return { state: 'updated' };
}

/** A rollback puts each file this run changed back byte for byte, unless someone changed it after us. */
export async function restoreComposeFiles(input: { manifest?: string; files: { path: string; sha256Before: string; sha256After: string }[] }) {
  const out = { files: [] as { path: string; state: ComposeFileStatus['state']; detail?: string }[], warnings: [] as string[] };
  const { read } = await backupReader(input.manifest);
  for (const f of input.files) {
    const now = await readFromDisk(f.path);
    const nowSha = now ? sha256(now) : 'no file';
    if (nowSha === f.sha256Before) {
      out.files.push({ path: f.path, state: 'restored' });
      continue;
    }
    if (nowSha !== f.sha256After) {
      const detail = `${f.path} was changed after the upgrade edited it (sha256 ${nowSha.slice(0, 12)}…): not overwritten; the old bytes are in the backup`;
      out.files.push({ path: f.path, state: 'skipped', detail });
      out.warnings.push(detail);
      continue;
    }
    const bytes = await read(f.path);
    if (!bytes || sha256(bytes) !== f.sha256Before) throw new Error(`the backup of ${f.path} is missing or does not match sha256 ${f.sha256Before}`);
    await replaceFile(f.path, bytes);
    const check = await readFromDisk(f.path);
    if (!check || sha256(check) !== f.sha256Before) throw new Error(`${f.path} does not read back as restored`);
    out.files.push({ path: f.path, state: 'restored' });
  }
  return out;
}
