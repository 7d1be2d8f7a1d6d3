// `tyk-upgrade plan`: what an upgrade would do, found by looking only. Per container the current and target
// version and image, the images to pull and whether they can be had, what will be backed up; and every reason
// the upgrade would stop at preflight, all at once. `start` runs the same checks before it starts a workflow.
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { inspectContainer, isNotFound } from './docker-util';
import { readContainerPath } from './host-files';
import { imageAvailable } from './images';
import { directionProblem, leftoverNames, leftoverProblems, preflightChecks } from './preflight';
import { composeDryRun } from './compose/steps';
import { CONFIG_DIRS, confDir, confPath, readConf, redisTarget } from './tyk-config';
import { describeHello, getHello, getPumpHealth } from './tyk-http';
import type { LbGateway, LoadBalancerInput } from '../shared/load-balancer';
import type { LbServer } from './load-balancer/types';
import type { ComposeFileStatus, Role, UpgradeInput } from '../shared/types';
import { gatewayHasReady, normaliseVersion, splitImage, tagForVersion } from '../shared/version';
import { describePump } from './discover';
import { preflightServing, redisFacts } from './serving';
import { inventoryCounts } from '../shared/serving';
import { mapInOrder, PER_HOST_PARALLEL } from './parallel';

export interface InstanceReport {
  role: Role;
  container: string;
  /** running, exited, ... or "missing". */
  state: string;
  image?: string;
  current?: string;
  /** Where the current version was read: /hello, the log, the image tag. */
  currentFrom?: string;
  target: string;
  targetImage?: string;
  /** Paths inside the container that the backup will copy. */
  backup: string[];
  /** Gateways: whether the running version drains its requests in flight on stop by itself (Tyk 5.8.3+, 5.9+). */
  drainsItself?: boolean;
  /** Gateways: what it serves now ("12 APIs, 3 policies") and how the smoke requests went today. */
  serving?: string;
  problems: string[];
}

export interface ImageReport {
  image: string;
  /** "on the engine" or "in the registry"; undefined when it cannot be had. */
  where?: string;
  problem?: string;
}

/** One host's part of the dry run; it carries no config value, so it may cross into workflow history. */
export interface DryRunReport {
  host?: string;
  instances: InstanceReport[];
  images: ImageReport[];
  redis?: string;
  problems: string[];
  /** What the preflight would note without stopping (e.g. a compose file to update). */
  warnings: string[];
  /** With a load balancer in the plan: each gateway's server in it, as the upgrade's preflight will find it. */
  loadBalancer?: LbServer[];
  /** Compose files (and `.env`) the upgrade will change, each with its diff; what this host's compose makes of them. */
  compose?: { files: Omit<ComposeFileStatus, 'state'>[]; notes: string[] };
  /** Where this host's worker will write the backup (`<its folder>/<stack>/<run id>[/<host>]`). */
  backupDir?: string;
}

export type LbCheck = (input: { lb: LoadBalancerInput; gateways: LbGateway[] }) => Promise<{ servers: LbServer[] }>;

