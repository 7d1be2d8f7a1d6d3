// A compose project as its containers' labels describe it (name, folder, files, env files, the compose that made
// it), read from the worker's own disk, and the edits an upgrade makes to it. A worker in a container sees only
// what is mounted into it, at the same paths, so a project it cannot read is said so and left alone.
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { isAbsolute, join, relative } from 'node:path';
import type { ComposeRef, Role } from '../../shared/types';
import { readEnvFiles } from './dotenv';
import { applyEdits, planEdits, unifiedDiff, type Edit, type ServiceMove } from './edits';
import { locateImage, parseComposeFiles, serviceNames, type ImageSource } from './locate';

export const LABEL = {
  project: 'com.docker.compose.project',
  service: 'com.docker.compose.service',
  workingDir: 'com.docker.compose.project.working_dir',
  configFiles: 'com.docker.compose.project.config_files',
  envFile: 'com.docker.compose.project.environment_file',
  version: 'com.docker.compose.version',
  oneoff: 'com.docker.compose.oneoff',
  configHash: 'com.docker.compose.config-hash',
  image: 'com.docker.compose.image',
  number: 'com.docker.compose.container-number',
} as const;

/** The project of a container made by compose; undefined for any other container. */
export function composeRefOf(labels: Record<string, string> | undefined): ComposeRef | undefined {
  const l = labels ?? {};
  const project = l[LABEL.project];
  const service = l[LABEL.service];
  const workingDir = l[LABEL.workingDir];
  if (!project || !service || !workingDir) return undefined;
  // v1 writes config files relative to the project folder, v2 absolute.
  const abs = (p: string) => (isAbsolute(p) ? p : join(workingDir, p));
  const configFiles = (l[LABEL.configFiles] ?? '').split(',').filter(Boolean).map(abs);
  const explicit = (l[LABEL.envFile] ?? '').split(',').filter(Boolean).map(abs);
  return {
    project,
    service,
    workingDir,
    configFiles: configFiles.length ? configFiles : [join(workingDir, 'docker-compose.yml')],
    envFiles: explicit,
    ...(l[LABEL.version] ? { madeBy: l[LABEL.version] } : {}),
  };
}

/** A container of the plan that compose made. */
export interface Member {
  container: string;
  role?: Role;
  fromImage: string;
  toImage: string;
  ref: ComposeRef;
}

/** Reads a file of the project: from the disk, or from the backup (the bytes as they were before the upgrade). */
export type FileReader = (path: string) => Promise<Buffer | undefined>;

