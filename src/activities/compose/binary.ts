// The compose of this host, asked what it makes of a project: `config` (the images it resolves) and
// `config --hash` (the config hash it would label a container with). Compose v1 (`docker-compose` 1.x, Python)
// and v2 (`docker compose`, Go) hash differently, so the one asked is the one that made the container (its
// com.docker.compose.version label), and its answer is only used when it gives the running container's own hash
// for the unchanged files (it then agrees with whoever runs `up` there).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { parse as parseYaml } from 'yaml';

const run = promisify(execFile);

export interface ComposeBinary {
  /** argv[0] and the arguments before compose's own: ["docker", "compose"] or ["docker-compose"]. */
  argv: string[];
  version: string;
  major: number;
}

/** What compose is told about the project: its name and folder, its files and env files (edited copies or not). */
export interface ProjectArgs {
  project: string;
  workingDir: string;
  files: string[];
  envFiles: string[];
}

// The worker's own environment is not the shell that ran compose: only what compose needs to reach the engine.
const PASSED_ENV = ['PATH', 'HOME', 'DOCKER_HOST', 'DOCKER_TLS_VERIFY', 'DOCKER_CERT_PATH', 'DOCKER_CONTEXT', 'DOCKER_CONFIG', 'LANG', 'LC_ALL'];
function composeEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(PASSED_ENV.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k]]));
}

const CANDIDATES = [['docker', 'compose'], ['docker-compose']];
let found: Promise<ComposeBinary[]> | undefined;

/** The composes installed here (looked for once per worker). */
export function installedComposes(): Promise<ComposeBinary[]> {
  found ??= (async () => {
    const out: ComposeBinary[] = [];
    for (const argv of CANDIDATES) {
      try {
        const { stdout } = await run(argv[0], [...argv.slice(1), 'version', '--short'], { env: composeEnv(), timeout: 20_000 });
        const version = stdout.trim().replace(/^v/, '');
        const major = Number(version.split('.')[0]);
        if (major && !out.some((c) => c.version === version)) out.push({ argv, version, major });
      } catch {
        // not installed: the next candidate
      }
    }
    return out;
  })();
  return found;
}

/** The compose to ask about a container made by compose `madeBy` (its version label): same major, same version first. */
export async function composeFor(madeBy: string | undefined): Promise<ComposeBinary | undefined> {
  const all = await installedComposes();
  const major = Number((madeBy ?? '').split('.')[0]) || 2;
  const same = all.filter((c) => c.major === major);
  return same.find((c) => c.version === madeBy) ?? same[0];
}

function baseArgs(c: ComposeBinary, p: ProjectArgs): string[] {
  return [
    ...c.argv.slice(1),
    '--project-name',
    p.project,
    '--project-directory',
    p.workingDir,
    ...p.files.flatMap((f) => ['--file', f]),
    ...p.envFiles.flatMap((f) => ['--env-file', f]),
  ];
}

async function compose(c: ComposeBinary, p: ProjectArgs, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(c.argv[0], [...baseArgs(c, p), ...args], { env: composeEnv(), cwd: p.workingDir, timeout: 60_000, maxBuffer: 16 << 20 });
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    // Only compose's first line: its output may quote the project's values.
    throw new Error(`compose ${c.version} (${c.argv.join(' ')}) ${args[0]} failed: ${(e.stderr || e.message).trim().split('\n')[0]}`);
  }
}

/** The image compose resolves for each service (`config`); nothing else of its output is kept: it holds the env. */
export async function resolvedImages(c: ComposeBinary, p: ProjectArgs): Promise<Record<string, string>> {
  const text = await compose(c, p, c.major >= 2 ? ['config', '--format', 'json'] : ['config']);
  const model = (c.major >= 2 ? JSON.parse(text) : parseYaml(text)) as { services?: Record<string, { image?: string }> };
  return Object.fromEntries(Object.entries(model.services ?? {}).map(([name, s]) => [name, s.image ?? '']));
}

/** The config hash compose would label each service's containers with (`config --hash`). */
export async function configHashes(c: ComposeBinary, p: ProjectArgs, services: string[]): Promise<Record<string, string>> {
  const text = await compose(c, p, ['config', `--hash=${services.join(',')}`]);
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^(\S+) ([0-9a-f]{64})$/.exec(line.trim());
    if (m) out[m[1]] = m[2];
  }
  return out;
}