export async function dryRun(docker: Docker, input: UpgradeInput, lbCheck?: LbCheck, env: NodeJS.ProcessEnv = process.env): Promise<DryRunReport> {
  const warnings: string[] = [];
  // One listing for every container's leftovers; the containers looked at several at a time, reported in plan order.
  const leftovers = await leftoverNames(docker);
  const gateways = await mapInOrder(input.gateways, PER_HOST_PARALLEL, (gw) => gatewayReport(docker, gw, input, leftovers, env));
  const pumps = await mapInOrder(input.pumps, PER_HOST_PARALLEL, (pump) => pumpReport(docker, pump, input, leftovers));
  const instances = [...gateways.map((g) => g.report), ...pumps];
  // Redis as the first running gateway that names one sees it (the gateways of one stack share it).
  let redis: string | undefined;
  for (const { report, info } of gateways) {
    if (redis || !info) continue;
    redis = await redisToSave(docker, info);
    const facts = await redisFacts(docker, info, input.gatewayVersion);
    if (redis && facts?.version) redis += `; Redis ${facts.version}`;
    if (facts?.problem) (input.unsupportedRedis === 'refuse' ? report.problems : warnings).push(facts.problem);
  }
  for (const r of instances) if (r.current) checkDirection(r, input.allowDowngrade);

  const images = await imageReports(docker, instances);
  const lb = input.loadBalancer && lbCheck && input.gateways.length ? await checkLoadBalancer(input.loadBalancer, input, lbCheck) : undefined;
  const problems = [
    ...instances.flatMap((r) => r.problems),
    ...images.filter((i) => i.problem).map((i) => i.problem as string),
    ...(lb?.problem ? [lb.problem] : []),
  ];
  // The workflow's own preflight has the last word (e.g. Go plugin builds); only worth asking when all else is fine.
  let compose: DryRunReport['compose'];
  if (!problems.length) {
    try {
      const checked = await preflightChecks(docker, input, env);
      for (const w of checked.warnings) if (!warnings.includes(w)) warnings.push(w);
      problems.push(...checked.compose.problems);
      const seen = await composeDryRun(checked.compose);
      if (seen.files.length || seen.notes.length) compose = seen;
    } catch (err) {
      if (!(err instanceof ApplicationFailure)) throw err;
      problems.push(err.message);
    }
  }
  return { instances, images, redis, problems, warnings, ...(lb?.servers ? { loadBalancer: lb.servers } : {}), ...(compose ? { compose } : {}) };
}

/** One gateway: its container, /hello, what the backup copies and what it serves now. */
async function gatewayReport(
  docker: Docker,
  gw: UpgradeInput['gateways'][number],
  input: UpgradeInput,
  leftovers: Set<string>,
  env: NodeJS.ProcessEnv,
): Promise<{ report: InstanceReport; info?: ContainerInspectInfo }> {
  const { report, info } = await baseReport(docker, 'gateway', gw.container, input.gatewayVersion, leftovers);
  if (!info) return { report };
  const hello = await getHello(gw.url, gw.helloPath);
  if (hello.body?.description !== 'Tyk GW' || !hello.body.version) {
    report.problems.push(
      `"${gw.container}" does not answer like a Tyk gateway at ${gw.url}/${gw.helloPath} (${describeHello(hello)}); is it a Tyk gateway, and is its url in the plan right?`,
    );
  } else {
    report.current = normaliseVersion(hello.body.version);
    report.currentFrom = '/hello';
    report.drainsItself = gatewayHasReady(report.current);
  }
  report.targetImage = `${input.gatewayRepository ?? splitImage(info.Config.Image).repository}:${tagForVersion(input.gatewayVersion)}`;
  report.backup = await backupPaths(docker, info, 'gateway');
  await servingReport(docker, info, gw, input, env, report);
  return { report, info };
}

/** One pump: its container, its health endpoint, the version its log or image tag gives, what the backup copies. */
async function pumpReport(docker: Docker, pump: UpgradeInput['pumps'][number], input: UpgradeInput, leftovers: Set<string>): Promise<InstanceReport> {
  const target = input.pumpVersion ?? '';
  const { report, info } = await baseReport(docker, 'pump', pump.container, target, leftovers);
  if (!info) return report;
  const health = await getPumpHealth(pump.healthUrl);
  if (!health.ok || health.body?.status !== 'ok') {
    report.problems.push(
      `"${pump.container}" does not answer like Tyk Pump at ${pump.healthUrl} (${health.error ?? `HTTP ${health.code}`}); is it Tyk Pump, and is healthUrl in the plan right?`,
    );
  }
  const found = await describePump(docker, info);
  report.current = found.version;
  report.currentFrom = found.versionFrom;
  if (!found.version)
    report.problems.push(`cannot tell which version "${pump.container}" runs: no "## Tyk Pump" line in its log and no version in its image tag`);
  report.targetImage = `${input.pumpRepository ?? splitImage(info.Config.Image).repository}:${tagForVersion(target)}`;
  report.backup = await backupPaths(docker, info, 'pump');
  return report;
}

