// The change an upgrade makes to a compose project's files: for each service it moves, the version where it is
// written (a literal tag, a variable's value in the env file, a default), and nothing else. A place several
// services share (one TYK_GW_VERSION for two gateways, one anchor) changes only when every one of them moves
// to the same image in this run. Pure: sources and targets in, edits and the files' new text out.
import type { Segment } from './interpolate';
import type { ImageSource } from './locate';

/** One service the plan moves, with the image its container runs and the one it will run. */
export interface ServiceMove {
  service: string;
  from: string;
  to: string;
}

/** Bytes [start, end) of `file` go from `before` to `after`. */
export interface Edit {
  file: string;
  start: number;
  end: number;
  before: string;
  after: string;
  /** What is written there, for people: `TYK_VERSION in .env`. */
  label: string;
  /** Every service whose image comes from this place (all of them move, or the edit is refused). */
  services: string[];
}

export interface ProjectEdits {
  edits: Edit[];
  /** Why the plan is refused: a shared place some service of it does not move with. */
  problems: string[];
  /** Services whose image cannot be traced to one place: their files are left alone, with the reason. */
  untraced: { service: string; why: string }[];
}

const siteKey = (s: Segment) => (s.site ? `${s.site.file}\0${s.site.start}` : '');

/** Where in `from` the change lies: the tag when only the tag changes, else the smallest differing run. */
function changedRegion(from: string, to: string): { a: number; b: number; after: string }[] {
  const regions: { a: number; b: number; after: string }[] = [];
  const tagOf = (image: string) => /:([\w][\w.-]{0,127})$/.exec(image.slice(image.lastIndexOf('/') + 1))?.[1];
  const [tf, tt] = [tagOf(from), tagOf(to)];
  if (tf && tt && from.slice(0, -tf.length) === to.slice(0, -tt.length)) regions.push({ a: from.length - tf.length, b: from.length, after: tt });
  let p = 0;
  while (p < from.length && p < to.length && from[p] === to[p]) p++;
  let s = 0;
  while (s < from.length - p && s < to.length - p && from[from.length - 1 - s] === to[to.length - 1 - s]) s++;
  regions.push({ a: p, b: from.length - s, after: to.slice(p, to.length - s) });
  return regions;
}

/** The edit that turns `source` (which resolves to `move.from`) into `move.to`, if the change lies in one place. */
function editFor(source: Segment[], move: ServiceMove): Omit<Edit, 'services'> | undefined {
  for (const r of changedRegion(move.from, move.to)) {
    let offset = 0;
    for (const seg of source) {
      const end = offset + seg.text.length;
      if (seg.site && offset <= r.a && r.b <= end && (r.b > r.a || r.a < end || seg === source[source.length - 1])) {
        const start = seg.site.start + (r.a - offset);
        return { file: seg.site.file, start, end: start + (r.b - r.a), before: move.from.slice(r.a, r.b), after: r.after, label: seg.site.label };
      }
      offset = end;
    }
  }
  return undefined;
}

/**
 * The edits for the moves of one project. `sources` holds every service of the project (moved or not), so a
 * place shared with a service the plan leaves alone is found.
 */
export function planEdits(project: string, sources: Map<string, ImageSource>, moves: ServiceMove[]): ProjectEdits {
  const untraced: ProjectEdits['untraced'] = [];
  const problems: string[] = [];
  const bySite = new Map<string, { edit: Omit<Edit, 'services'>; movers: ServiceMove[]; key: string }>();
  for (const m of moves) {
    const src = sources.get(m.service);
    if (!src?.ok) {
      untraced.push({ service: m.service, why: src ? src.why : `service "${m.service}" is not in the project's files` });
      continue;
    }
    if (src.image !== m.from) {
      untraced.push({
        service: m.service,
        why: `the project's files give service "${m.service}" the image ${src.image}, but its container runs ${m.from} (set in the shell that ran compose, or the files changed since)`,
      });
      continue;
    }
    const edit = editFor(src.segments, m);
    if (!edit) {
      untraced.push({ service: m.service, why: `the version of service "${m.service}" is not written in one place that can be edited (${src.image})` });
      continue;
    }
    const seg = src.segments.find((s) => s.site && s.site.file === edit.file && s.site.start <= edit.start && edit.end <= s.site.start + s.text.length);
    const key = seg ? siteKey(seg) : `${edit.file}\0${edit.start}`;
    const at = bySite.get(key);
    if (!at) bySite.set(key, { edit, movers: [m], key });
    else if (at.edit.start !== edit.start || at.edit.end !== edit.end || at.edit.after !== edit.after) {
      problems.push(
        `${edit.label} is shared by services ${[...at.movers, m].map((x) => `"${x.service}" (to ${x.to})`).join(' and ')} of compose project "${project}": one place cannot name two versions; give each service its own variable or image line first`,
      );
      bySite.delete(key);
    } else at.movers.push(m);
  }
  const edits: Edit[] = [];
  for (const { edit, movers, key } of bySite.values()) {
    const users = [...sources].filter(([, s]) => s.ok && s.segments.some((seg) => siteKey(seg) === key)).map(([name]) => name);
    const left = users.filter((u) => !movers.some((m) => m.service === u));
    if (left.length) {
      const moved = movers.map((m) => `"${m.service}"`).join(', ');
      problems.push(
        `${edit.label} names the image of services ${users.map((u) => `"${u}"`).join(', ')} of compose project "${project}", but this plan moves only ${moved}: ` +
          `add the container${left.length === 1 ? '' : 's'} of ${left.map((u) => `"${u}"`).join(', ')} to the plan, or split it first (e.g. a variable of its own for ${moved}) and upgrade them separately`,
      );
      continue;
    }
    edits.push({ ...edit, services: users });
  }
  return { edits: edits.sort((x, y) => (x.file === y.file ? x.start - y.start : x.file < y.file ? -1 : 1)), problems, untraced };
}

/** A file's text with the edits made, later offsets first so earlier ones stay valid. */
export function applyEdits(text: string, file: string, edits: Edit[]): string {
  let out = text;
  for (const e of edits.filter((x) => x.file === file).sort((x, y) => y.start - x.start)) {
    if (out.slice(e.start, e.end) !== e.before) throw new Error(`${file} changed at ${e.label}: expected "${e.before}" at offset ${e.start}`);
    out = out.slice(0, e.start) + e.after + out.slice(e.end);
  }
  return out;
}

/**
 * A unified diff of the lines the edits touch, without context lines: a compose file or .env may hold secrets
 * in the lines around the version, and this diff is shown by `plan` and kept in workflow history.
 */
export function unifiedDiff(label: string, before: string, after: string): string {
  const a = before.split('\n');
  const b = after.split('\n');
  const out = [`--- a/${label}`, `+++ b/${label}`];
  // The edits never add or remove a line, so the lines pair up.
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i]) continue;
    out.push(`@@ -${i + 1} +${i + 1} @@`, `-${shorten(a[i], b[i])}`, `+${shorten(b[i], a[i])}`);
  }
  return out.join('\n');
}

/** A long line (flow-style YAML) is cut down to the part around the change. */
function shorten(line: string, other: string): string {
  if (line.length <= 200) return line;
  let p = 0;
  while (p < line.length && line[p] === other[p]) p++;
  const from = Math.max(0, p - 40);
  return `${from > 0 ? '…' : ''}${line.slice(from, p + 40)}${p + 40 < line.length ? '…' : ''}`;
}
