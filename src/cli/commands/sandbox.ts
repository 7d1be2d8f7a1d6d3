// `tyk-upgrade sandbox up|down|status`: a throwaway Tyk stack to rehearse upgrades on.
import { resolve } from 'node:path';
import type Docker from 'dockerode';
import { listSandboxes, SandboxRefused, sandboxDown, sandboxUp, type ImageSource, type Sandbox } from '../../sandbox/sandbox';
import { ROLE_LABEL, SANDBOX_LABEL } from '../../shared/names';
import { connectDocker } from '../docker';
import { describeGateway, describePump } from '../../activities/discover';
import { CliError, Exit } from '../exit-codes';
import { versionOption } from '../options';
import { note, print } from '../output';
import { table } from '../table';

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,40}$/;

export interface SandboxUpFlags {
  name: string;
  gatewayVersion: string;
  pumpVersion: string;
  pump: boolean;
  gateways: number;
  port: number;
  pumpPort: number;
  redisPort: number;
  dir?: string;
  images: ImageSource;
  registry: string;
}

export function sandboxDir(name: string, dir?: string): string {
  return resolve(dir ?? `.tyk-upgrade/sandbox/${name}`);
}

function checkName(name: string): void {
  if (!NAME.test(name)) throw new CliError(`--name: "${name}" must be 1–41 letters, digits, "_", "." or "-", starting with a letter or digit`, Exit.Usage);
}

export async function startSandbox(f: SandboxUpFlags, log: (line: string) => void): Promise<Sandbox> {
  checkName(f.name);
  const gatewayVersion = versionOption('--gateway-version', f.gatewayVersion, false, 'v5.2.0') as string;
  const pumpVersion = f.pump ? versionOption('--pump-version', f.pumpVersion, false, 'v1.9.0') : undefined;
  const docker = await connectDocker();
  try {
    return await sandboxUp(docker, { ...f, dir: sandboxDir(f.name, f.dir), gatewayVersion, pumpVersion, gatewayPort: f.port }, log);
  } catch (err) {
    if (err instanceof SandboxRefused) throw new CliError(err.message, Exit.StackNotReady);
    throw err;
  }
}

export async function sandboxUpCommand(f: SandboxUpFlags): Promise<void> {
  const sb = await startSandbox(f, (line) => note(`sandbox: ${line}`));
  print(`Sandbox "${sb.name}" is up (${sb.images.source === 'standin' ? 'stand-in images from the local registry' : "Tyk's published images"}):`);
  print(
    table([
      ['CONTAINER', 'ROLE', 'IMAGE', 'ENDPOINT'],
      [sb.redis.container, 'redis', sb.images.redis, `127.0.0.1:${sb.redis.port}`],
      ...sb.gateways.map((g) => [g.container, 'gateway', sb.images.gateway, `${g.url}/hello`]),
      ...(sb.pump ? [[sb.pump.container, 'pump', sb.images.pump ?? '', sb.pump.healthUrl]] : []),
    ]),
  );
  print(`Config files in ${sb.dir}`);
  print('Rehearse an upgrade:');
  print(`  tyk-upgrade init --label ${SANDBOX_LABEL}=${sb.name} --gateway-version V${sb.pump ? ' --pump-version V' : ''} -o ${sb.name}-plan.yaml`);
  print(`  tyk-upgrade plan -f ${sb.name}-plan.yaml`);
  print(`  tyk-upgrade start -f ${sb.name}-plan.yaml --watch`);
  print(`Remove it: tyk-upgrade sandbox down --name ${sb.name}`);
}

export async function sandboxDownCommand(f: { name: string; dir?: string }): Promise<void> {
  checkName(f.name);
  const docker = await connectDocker();
  try {
    const { removed, dir } = await sandboxDown(docker, f.name, sandboxDir(f.name, f.dir));
    print(`Removed sandbox "${f.name}": ${removed} container${removed === 1 ? '' : 's'}${dir ? ` and ${dir}` : ''}`);
  } catch (err) {
    if (err instanceof SandboxRefused) throw new CliError(err.message, Exit.StackNotReady);
    throw err;
  }
}

export async function sandboxStatusCommand(f: { name?: string }): Promise<void> {
  if (f.name) checkName(f.name);
  const docker = await connectDocker();
  const sandboxes = await listSandboxes(docker, f.name);
  if (!sandboxes.size) {
    if (f.name) throw new CliError(`there is no sandbox named "${f.name}"; create one with \`tyk-upgrade sandbox up --name ${f.name}\``, Exit.StackNotReady);
    print('No sandboxes. Create one with `tyk-upgrade sandbox up`.');
    return;
  }
  for (const [name, containers] of sandboxes) {
    const rows = [['CONTAINER', 'ROLE', 'STATE', 'VERSION', 'IMAGE']];
    for (const c of containers.sort((a, b) => a.Names[0].localeCompare(b.Names[0]))) rows.push(await statusRow(docker, c));
    print(`Sandbox "${name}":`);
    print(table(rows));
  }
}

async function statusRow(docker: Docker, c: Docker.ContainerInfo): Promise<string[]> {
  const role = c.Labels[ROLE_LABEL] ?? '?';
  let version = '';
  if (c.State === 'running' && (role === 'gateway' || role === 'pump')) {
    const info = await docker.getContainer(c.Id).inspect();
    version = (role === 'gateway' ? await describeGateway(docker, info) : await describePump(docker, info)).version ?? '?';
  }
  return [c.Names[0].replace(/^\//, ''), role, c.State, version, c.Image];
}
