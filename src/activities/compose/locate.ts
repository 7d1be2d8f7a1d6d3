// Where a compose service's image is written: which file, which scalar, which variable. Compose merges the
// project's files in order (a later file's `image:` wins, as with an override file), follows YAML anchors,
// aliases and `<<` merge keys, then interpolates variables from the env file. Pure: texts in, segments out.
import { isAlias, isMap, isScalar, isSeq, parseDocument, type Document, type Node, type YAMLMap } from 'yaml';
import { interpolate, type EnvValue, type Segment, type Site } from './interpolate';

export interface ComposeFile {
  path: string;
  /** How messages name it (its path relative to the project folder). */
  label: string;
  text: string;
}

export interface ParsedFile extends ComposeFile {
  doc: Document;
}

export type ImageSource = { ok: true; image: string; segments: Segment[] } | { ok: false; why: string };

export function parseComposeFiles(files: ComposeFile[]): { parsed: ParsedFile[] } | { why: string } {
  const parsed: ParsedFile[] = [];
  for (const f of files) {
    const doc = parseDocument(f.text, { uniqueKeys: true });
    if (doc.errors.length) return { why: `${f.label} does not parse as YAML: ${doc.errors[0].message.split('\n')[0]}` };
    parsed.push({ ...f, doc });
  }
  return { parsed };
}

/** Every service the project's files name, in the order they first appear. */
export function serviceNames(files: ParsedFile[]): string[] {
  const names: string[] = [];
  for (const f of files) {
    const services = f.doc.get('services', true);
    if (!isMap(services)) continue;
    for (const p of services.items) {
      const k = isScalar(p.key) ? String(p.key.value) : undefined;
      if (k && !names.includes(k)) names.push(k);
    }
  }
  return names;
}

/** The service's image as compose resolves it, each piece with the place it is written. */
export function locateImage(files: ParsedFile[], service: string, env: Map<string, EnvValue>): ImageSource {
  let found: { node: Node; file: ParsedFile } | undefined;
  let extendsIn: string | undefined;
  for (const f of files) {
    const svc = deref(f.doc, f.doc.getIn(['services', service], true) as Node | undefined);
    if (!isMap(svc)) continue;
    const image = lookup(f.doc, svc, 'image');
    if (image) found = { node: image, file: f };
    else if (lookup(f.doc, svc, 'extends')) extendsIn = f.label;
  }
  if (!found) {
    return {
      ok: false,
      why: extendsIn ? `service "${service}" takes its image through extends: in ${extendsIn}` : `no file names an image for service "${service}"`,
    };
  }
  const { file } = found;
  const node = deref(file.doc, found.node);
  if (!isScalar(node) || typeof node.value !== 'string') return { ok: false, why: `the image of "${service}" in ${file.label} is not a plain string` };
  const r = interpolate(node.value, siteOf(file, node), env);
  if (!r.ok) return { ok: false, why: `the image of "${service}" in ${file.label}: ${r.why}` };
  return { ok: true, image: r.segments.map((s) => s.text).join(''), segments: r.segments };
}

/** Where the scalar's value starts in the file, when each of its characters is written as itself. */
function siteOf(file: ParsedFile, node: Node & { value: unknown; type?: string }): Site | undefined {
  const [start, end] = node.range ?? [0, 0];
  const raw = file.text.slice(start, end);
  const label = `image: in ${file.label}`;
  if (node.type === 'PLAIN' && raw === node.value) return { file: file.path, start, label };
  const quoted = node.type === 'QUOTE_DOUBLE' || node.type === 'QUOTE_SINGLE';
  if (quoted && raw.slice(1, -1) === node.value) return { file: file.path, start: start + 1, label };
  return undefined;
}

/** An alias stands for the node its anchor marks. */
function deref(doc: Document, node: Node | undefined): Node | undefined {
  let n = node;
  for (let i = 0; n && isAlias(n) && i < 20; i++) n = n.resolve(doc) as Node | undefined;
  return n;
}

/** A key of a mapping, or of the mappings it merges with `<<` (the mapping's own keys win, then the first merge). */
function lookup(doc: Document, map: YAMLMap, key: string, depth = 0): Node | undefined {
  if (depth > 20) return undefined;
  const own = map.items.find((p) => isScalar(p.key) && p.key.value === key);
  if (own) return (own.value ?? undefined) as Node | undefined;
  for (const p of map.items) {
    if (!isScalar(p.key) || p.key.value !== '<<') continue;
    const v = deref(doc, p.value as Node);
    const sources = isSeq(v) ? v.items.map((i) => deref(doc, i as Node)) : [v];
    for (const s of sources) {
      if (!isMap(s)) continue;
      const hit = lookup(doc, s, key, depth + 1);
      if (hit) return hit;
    }
  }
  return undefined;
}
