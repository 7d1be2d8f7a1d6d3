// Settings whose meaning changes across an upgrade although their bytes do not (the tool never edits tyk.conf).
// liveness_check.check_duration: Tyk 5.2/5.3 tick every `n` seconds (`time.Second * n`); from 5.4 the same number
// is a Go duration in nanoseconds (TykTechnologies/tyk#6068). Checked on the real builds: 5.3.0 with 1000000000
// never reports details.redis (a billion seconds), and 5.8.10 with 2 runs its Redis check every 2 ns, about two
// thirds of a core on this machine.
import { compareVersions, normaliseVersion, parseVersion } from '../shared/version';
import type { TykConf } from './tyk-config';

/** The first release that reads check_duration as nanoseconds. */
const NANOSECONDS_FROM = { major: 5, minor: 4, patch: 0, suffix: '' };
/** Below this a value was written in seconds: as nanoseconds it would be under a millisecond. */
const SECONDS_STYLE_BELOW = 1_000_000;

const readsNanoseconds = (version: string) => {
  const v = parseVersion(version);
  return !!v && compareVersions(v, NANOSECONDS_FROM) >= 0;
};

/** check_duration as the gateway reads it: TYK_GW_LIVENESSCHECK_CHECKDURATION over tyk.conf (a number, or a Go duration string in the env). */
function checkDuration(conf: TykConf | undefined, env: string[]): { value: string; from: string } | undefined {
  const fromEnv = env.find((e) => e.startsWith('TYK_GW_LIVENESSCHECK_CHECKDURATION='));
  if (fromEnv) return { value: fromEnv.slice(fromEnv.indexOf('=') + 1), from: 'TYK_GW_LIVENESSCHECK_CHECKDURATION' };
  const v = ((conf?.liveness_check ?? {}) as Record<string, unknown>).check_duration;
  return typeof v === 'number' && v !== 0 ? { value: String(v), from: 'liveness_check.check_duration in tyk.conf' } : undefined;
}

/**
 * A warning when the gateway's check_duration is written for the unit of the version it runs and the target reads
 * it in the other: seconds-style (a small number) into 5.4+, or nanoseconds-style into 5.3 and older.
 */
export function checkDurationWarning(container: string, conf: TykConf | undefined, env: string[], from: string, to: string): string | undefined {
  const found = checkDuration(conf, env);
  if (!found || !/^\d+$/.test(found.value)) return undefined; // unset, 0, or a Go duration string ("10s"): the same everywhere it parses
  const n = Number(found.value);
  const [before, after] = [readsNanoseconds(from), readsNanoseconds(to)];
  const [f, t] = [normaliseVersion(from), normaliseVersion(to)];
  if (!before && after && n < SECONDS_STYLE_BELOW) {
    return (
      `${container}: ${found.from} is ${n}, which ${f} reads as ${n} s but ${t} as ${n} ns (Tyk 5.4 changed its unit, TykTechnologies/tyk#6068): ` +
      `after the upgrade the gateway would check Redis back to back and burn CPU. Remove it (Tyk's default, 10 s) or set it to ${n * 1e9} right after the upgrade`
    );
  }
  if (before && !after && n >= SECONDS_STYLE_BELOW) {
    return (
      `${container}: ${found.from} is ${n}, which ${f} reads as ${n / 1e9} s but ${t} as ${n} s (Tyk before 5.4 reads seconds, TykTechnologies/tyk#6068): ` +
      `${t} would not report details.redis in time and the health check would fail. Remove it (Tyk's default, 10 s) or set it to ${Math.max(1, Math.round(n / 1e9))} first`
    );
  }
  return undefined;
}
