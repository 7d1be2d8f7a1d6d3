// Go plugins must be rebuilt for the exact gateway version. From 4.3.2/5.0.0 the gateway first tries
// {dir}/{name}_v{ver}_{os}_{arch}.so (Tyk 4.3.2+ and 5.0+), so the new build can be staged beside the old one.
import { normaliseVersion } from '../shared/version';
import { tarEntries } from './archive';

export interface GoPluginUse {
  api: string;
  path: string;
}

interface ApiDefinition {
  name?: string;
  api_id?: string;
  custom_middleware?: {
    driver?: string;
    pre?: { path?: string }[];
    post?: { path?: string }[];
    post_key_auth?: { path?: string }[];
    response?: { path?: string }[];
    auth_check?: { path?: string };
  };
}

/** Every Go plugin path named by the API definitions in an archive of apps/. */
export async function findGoPlugins(appsTar: Buffer): Promise<GoPluginUse[]> {
  const uses: GoPluginUse[] = [];
  for (const [name, content] of await tarEntries(appsTar)) {
    if (!name.endsWith('.json')) continue;
    let def: ApiDefinition;
    try {
      def = JSON.parse(content.toString('utf8')) as ApiDefinition;
    } catch {
      continue;
    }
    const mw = def.custom_middleware;
    if (mw?.driver !== 'goplugin') continue;
    const hooks = [...(mw.pre ?? []), ...(mw.post ?? []), ...(mw.post_key_auth ?? []), ...(mw.response ?? []), mw.auth_check ?? {}];
    for (const path of new Set(hooks.map((h) => h.path).filter((p): p is string => !!p))) {
      uses.push({ api: def.name ?? def.api_id ?? name, path });
    }
  }
  return uses;
}

/** The versioned file name the target gateway loads first, as an absolute path inside the container. */
export function pluginBuildName(path: string, version: string, arch: string, workdir: string): string {
  const abs = path.startsWith('/') ? path : `${(workdir || '/opt/tyk-gateway').replace(/\/$/, '')}/${path}`;
  const dir = abs.replace(/\/[^/]+$/, '');
  const base = abs
    .slice(dir.length + 1)
    .replace(/\.so$/, '')
    .replace(/_v?\d+\.\d+\.\d+[^_]*_[a-z]+_[a-z0-9]+$/, '');
  return `${dir}/${base}_v${normaliseVersion(version)}_linux_${arch}.so`;
}