export const readFromDisk: FileReader = async (path) => {
  try {
    return await readFile(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
};

export interface FileChange {
  path: string;
  /** The path as people read it: relative to the project folder when inside it. */
  label: string;
  before: Buffer;
  after: Buffer;
  sha256Before: string;
  sha256After: string;
  /** Services whose version this file names. */
  services: string[];
  edits: Edit[];
}

export interface ProjectEdits {
  project: string;
  workingDir: string;
  /** The files compose reads for this project and the env files it interpolates from, as found. */
  configFiles: string[];
  envFiles: string[];
  /** Whether the env files were named with --env-file (else compose reads the folder's .env by itself). */
  explicitEnv: boolean;
  madeBy?: string;
  changes: FileChange[];
  problems: string[];
  untraced: { service: string; why: string }[];
  /** Every service of the project with the image it resolves to (the files as read). */
  images: Record<string, string>;
}

export const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest('hex');

/** The containers of the plan grouped by their compose project (name and folder). */
export function byProject(members: Member[]): Member[][] {
  const groups = new Map<string, Member[]>();
  for (const m of members) {
    const k = `${m.ref.project}\0${m.ref.workingDir}`;
    groups.set(k, [...(groups.get(k) ?? []), m]);
  }
  return [...groups.values()];
}

/**
 * The edits that move `members` (one project) to their target images. `upgraded`, when given, limits them to
 * the services whose every container runs its target now: on a partial end the files name what actually runs.
 */
export async function projectEdits(members: Member[], read: FileReader, upgraded?: (service: string) => boolean): Promise<ProjectEdits> {
  const { project, workingDir, madeBy } = members[0].ref;
  const label = (p: string) => (p.startsWith(`${workingDir}/`) ? relative(workingDir, p) : p);
  const explicitEnv = members[0].ref.envFiles.length > 0;
  const envPaths = explicitEnv ? members[0].ref.envFiles : [join(workingDir, '.env')];
  const result: ProjectEdits = {
    project,
    workingDir,
    configFiles: members[0].ref.configFiles,
    envFiles: [],
    explicitEnv,
    ...(madeBy ? { madeBy } : {}),
    changes: [],
    problems: [],
    untraced: [],
    images: {},
  };
  const untraceAll = (why: string) => {
    result.untraced = [...new Set(members.map((m) => m.ref.service))].map((service) => ({ service, why }));
    return result;
  };
  const texts = new Map<string, Buffer>();
  for (const path of [...result.configFiles, ...envPaths]) {
    let bytes: Buffer | undefined;
    try {
      bytes = await read(path);
    } catch (err) {
      return untraceAll(
        `cannot read ${path} on this host: ${(err as Error).message} (a worker in a container sees only what is mounted into it, at the same path)`,
      );
    }
    if (!bytes) {
      if (result.configFiles.includes(path))
        return untraceAll(`${path} does not exist on this host (a worker in a container sees only what is mounted into it, at the same path)`);
      continue;
    }
    // Offsets are taken in the decoded text; only a file that decodes and encodes back to the same bytes is edited.
    if (!Buffer.from(bytes.toString('utf8'), 'utf8').equals(bytes)) return untraceAll(`${label(path)} is not UTF-8 text`);
    texts.set(path, bytes);
    if (envPaths.includes(path)) result.envFiles.push(path);
  }
  const files = parseComposeFiles(result.configFiles.map((path) => ({ path, label: label(path), text: (texts.get(path) as Buffer).toString('utf8') })));
  if ('why' in files) return untraceAll(files.why);
  const env = readEnvFiles(result.envFiles.map((path) => ({ path, label: label(path), text: (texts.get(path) as Buffer).toString('utf8') })));
  const sources = new Map<string, ImageSource>();
  for (const name of serviceNames(files.parsed)) {
    const s = locateImage(files.parsed, name, env);
    sources.set(name, s);
    if (s.ok) result.images[name] = s.image;
  }
  const moves = movesOf(members, result);
  const planned = planEdits(project, sources, moves);
  result.problems.push(...planned.problems);
  result.untraced.push(...planned.untraced);
  const edits = upgraded ? planned.edits.filter((e) => e.services.every(upgraded)) : planned.edits;
  for (const path of [...result.configFiles, ...result.envFiles]) {
    const mine = edits.filter((e) => e.file === path);
    if (!mine.length) continue;
    const before = texts.get(path) as Buffer;
    const after = Buffer.from(applyEdits(before.toString('utf8'), path, mine), 'utf8');
    result.changes.push({
      path,
      label: label(path),
      before,
      after,
      sha256Before: sha256(before),
      sha256After: sha256(after),
      services: [...new Set(mine.flatMap((e) => e.services))],
      edits: mine,
    });
  }
  const wrong = checkEdited(result, texts, moves);
  if (wrong) {
    result.changes = [];
    return untraceAll(wrong);
  }
  return result;
}

/** One move per service; a service whose containers do not all go from one image to one image is refused. */
function movesOf(members: Member[], result: ProjectEdits): ServiceMove[] {
  const moves: ServiceMove[] = [];
  for (const m of members) {
    const same = moves.find((x) => x.service === m.ref.service);
    if (!same) moves.push({ service: m.ref.service, from: m.fromImage, to: m.toImage });
    else if (same.from !== m.fromImage || same.to !== m.toImage) {
      result.problems.push(`the containers of service "${m.ref.service}" (compose project "${m.ref.project}") do not all go from one image to one image`);
    }
  }
  return moves;
}

/**
 * The edited files read again as compose reads them: each service an edit is for resolves to its target image and
 * every other service to the image it had. Returns what is wrong, if anything (then nothing is edited).
 */
function checkEdited(result: ProjectEdits, texts: Map<string, Buffer>, moves: ServiceMove[]): string | undefined {
  if (!result.changes.length) return undefined;
  const text = (path: string) => (result.changes.find((c) => c.path === path)?.after ?? (texts.get(path) as Buffer)).toString('utf8');
  const files = parseComposeFiles(result.configFiles.map((path) => ({ path, label: path, text: text(path) })));
  if ('why' in files) return `the edited files would not parse: ${files.why}`;
  const env = readEnvFiles(result.envFiles.map((path) => ({ path, label: path, text: text(path) })));
  const moved = new Set(result.changes.flatMap((c) => c.services));
  for (const [service, before] of Object.entries(result.images)) {
    const now = locateImage(files.parsed, service, env);
    const want = moved.has(service) ? moves.find((m) => m.service === service)?.to : before;
    if (!now.ok || now.image !== want) return `after the edit service "${service}" would resolve to ${now.ok ? now.image : now.why}, not ${want}`;
  }
  return undefined;
}

export function diffOf(c: FileChange): string {
  return unifiedDiff(c.label, c.before.toString('utf8'), c.after.toString('utf8'));
}
