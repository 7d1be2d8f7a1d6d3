// `tyk-upgrade sandbox`: a throwaway Tyk stack (Redis, gateways, pump) on the local engine for rehearsing an
// upgrade. Ports on 127.0.0.1 away from a real stack's (8080, 8083, 6379). With the stand-ins in the local
// registry it uses them; otherwise Tyk's published images and the official redis image.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { imageAvailable } from '../activities/images';
import { getHello, getPumpHealth } from '../activities/tyk-http';
import { SANDBOX_LABEL } from '../shared/names';
import { createStack, removeStack, stackContainers, type StackInfo } from './stack';
import { SANDBOX_DIR_LABEL, startSandboxRedis } from './redis';

export const SANDBOX_DEFAULTS = {
  name: 'sandbox',
  gatewayVersion: 'v5.2.0',
  pumpVersion: 'v1.9.0',
  gatewayPort: 18080,
  pumpPort: 18083,
  redisPort: 16379,
  registry: '127.0.0.1:5000',
};
/** Tyk's warm-up (liveness_check.check_duration), shortened so a rehearsal does not wait 10 s per gateway. */
const WARMUP_MS = 3000;
const MARKER = 'sandbox.json';

export type ImageSource = 'auto' | 'standin' | 'tyk';

export interface SandboxSpec {
  name: string;
  dir: string;
  gatewayVersion: string;
  /** Absent: no pump. */
  pumpVersion?: string;
  gateways: number;
  gatewayPort: number;
  pumpPort: number;
  redisPort: number;
  images: ImageSource;
  registry: string;
}

export interface SandboxImages {
  source: 'standin' | 'tyk';
  gateway: string;
  pump?: string;
  redis: string;
}

export interface Sandbox extends StackInfo {
  images: SandboxImages;
  redis: { container: string; port: number };
}

/** A problem with the request (name taken, port busy, image missing): reported, nothing created. */
export class SandboxRefused extends Error {}

export function imagesFor(source: 'standin' | 'tyk', spec: Pick<SandboxSpec, 'gatewayVersion' | 'pumpVersion' | 'registry'>): SandboxImages {
  const repos =
    source === 'standin'
      ? { gateway: `${spec.registry}/tyk-gateway/tyk-gateway`, pump: `${spec.registry}/tyk-pump/tyk-pump`, redis: `${spec.registry}/library/redis:7` }
      : { gateway: 'docker.tyk.io/tyk-gateway/tyk-gateway', pump: 'docker.tyk.io/tyk-pump/tyk-pump', redis: 'redis:7' };
  return {
    source,
    gateway: `${repos.gateway}:${spec.gatewayVersion}`,
    pump: spec.pumpVersion ? `${repos.pump}:${spec.pumpVersion}` : undefined,
    redis: repos.redis,
  };
}

/**
 * "auto": the stand-ins when the registry holds them (judged by the default version, so a version it lacks is
 * reported as missing rather than fetched from the internet), else Tyk's published images.
 */
async function chooseImages(docker: Docker, spec: SandboxSpec): Promise<SandboxImages> {
  if (spec.images !== 'auto') return imagesFor(spec.images, spec);
  const probe = imagesFor('standin', { ...spec, gatewayVersion: SANDBOX_DEFAULTS.gatewayVersion }).gateway;
  return (await imageAvailable(docker, probe)) ? imagesFor('tyk', spec) : imagesFor('standin', spec);
}

