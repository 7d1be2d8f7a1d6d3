// Finding Tyk on a Docker engine: which running containers are gateways and pumps (by label, image name or
// entrypoint), where their health endpoints answer (from their own config and port bindings), what they run.
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { nameOf } from './docker-util';
import { containerSecret, fetchInventory } from './gateway-api';
import { probe } from './smoke';
import { readConf, type TykConf } from './tyk-config';
import type { ApiEntry } from '../shared/serving';
import { getHello } from './tyk-http';
import { startupVersion } from './versions-from-logs';
import { failedContainerName, newContainerName, oldContainerName } from '../shared/names';
import type { Role } from '../shared/types';
import { normaliseVersion, parseVersion, splitImage } from '../shared/version';
import { ROLE_LABEL, SANDBOX_LABEL } from '../shared/names';

const COMPOSE_PROJECT = 'com.docker.compose.project';

export interface FoundContainer {
  role: Role;
  container: string;
  image: string;
  /** Gateway: base URL of /hello; pump: full health URL. */
  url: string;
  helloPath: string;
  version?: string;
  /** Where the version was read: /hello, the log or the image tag. */
  versionFrom?: string;
  /** Sandbox name or compose project, when the container carries one. */
  group?: string;
  note?: string;
  /** Gateway: where its APIs answer, when not `url` (a separate control_api_port). */
  apiUrl?: string;
  /** Gateway: its keyless, active APIs and what GET on their listen path answers today (for `init`'s smoke requests). */
  keyless?: { id: string; listenPath: string; status?: number; error?: string }[];
}

/** Tyk's images: docker.tyk.io/tyk-gateway/tyk-gateway, tykio/tyk-gateway, tykio/tyk-pump-docker-pub, ... */
export function roleOf(info: ContainerInspectInfo): Role | undefined {
  const label = info.Config.Labels?.[ROLE_LABEL];
  if (label === 'gateway' || label === 'pump') return label;
  if (label) return undefined;
  const last = splitImage(info.Config.Image).repository.split('/').pop() ?? '';
  if (/tyk-gateway/.test(last)) return 'gateway';
  if (/tyk-pump/.test(last)) return 'pump';
  const entry = (info.Config.Entrypoint ?? []) as string[];
  if (entry[0] === '/opt/tyk-gateway/tyk') return 'gateway';
  if (entry[0] === '/opt/tyk-pump/tyk-pump') return 'pump';
  return undefined;
}

/** Running Tyk containers, optionally only those with every label given as key=value (or key). */
export async function discoverTyk(docker: Docker, labels: string[]): Promise<FoundContainer[]> {
  const list = await docker.listContainers({ filters: { status: ['running'], ...(labels.length ? { label: labels } : {}) } });
  const found: FoundContainer[] = [];
  for (const c of list) {
    const info = await docker.getContainer(c.Id).inspect();
    const role = roleOf(info);
    const name = nameOf(info);
    if (!role || isUpgradeLeftover(name)) continue;
    found.push(role === 'gateway' ? await describeGateway(docker, info) : await describePump(docker, info));
  }
  return found.sort((a, b) => a.container.localeCompare(b.container, 'en', { numeric: true }));
}

/** A container an unfinished upgrade renamed (src/shared/names.ts); not part of the stack to plan for. */
function isUpgradeLeftover(name: string): boolean {
  const base = name.replace(/-tyk-upgrade-(old|new|failed)$/, '');
  return [oldContainerName(base), newContainerName(base), failedContainerName(base)].includes(name);
}

