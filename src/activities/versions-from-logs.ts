// Versions as Tyk prints them at start (standins/README.md): the gateway's "Tyk API Gateway 5.3.0",
// the pump's "## Tyk Pump, 1.12.0 ##".
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { startupLog } from './docker-util';

const GATEWAY_RE = /Tyk API Gateway (v?\d+\.\d+\.\d+\S*?)["\s]/g;
const PUMP_RE = /## Tyk Pump,? (v?\d+\.\d+\.\d+\S*) ##/g;

function last(re: RegExp, text: string): string | undefined {
  let found: string | undefined;
  for (const m of text.matchAll(re)) found = m[1];
  return found;
}

/** The version in the newest start-up line of a log; undefined when the log does not show one. */
export function versionInLog(role: 'gateway' | 'pump', log: string): string | undefined {
  return last(role === 'gateway' ? GATEWAY_RE : PUMP_RE, `${log}\n`);
}

/** What a run of a container printed at its start never changes: found once per run, not read again. */
const seen = new Map<string, string>();

/**
 * The version a container printed when it last started (from its start-up lines, not a tail of its log);
 * undefined when it printed none (yet, or its log_level hides it).
 */
export async function startupVersion(docker: Docker, info: ContainerInspectInfo, role: 'gateway' | 'pump'): Promise<string | undefined> {
  const key = `${role} ${info.Id} ${info.State.StartedAt}`;
  const known = seen.get(key);
  if (known) return known;
  const version = versionInLog(role, await startupLog(docker, info));
  if (version) seen.set(key, version);
  return version;
}
