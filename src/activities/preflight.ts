// Preflight: before anything changes, prove the plan can be carried out.
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { ErrorType } from '../shared/errors';
import { failedContainerName, HELD_MARK, newContainerName, oldContainerName } from '../shared/names';
import type { InstancePlan, PreflightResult, Role, UpgradeInput } from '../shared/types';
import { compareVersions, normaliseVersion, parseVersion, splitImage, tagForVersion } from '../shared/version';
import { inspectContainer } from './docker-util';
import { readContainerPath } from './host-files';
import { PER_HOST_PARALLEL, settleInOrder } from './parallel';
import { imageAvailable } from './images';
import { findGoPlugins, pluginBuildName } from './go-plugins';
import { preflightServing, redisFacts } from './serving';
import { checkDurationWarning } from './setting-units';
import { confDir, confPath, readConf } from './tyk-config';
import { describeHello, getHello, getPumpHealth } from './tyk-http';
import { startupVersion } from './versions-from-logs';
import { composePreflight, type ComposeFindings } from './compose/steps';

function fail(type: string, message: string): never {
  throw ApplicationFailure.create({ type, message, nonRetryable: true });
}

async function runningContainer(docker: Docker, name: string, role: Role, leftovers: Promise<Set<string>>): Promise<ContainerInspectInfo> {
  const info = await inspectContainer(docker, name);
  if (!info) fail(ErrorType.ContainerNotFound, `${role} container "${name}" not found on the Docker engine; check the name with \`docker ps -a\``);
  if (!info.State.Running || info.State.Restarting) {
    fail(ErrorType.ContainerNotFound, `${role} container "${name}" is ${info.State.Status}, not running; start it first so its current version can be read`);
  }
  const [leftover] = leftoverProblems(name, await leftovers);
  if (leftover) fail(ErrorType.LeftoverContainer, leftover);
  return info;
}

