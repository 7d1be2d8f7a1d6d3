// Compose's variable interpolation ($VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, ${VAR?err}, $$),
// done the way compose does it but keeping, for every character of the result, where in which file it came from:
// that is what lets an upgrade change the version where it is written and nothing else. Pure.

/** Where a piece of text is written: `file` from offset `start` (the text occupies [start, start + length)). */
export interface Site {
  file: string;
  start: number;
  /** What is written there, for messages: `image: in docker-compose.yml`, `TYK_VERSION in .env`. */
  label: string;
}

/** A run of the resolved value; without a site it cannot be edited (a `$$`, or text compose derives). */
export interface Segment {
  text: string;
  site?: Site;
}

/** A variable's value as the project's env files give it. */
export interface EnvValue {
  value: string;
  /** Absent when the value cannot be edited in place (quoted with escapes, or itself interpolated). */
  site?: Site;
}

export type Interpolated = { ok: true; segments: Segment[]; variables: string[] } | { ok: false; why: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

/**
 * `text` is a scalar's value as YAML gives it; `site` where its first character is in the file, when every
 * character of the value stands at its own place in the source (plain or simply quoted scalars).
 */
export function interpolate(text: string, site: Site | undefined, env: Map<string, EnvValue>): Interpolated {
  const segments: Segment[] = [];
  const variables: string[] = [];
  const literal = (from: number, to: number) => {
    if (to > from) segments.push({ text: text.slice(from, to), ...(site ? { site: { ...site, start: site.start + from } } : {}) });
  };
  let i = 0;
  let run = 0;
  while (i < text.length) {
    if (text[i] !== '$') {
      i++;
      continue;
    }
    literal(run, i);
    if (text[i + 1] === '$') {
      segments.push({ text: '$' });
      i += 2;
      run = i;
      continue;
    }
    const braced = text[i + 1] === '{';
    const rest = text.slice(i + (braced ? 2 : 1));
    const name = NAME.exec(rest)?.[0];
    if (!name) return { ok: false, why: `"${text}" has a "$" compose would not read as a variable` };
    variables.push(name);
    const known = env.get(name);
    if (!braced) {
      if (!known) return { ok: false, why: `$${name} is not set in the project's env file (it may come from the shell that ran compose)` };
      segments.push(valueSegment(known));
      i += 1 + name.length;
      run = i;
      continue;
    }
    const close = text.indexOf('}', i + 2 + name.length);
    if (close < 0) return { ok: false, why: `"${text}" has an unclosed "\${"` };
    const op = text.slice(i + 2 + name.length, close);
    const opStart = i + 2 + name.length;
    const m = /^(:?)([-?+]?)/.exec(op) as RegExpExecArray;
    const colon = m[1] === ':';
    const kind = m[2];
    if (op && !kind) return { ok: false, why: `"\${${name}${op}}" is not a form compose interpolates` };
    const arg = op.slice(m[0].length);
    const argStart = opStart + m[0].length;
    if (arg.includes('$') || arg.includes('{')) return { ok: false, why: `"\${${name}${op}}" nests variables; the version's place cannot be told` };
    const set = !!known && (!colon || known.value !== '');
    if (kind === '+') {
      // ${VAR:+alt}: the alternative when set, else nothing.
      if (set) segments.push({ text: arg, ...(site ? { site: { ...site, start: site.start + argStart } } : {}) });
    } else if (set) {
      segments.push(valueSegment(known as EnvValue));
    } else if (kind === '-') {
      segments.push({ text: arg, ...(site ? { site: { ...site, start: site.start + argStart, label: `the default of \${${name}} in ${site.label}` } } : {}) });
    } else {
      return { ok: false, why: `${name} is not set in the project's env file (it may come from the shell that ran compose)` };
    }
    i = close + 1;
    run = i;
  }
  literal(run, text.length);
  return { ok: true, segments: merge(segments), variables };
}

function valueSegment(v: EnvValue): Segment {
  return { text: v.value, ...(v.site ? { site: v.site } : {}) };
}

/** Neighbouring literal runs of one source are one segment: an edit may then span them. */
function merge(segments: Segment[]): Segment[] {
  const out: Segment[] = [];
  for (const s of segments) {
    const last = out[out.length - 1];
    if (last?.site && s.site && last.site.file === s.site.file && last.site.label === s.site.label && last.site.start + last.text.length === s.site.start) {
      last.text += s.text;
    } else out.push({ ...s });
  }
  return out;
}