/** What the gateway serves now and whether the smoke requests pass today: the preflight's checks, as lines. */
async function servingReport(
  docker: Docker,
  info: ContainerInspectInfo,
  gw: UpgradeInput['gateways'][number],
  input: UpgradeInput,
  env: NodeJS.ProcessEnv,
  report: InstanceReport,
): Promise<void> {
  try {
    const s = await preflightServing(docker, info, gw, { inventory: input.inventory !== false, smoke: input.smoke }, env);
    const parts = [...(s.inventory ? [`${inventoryCounts(s.inventory)} loaded now`] : []), ...(s.smoke ? [s.smoke] : [])];
    if (parts.length) report.serving = parts.join('; ');
  } catch (err) {
    if (!(err instanceof ApplicationFailure)) throw err;
    report.problems.push(err.message);
  }
}

/** The preflight's lbCheck, run now: a gateway the load balancer does not have is a problem before anything changes. */
async function checkLoadBalancer(lb: LoadBalancerInput, input: UpgradeInput, lbCheck: LbCheck): Promise<{ servers?: LbServer[]; problem?: string }> {
  const gateways = input.gateways.map((g) => ({ container: g.container, url: g.url, ...(g.host ? { host: g.host } : {}), stack: input.stack }));
  try {
    return { servers: (await lbCheck({ lb, gateways })).servers };
  } catch (err) {
    return { problem: `load balancer: ${(err as Error).message}` };
  }
}

async function baseReport(
  docker: Docker,
  role: Role,
  container: string,
  target: string,
  leftovers: Set<string>,
): Promise<{ report: InstanceReport; info?: ContainerInspectInfo }> {
  const report: InstanceReport = { role, container, state: 'missing', target: normaliseVersion(target), backup: [], problems: [] };
  const info = await inspectContainer(docker, container);
  if (!info) {
    report.problems.push(
      `${role} container "${container}" does not exist on the Docker engine; check the name with \`docker ps -a\` (or write the plan with \`tyk-upgrade init\`)`,
    );
    return { report };
  }
  report.state = info.State.Restarting ? 'restarting' : info.State.Status;
  report.image = info.Config.Image;
  if (!info.State.Running || info.State.Restarting) {
    report.problems.push(`${role} container "${container}" is ${report.state}, not running; start it so its version can be read`);
    return { report };
  }
  report.problems.push(...leftoverProblems(container, leftovers));
  return { report, info };
}

function checkDirection(r: InstanceReport, allowDowngrade: boolean): void {
  const problem = directionProblem(r.container, r.current ?? '', r.target, allowDowngrade);
  if (problem) r.problems.push(problem.message);
}

async function imageReports(docker: Docker, instances: InstanceReport[]): Promise<ImageReport[]> {
  const images = [...new Set(instances.map((r) => r.targetImage).filter((i): i is string => !!i))];
  const out: ImageReport[] = [];
  for (const image of images) {
    if (await onEngine(docker, image)) {
      out.push({ image, where: 'on the engine' });
      continue;
    }
    const why = await imageAvailable(docker, image);
    out.push(why ? { image, problem: `target image ${image} cannot be pulled: ${why}` } : { image, where: 'in the registry' });
  }
  return out;
}

async function onEngine(docker: Docker, image: string): Promise<boolean> {
  try {
    await docker.getImage(image).inspect();
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

/** The config file and those of Tyk's folders that exist in the container, as the backup will copy them. */
async function backupPaths(docker: Docker, info: ContainerInspectInfo, role: Role): Promise<string[]> {
  const conf = confPath(info, role);
  const paths = [conf, ...CONFIG_DIRS[role].map((d) => `${confDir(conf)}/${d}`)];
  const found = await Promise.all(paths.map((p) => readContainerPath(docker, info, p)));
  return paths.filter((_, i) => found[i]);
}

/** Where the backup will BGSAVE: host and port only; the password stays in tyk.conf. */
async function redisToSave(docker: Docker, info: ContainerInspectInfo): Promise<string | undefined> {
  const target = redisTarget(await readConf(docker, info, 'gateway').catch(() => undefined), info.Config.Env ?? [], 'gateway');
  return target && `BGSAVE on Redis at ${target.host}:${target.port} (db ${target.db})`;
}
