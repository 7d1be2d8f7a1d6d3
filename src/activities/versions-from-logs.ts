// Versions as Tyk prints them at start (standins/README.md): the gateway's "Tyk API Gateway 5.3.0",
// the pump's "## Tyk Pump, 1.12.0 ##".
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