export async function describeGateway(docker: Docker, info: ContainerInspectInfo): Promise<FoundContainer> {
  const conf = await readConf(docker, info, 'gateway').catch(() => undefined);
  const env = envOf(info, 'TYK_GW_');
  const listenPort = Number(env.LISTENPORT ?? get(conf, 'listen_port') ?? 8080);
  const controlPort = Number(env.CONTROLAPIPORT ?? get(conf, 'control_api_port') ?? 0);
  const port = controlPort || listenPort;
  const tls = String(env.HTTPSERVEROPTIONS_USESSL ?? get(conf, 'http_server_options', 'use_ssl') ?? 'false') === 'true';
  const where = reachable(info, port, String(env.LISTENADDRESS ?? get(conf, 'listen_address') ?? ''));
  const helloPath = String(env.HEALTHCHECKENDPOINTNAME ?? get(conf, 'health_check_endpoint_name') ?? 'hello').replace(/^\//, '') || 'hello';
  const scheme = tls ? 'https' : 'http';
  const url = `${scheme}://${where.host}:${where.port}`;
  const hello = await getHello(url, helloPath, 2000);
  const api =
    controlPort && controlPort !== listenPort ? reachable(info, listenPort, String(env.LISTENADDRESS ?? get(conf, 'listen_address') ?? '')) : undefined;
  const apiUrl = api ? `${scheme}://${api.host}:${api.port}` : undefined;
  return {
    role: 'gateway',
    container: nameOf(info),
    image: info.Config.Image,
    url,
    helloPath,
    version: hello.body?.version ? normaliseVersion(hello.body.version) : undefined,
    versionFrom: '/hello',
    group: groupOf(info),
    note: where.note ?? (hello.body?.version ? undefined : `no answer from ${url}/${helloPath}: ${hello.error ?? `HTTP ${hello.code}`}`),
    ...(apiUrl ? { apiUrl } : {}),
    ...(await keylessApis(docker, info, url, apiUrl ?? url)),
  };
}

/** Best effort: each keyless, active API and its answer today; nothing when the Gateway API cannot be read. */
async function keylessApis(docker: Docker, info: ContainerInspectInfo, url: string, apiUrl: string): Promise<Pick<FoundContainer, 'keyless'>> {
  let apis: ApiEntry[];
  try {
    apis = (await fetchInventory(url, await containerSecret(docker, info), 2000)).apis;
  } catch {
    return {};
  }
  const keyless = [];
  for (const a of apis.filter((x) => x.keyless && x.active && x.listenPath)) {
    const res = await probe(apiUrl, 'GET', a.listenPath, {}, 2000);
    keyless.push({ id: a.id, listenPath: a.listenPath, ...('error' in res ? { error: res.error } : { status: res.status }) });
  }
  return { keyless };
}

export async function describePump(docker: Docker, info: ContainerInspectInfo): Promise<FoundContainer> {
  const conf = await readConf(docker, info, 'pump').catch(() => undefined);
  const env = envOf(info, 'TYK_PMP_');
  const port = Number(env.HEALTHCHECKENDPOINTPORT ?? get(conf, 'health_check_endpoint_port') ?? 8083);
  const name = String(env.HEALTHCHECKENDPOINTNAME ?? get(conf, 'health_check_endpoint_name') ?? 'health').replace(/^\//, '') || 'health';
  const where = reachable(info, port, '');
  const fromLog = await startupVersion(docker, info, 'pump').catch(() => undefined);
  const tag = splitImage(info.Config.Image).tag;
  const version = fromLog ?? (parseVersion(tag) ? tag : undefined);
  return {
    role: 'pump',
    container: nameOf(info),
    image: info.Config.Image,
    url: `http://${where.host}:${where.port}/${name}`,
    helloPath: '',
    version: version && normaliseVersion(version),
    versionFrom: fromLog ? 'log' : 'image tag',
    group: groupOf(info),
    note: where.note,
  };
}

/** The sandbox or compose project a container belongs to. */
export function groupOf(info: ContainerInspectInfo): string | undefined {
  return info.Config.Labels?.[SANDBOX_LABEL] ?? info.Config.Labels?.[COMPOSE_PROJECT];
}

/** Where the worker can reach a port of the container: the host itself, a published port, or the container's IP. */
function reachable(info: ContainerInspectInfo, port: number, listenAddress: string): { host: string; port: number; note?: string } {
  if (info.HostConfig.NetworkMode === 'host') {
    const host = listenAddress && listenAddress !== '0.0.0.0' && listenAddress !== '::' ? listenAddress : '127.0.0.1';
    return { host, port };
  }
  const binding = info.NetworkSettings.Ports?.[`${port}/tcp`]?.[0];
  if (binding?.HostPort) {
    const host = !binding.HostIp || binding.HostIp === '0.0.0.0' || binding.HostIp === '::' ? '127.0.0.1' : binding.HostIp;
    return { host, port: Number(binding.HostPort) };
  }
  const ip = Object.values(info.NetworkSettings.Networks ?? {}).find((n) => n.IPAddress)?.IPAddress;
  return {
    host: ip ?? '127.0.0.1',
    port,
    note: `port ${port} is not published; the URL uses the container's address, which the worker must be able to reach`,
  };
}

/** TYK_GW_LISTENPORT=8080 → { LISTENPORT: '8080' }: Tyk's environment overrides of its config file. */
function envOf(info: ContainerInspectInfo, prefix: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of info.Config.Env ?? []) {
    const eq = e.indexOf('=');
    if (eq > 0 && e.startsWith(prefix)) out[e.slice(prefix.length, eq)] = e.slice(eq + 1);
  }
  return out;
}

function get(conf: TykConf | undefined, ...path: string[]): unknown {
  let v: unknown = conf;
  for (const p of path) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v === '' || v === null ? undefined : v;
}
