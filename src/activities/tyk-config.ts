// Reading Tyk's config out of a container, and keeping its secrets out of every message we produce.
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import type { Role } from '../shared/types';
import { tarEntries } from './archive';
import { readContainerPath } from './host-files';

export const DEFAULT_CONF: Record<Role, string> = {
  gateway: '/opt/tyk-gateway/tyk.conf',
  pump: '/opt/tyk-pump/pump.conf',
};

/** What Tyk's upgrade guide says to back up, besides the config file itself. */
export const CONFIG_DIRS: Record<Role, string[]> = {
  gateway: ['apps', 'policies', 'middleware', 'certs'],
  pump: [],
};

/** The config path the container runs with: its `--conf` argument, else the image default. */
export function confPath(info: ContainerInspectInfo, role: Role): string {
  const args = [...(info.Config.Entrypoint ?? []), ...(info.Config.Cmd ?? [])] as string[];
  for (let i = 0; i < args.length; i++) {
    const m = /^--?conf(?:=(.+))?$/.exec(args[i]);
    if (m) return absolute(m[1] ?? args[i + 1] ?? DEFAULT_CONF[role], info.Config.WorkingDir);
  }
  return DEFAULT_CONF[role];
}

function absolute(path: string, workdir: string): string {
  return path.startsWith('/') ? path : `${workdir.replace(/\/$/, '') || ''}/${path}`;
}

/** Folder that holds the config file; the backed-up folders are relative to it. */
export function confDir(path: string): string {
  return path.replace(/\/[^/]+$/, '') || '/';
}

export type TykConf = Record<string, unknown>;

/** Parsed config file from inside the container; undefined when it is missing or not JSON. */
export async function readConf(docker: Docker, info: ContainerInspectInfo, role: Role): Promise<TykConf | undefined> {
  const path = confPath(info, role);
  const tar = await readContainerPath(docker, info, path);
  if (!tar) return undefined;
  const content = (await tarEntries(tar)).get(path.split('/').pop() as string);
  if (!content) return undefined;
  try {
    return JSON.parse(content.toString('utf8')) as TykConf;
  } catch {
    return undefined;
  }
}

const SECRET_KEYS = new Set([
  'secret',
  'node_secret',
  'password',
  'sentinel_password',
  'connection_string',
  'policy_connection_string',
  'api_key',
  'private_certificate_encoding_secret',
  'license_key',
  'sentry_code',
  'token',
  'master_key',
  'secret_key',
]);
const SECRET_SCHEMES = /^(env|secrets|vault|consul):\/\//;
const SECRET_ENV = /(SECRET|PASSWORD|TOKEN|KEY|CONNECTIONSTRING|LICENSE)/i;

/** Every secret value in a Tyk config and in the container's environment. */
export function secretValues(conf: TykConf | undefined, env: string[] = []): string[] {
  const found = new Set<string>();
  const walk = (value: unknown, key: string, underSecretMap: boolean) => {
    if (typeof value === 'string') {
      if (underSecretMap || SECRET_KEYS.has(key) || SECRET_SCHEMES.test(value)) found.add(value);
    } else if (Array.isArray(value)) {
      for (const v of value) walk(v, key, underSecretMap);
    } else if (value && typeof value === 'object') {
      for (const [k, v] of Object.entries(value)) walk(v, k, underSecretMap || k === 'secrets' || k === 'header_map');
    }
  };
  walk(conf, '', false);
  for (const entry of env) {
    const eq = entry.indexOf('=');
    if (eq > 0 && SECRET_ENV.test(entry.slice(0, eq))) found.add(entry.slice(eq + 1));
  }
  return [...found].filter((s) => s.length >= 3);
}

/** A function that replaces every secret in a text with "***". Longest first, so no prefix survives. */
export function redactor(secrets: string[]): (text: string) => string {
  const sorted = [...secrets].sort((a, b) => b.length - a.length);
  return (text) => sorted.reduce((t, s) => t.split(s).join('***'), text);
}

export interface RedisTarget {
  host: string;
  port: number;
  password?: string;
  db: number;
}

/** Where the gateway's (or pump's) Redis is, with TYK_GW_/TYK_PMP_ environment overrides applied. */
export function redisTarget(conf: TykConf | undefined, env: string[], role: Role): RedisTarget | undefined {
  const section = (role === 'gateway' ? conf?.storage : conf?.analytics_storage_config) as Record<string, unknown> | undefined;
  const prefix = role === 'gateway' ? 'TYK_GW_STORAGE_' : 'TYK_PMP_ANALYTICSSTORAGECONFIG_';
  const fromEnv = (name: string) =>
    env
      .find((e) => e.startsWith(`${prefix}${name}=`))
      ?.split('=')
      .slice(1)
      .join('=');
  const host = fromEnv('HOST') ?? (section?.host as string | undefined);
  const port = Number(fromEnv('PORT') ?? section?.port ?? 6379);
  if (!host) return undefined;
  const password = fromEnv('PASSWORD') ?? (section?.password as string | undefined);
  return { host, port, password: password || undefined, db: Number(fromEnv('DATABASE') ?? section?.database ?? 0) };
}