export async function sandboxUp(docker: Docker, spec: SandboxSpec, log: (line: string) => void): Promise<Sandbox> {
  const existing = await stackContainers(docker, spec.name);
  if (existing.length) {
    throw new SandboxRefused(
      `sandbox "${spec.name}" already exists (${existing.length} containers); remove it with \`tyk-upgrade sandbox down --name ${spec.name}\` or choose another --name`,
    );
  }
  if (existsSync(spec.dir) && (await readdir(spec.dir)).length && !(await isSandboxDir(spec.dir, spec.name))) {
    // The folder is deleted with the sandbox: never take one that holds something else.
    throw new SandboxRefused(`folder ${spec.dir} is not empty and not a sandbox folder of "${spec.name}"; choose another --dir`);
  }
  await checkPorts(spec);
  const images = await chooseImages(docker, spec);
  for (const image of [images.gateway, images.pump, images.redis]) {
    const why = image && (await imageAvailable(docker, image));
    if (why) throw new SandboxRefused(`image ${image} is not available: ${why}`);
  }
  log(`images: ${images.source === 'standin' ? 'stand-ins from the local registry' : "Tyk's published images"}`);

  await mkdir(spec.dir, { recursive: true, mode: 0o700 });
  await writeFile(join(spec.dir, MARKER), `${JSON.stringify({ name: spec.name, images, createdAt: new Date().toISOString() }, null, 2)}\n`);
  try {
    const password = randomBytes(16).toString('hex');
    const redis = await startSandboxRedis(docker, { name: spec.name, dir: spec.dir, image: images.redis, port: spec.redisPort, password });
    log(`redis: ${redis} on 127.0.0.1:${spec.redisPort}`);
    const stack = await createStack(docker, {
      name: spec.name,
      dir: spec.dir,
      gatewayImage: images.gateway,
      pumpImage: images.pump,
      gateways: spec.gateways,
      gatewayPort: spec.gatewayPort,
      pumpHealthPort: spec.pumpPort,
      redisPort: spec.redisPort,
      redisPassword: password,
      checkDurationMs: WARMUP_MS,
      gatewayExtra: { Labels: { [SANDBOX_DIR_LABEL]: spec.dir } },
    });
    await waitHealthy(stack, 90_000);
    return { ...stack, images, redis: { container: redis, port: spec.redisPort } };
  } catch (err) {
    // Half a sandbox is no use to anyone: take back what was made.
    await removeStack(docker, spec.name, spec.dir).catch(() => undefined);
    throw err;
  }
}

async function checkPorts(spec: SandboxSpec): Promise<void> {
  const wanted: [number, string][] = [
    ...Array.from({ length: spec.gateways }, (_, i): [number, string] => [spec.gatewayPort + i, `gateway ${i + 1} (--port)`]),
    ...(spec.pumpVersion ? [[spec.pumpPort, 'pump health (--pump-port)'] as [number, string]] : []),
    [spec.redisPort, 'Redis (--redis-port)'],
  ];
  const seen = new Map<number, string>();
  for (const [port, what] of wanted) {
    if (seen.has(port)) throw new SandboxRefused(`port ${port} is wanted by both ${seen.get(port)} and ${what}; choose different ports`);
    seen.set(port, what);
    if (!(await portFree(port))) throw new SandboxRefused(`port 127.0.0.1:${port} for ${what} is in use; choose another`);
  }
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** Every gateway passes /hello with its Redis check (past the warm-up), the pump answers /health. */
async function waitHealthy(stack: StackInfo, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const pending = new Set<string>([...stack.gateways.map((g) => g.container), ...(stack.pump ? [stack.pump.container] : [])]);
  while (pending.size) {
    for (const g of stack.gateways) {
      const hello = await getHello(g.url, 'hello', 1000);
      if (hello.body?.status === 'pass' && hello.body.details?.redis?.status === 'pass') pending.delete(g.container);
    }
    if (stack.pump && (await getPumpHealth(stack.pump.healthUrl, 1000)).ok) pending.delete(stack.pump.container);
    if (!pending.size) return;
    if (Date.now() > deadline)
      throw new Error(`sandbox containers not healthy after ${timeoutMs / 1000} s: ${[...pending].join(', ')}; see \`docker logs <name>\``);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Removes the sandbox's containers (with any an upgrade renamed) and its folder, when the folder is ours. */
export async function sandboxDown(docker: Docker, name: string, defaultDir: string): Promise<{ removed: number; dir?: string }> {
  const containers = await stackContainers(docker, name);
  const dirs = [...new Set([...containers.map((c) => c.Labels?.[SANDBOX_DIR_LABEL]).filter((d): d is string => !!d), defaultDir])];
  let dir: string | undefined;
  for (const d of dirs) if (await isSandboxDir(d, name)) dir = d;
  if (!containers.length && !dir) throw new SandboxRefused(`there is no sandbox named "${name}"; see \`tyk-upgrade sandbox status\``);
  const removed = await removeStack(docker, name, dir);
  return { removed, dir };
}

async function isSandboxDir(dir: string, name: string): Promise<boolean> {
  const marker = join(dir, MARKER);
  if (!existsSync(marker)) return false;
  try {
    return (JSON.parse(await readFile(marker, 'utf8')) as { name?: string }).name === name;
  } catch {
    return false;
  }
}

/** Containers of every sandbox (or one), running or not, grouped by sandbox name. */
export async function listSandboxes(docker: Docker, name?: string): Promise<Map<string, Docker.ContainerInfo[]>> {
  const list = await docker.listContainers({ all: true, filters: { label: [name ? `${SANDBOX_LABEL}=${name}` : SANDBOX_LABEL] } });
  const out = new Map<string, Docker.ContainerInfo[]>();
  for (const c of list) {
    const key = c.Labels[SANDBOX_LABEL];
    out.set(key, [...(out.get(key) ?? []), c]);
  }
  return out;
}