/** Every container on this engine whose name says an upgrade held it: one engine call for all of a host's containers. */
export async function leftoverNames(docker: Docker): Promise<Set<string>> {
  const held = await docker.listContainers({ all: true, filters: { name: [HELD_MARK] } });
  return new Set(held.flatMap((c) => c.Names.map((n) => n.replace(/^\//, ''))));
}

/** Containers an unfinished upgrade of `name` left behind (of those `present`); the next upgrade must not guess what they are. */
export function leftoverProblems(name: string, present: Set<string>): string[] {
  return [oldContainerName(name), newContainerName(name), failedContainerName(name)]
    .filter((leftover) => present.has(leftover))
    .map(
      (leftover) =>
        `container "${leftover}" is left from an earlier upgrade of "${name}" that did not finish; inspect it and remove it (\`docker rm ${leftover}\`) before upgrading again`,
    );
}

/** Why going from `from` to `to` is refused, if it is: the same version, or a downgrade nobody asked for. */
export function directionProblem(container: string, from: string, to: string, allowDowngrade: boolean): { type: string; message: string } | undefined {
  const a = parseVersion(from);
  const b = parseVersion(to);
  if (!a || !b) return undefined;
  const cmp = compareVersions(b, a);
  if (cmp === 0)
    return { type: ErrorType.AlreadyAtTarget, message: `"${container}" already runs ${normaliseVersion(from)}, the target version; nothing to upgrade` };
  if (cmp < 0 && !allowDowngrade) {
    return {
      type: ErrorType.DowngradeRefused,
      message: `"${container}" runs ${normaliseVersion(from)}, newer than the target ${normaliseVersion(to)}; a downgrade must be asked for (allowDowngrade: true in the plan, or --allow-downgrade)`,
    };
  }
  return undefined;
}

function checkDirection(container: string, from: string, to: string, allowDowngrade: boolean): void {
  const problem = directionProblem(container, from, to, allowDowngrade);
  if (problem) fail(problem.type, problem.message);
}

/** Preflight, refusing a plan whose compose files cannot follow it (a shared version some service does not move with). */
export async function preflightStack(docker: Docker, input: UpgradeInput, env: NodeJS.ProcessEnv = process.env): Promise<PreflightResult> {
  const { compose, ...result } = await preflightChecks(docker, input, env);
  if (compose.problems.length) fail(ErrorType.ComposeRefused, compose.problems.join('; '));
  return result;
}

/**
 * Everything preflight checks; what the compose files say comes back as findings (the dry run lists each
 * problem and shows each file's diff).
 */
export async function preflightChecks(
  docker: Docker,
  input: UpgradeInput,
  env: NodeJS.ProcessEnv = process.env,
): Promise<PreflightResult & { compose: ComposeFindings }> {
  const instances: InstancePlan[] = [];
  const warnings: string[] = [];
  const redisSeen = new Set<string>();

  // Every gateway of the host checked at once; what they found is taken in the plan's order, the first problem first.
  const redisVersions = new Map<string, Promise<string | undefined>>();
  const leftovers = leftoverNames(docker);
  leftovers.catch(() => undefined); // awaited by each container's check, which reports the failure
  const checked = await settleInOrder(input.gateways, PER_HOST_PARALLEL, (gw) => checkGateway(docker, input, gw, env, redisVersions, leftovers));
  for (const c of checked) {
    if (c.status === 'rejected') throw c.reason;
    const { instance, redis } = c.value;
    warnings.push(...c.value.warnings);
    if (redis && !redisSeen.has(redis.where)) {
      redisSeen.add(redis.where);
      if (redis.problem && input.unsupportedRedis === 'refuse') fail(ErrorType.UnsupportedRedis, `${redis.problem}; the plan says unsupportedRedis: refuse`);
      if (redis.problem) warnings.push(redis.problem);
      if (redis.error)
        warnings.push(`cannot read the version of the gateway's Redis at ${redis.where} to check it against Tyk's supported versions: ${redis.error}`);
    }
    instances.push(instance);
  }

  for (const pump of input.pumps) {
    const info = await runningContainer(docker, pump.container, 'pump', leftovers);
    const health = await getPumpHealth(pump.healthUrl);
    if (!health.ok || health.body?.status !== 'ok') {
      fail(
        ErrorType.NotTyk,
        `pump "${pump.container}" does not answer like Tyk Pump at ${pump.healthUrl} (${health.error ?? `HTTP ${health.code}`}); check the container and healthUrl in the plan`,
      );
    }
    const { repository, tag } = splitImage(info.Config.Image);
    const fromLog = await startupVersion(docker, info, 'pump');
    const fromVersion = normaliseVersion(fromLog ?? tag);
    if (!parseVersion(fromVersion))
      fail(ErrorType.NotTyk, `cannot tell which version pump "${pump.container}" runs: no "## Tyk Pump" line in its log and image tag "${tag}"`);
    if (!input.pumpVersion) fail(ErrorType.InvalidPlan, 'the plan names a pump but no pump target version');
    checkDirection(pump.container, fromVersion, input.pumpVersion, input.allowDowngrade);
    const toImage = `${input.pumpRepository ?? repository}:${tagForVersion(input.pumpVersion)}`;
    instances.push({
      role: 'pump',
      container: pump.container,
      ...(pump.host ? { host: pump.host } : {}),
      containerId: info.Id,
      fromImage: info.Config.Image,
      toImage,
      fromVersion,
      toVersion: normaliseVersion(input.pumpVersion),
      url: pump.healthUrl,
      helloPath: '',
    });
  }

  const images = [...new Set(instances.map((i) => i.toImage))];
  for (const image of images) {
    const why = await imageAvailable(docker, image);
    if (why) fail(ErrorType.ImageNotFound, `target image ${image} is not available: ${why}`);
  }
  // Last, once the targets are known: which compose files follow the upgrade (docs/compose.md).
  const compose = await composePreflight(docker, input.compose, instances);
  warnings.push(...compose.warnings);
  return { instances, images, warnings, compose };
}

/** One gateway's checks: what it runs and where it goes, and what to warn about; its Redis, for the caller to fold. */
async function checkGateway(
  docker: Docker,
  input: UpgradeInput,
  gw: UpgradeInput['gateways'][number],
  env: NodeJS.ProcessEnv,
  redisVersions: Map<string, Promise<string | undefined>>,
  leftovers: Promise<Set<string>>,
) {
  const warnings: string[] = [];
  // What the engine and the gateway say, at once; a container that is not there is named before what /hello said.
  const [info, hello] = await Promise.all([runningContainer(docker, gw.container, 'gateway', leftovers), getHello(gw.url, gw.helloPath)]);
  if (hello.body?.description !== 'Tyk GW' || !hello.body.version) {
    fail(
      ErrorType.NotTyk,
      `"${gw.container}" does not answer like a Tyk gateway at ${gw.url}/${gw.helloPath} (${describeHello(hello)}); check the container and the url in the plan`,
    );
  }
  const fromVersion = normaliseVersion(hello.body.version);
  const { repository, tag } = splitImage(info.Config.Image);
  if (parseVersion(tag) && normaliseVersion(tag) !== fromVersion) {
    warnings.push(`${gw.container}: image tag ${tag} but /hello reports ${fromVersion}; /hello is believed`);
  }
  checkDirection(gw.container, fromVersion, input.gatewayVersion, input.allowDowngrade);
  const toImage = `${input.gatewayRepository ?? repository}:${tagForVersion(input.gatewayVersion)}`;
  // Only reads from here on, each on its own: run at once, the first problem in this order reported.
  const conf = readConf(docker, info, 'gateway').catch(() => undefined);
  const [plugins, units, serving, redisRead] = await Promise.allSettled([
    checkPlugins(docker, info, input.gatewayVersion),
    conf.then((c) => checkDurationWarning(gw.container, c, info.Config.Env ?? [], fromVersion, input.gatewayVersion)),
    preflightServing(docker, info, gw, { inventory: input.inventory !== false, smoke: input.smoke }, env, conf),
    redisFacts(docker, info, input.gatewayVersion, redisVersions, conf),
  ]);
  for (const r of [plugins, units, serving, redisRead]) if (r.status === 'rejected') throw r.reason;
  if (units.status === 'fulfilled' && units.value) warnings.push(units.value);
  const redis = redisRead.status === 'fulfilled' ? redisRead.value : undefined;
  const instance: InstancePlan = {
    role: 'gateway',
    container: gw.container,
    ...(gw.host ? { host: gw.host } : {}),
    ...(gw.pool ? { pool: gw.pool } : {}),
    containerId: info.Id,
    fromImage: info.Config.Image,
    toImage,
    fromVersion,
    toVersion: normaliseVersion(input.gatewayVersion),
    url: gw.url,
    helloPath: gw.helloPath,
    ...(gw.apiUrl ? { apiUrl: gw.apiUrl } : {}),
  };
  return { instance, warnings, redis };
}

/** API definitions that load Go plugins need a build named for the target version beside the old one. */
async function checkPlugins(docker: Docker, info: ContainerInspectInfo, target: string): Promise<void> {
  const appsPath = `${confDir(confPath(info, 'gateway'))}/apps`;
  const apps = await readContainerPath(docker, info, appsPath);
  if (!apps) return;
  const plugins = await findGoPlugins(apps);
  if (!plugins.length) return;
  const arch = (await docker.info()).Architecture === 'aarch64' ? 'arm64' : 'amd64';
  const missing: string[] = [];
  for (const plugin of plugins) {
    const wanted = pluginBuildName(plugin.path, target, arch, info.Config.WorkingDir);
    if (!(await readContainerPath(docker, info, wanted))) missing.push(`API "${plugin.api}" needs ${wanted}`);
  }
  if (missing.length) {
    fail(
      ErrorType.PluginBuildMissing,
      `Go plugins have no build for ${tagForVersion(target)} (build them with tykio/tyk-plugin-compiler:${tagForVersion(target)} and put them beside the old ones): ${missing.join('; ')}`,
    );
  }
}
