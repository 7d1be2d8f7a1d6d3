// The project's env file (`.env`, or the --env-file compose was given), read for interpolation with the place of
// each value, so a version can be changed where it is written. Only what compose v1 (python-dotenv) and v2
// (compose-go) read alike is taken as editable: KEY=value, export KEY=value, "value" or 'value' without escapes,
// an unquoted value up to a " #" comment. Pure.
import type { EnvValue } from './interpolate';

export interface EnvFile {
  path: string;
  /** The label messages use: ".env", or the path. */
  label: string;
  text: string;
}

/** Every variable the files define, later files over earlier ones, as compose reads several --env-file. */
export function readEnvFiles(files: EnvFile[]): Map<string, EnvValue> {
  const env = new Map<string, EnvValue>();
  for (const f of files) for (const [k, v] of parseEnv(f)) env.set(k, v);
  return env;
}

export function parseEnv(f: EnvFile): Map<string, EnvValue> {
  const out = new Map<string, EnvValue>();
  const twice = new Set<string>();
  let offset = 0;
  for (const line of f.text.split('\n')) {
    const start = offset;
    offset += line.length + 1;
    const m = /^(\s*(?:export\s+)?)([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*/.exec(line);
    if (!m || /^\s*#/.test(line)) continue;
    const key = m[2];
    const at = start + m[0].length;
    const raw = line.slice(m[0].length).replace(/\r$/, '');
    const site = { file: f.path, label: `${key} in ${f.label}` };
    let v: EnvValue;
    const q = raw[0];
    if (q === '"' || q === "'") {
      const end = raw.indexOf(q, 1);
      const inner = end > 0 ? raw.slice(1, end) : raw.slice(1);
      // Escapes and expansion are where the two composes differ: read it, but do not edit it.
      const plain = end > 0 && !inner.includes('\\') && !(q === '"' && inner.includes('$'));
      v = { value: inner, ...(plain ? { site: { ...site, start: at + 1 } } : {}) };
    } else {
      const comment = /\s+#/.exec(raw);
      const value = (comment ? raw.slice(0, comment.index) : raw).trimEnd();
      v = { value, ...(value.includes('$') ? {} : { site: { ...site, start: at } }) };
    }
    if (out.has(key)) twice.add(key);
    out.set(key, v);
  }
  // Defined twice in one file: which one wins differs between compose versions, so neither is edited.
  for (const k of twice) out.set(k, { value: (out.get(k) as EnvValue).value });
  return out;
}
