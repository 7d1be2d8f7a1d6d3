// Plan text → a checked PlanFile, or every problem with its line. YAML is parsed with source positions kept, so
// each zod issue can be traced back to the line a person has to edit.
import { isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { allowedKeys, planSchema, type PlanFile } from './schema';
import { fieldName } from '../shared/field-path';
import { PlanError, type PlanProblem } from './problems';

export function parsePlanText(text: string, file: string): PlanFile {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const line = (offset: number | undefined) => (offset === undefined ? undefined : lineCounter.linePos(offset).line);

  if (doc.errors.length) {
    throw new PlanError(
      file,
      doc.errors.map((e) => ({
        line: e.linePos?.[0].line ?? line(e.pos[0]),
        message: `malformed YAML: ${e.code === 'DUPLICATE_KEY' ? `key "${keyAt(text, e.pos[0])}" appears twice in one mapping` : yamlMessage(e.message)}`,
      })),
    );
  }
  if (doc.contents === null) throw new PlanError(file, [{ message: 'the file is empty; write a plan with `tyk-upgrade init`' }]);

  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const allowPrerelease = isRecord(raw) && raw.allowPrerelease === true;
  const parsed = planSchema(allowPrerelease).safeParse(raw);
  if (parsed.success) return parsed.data;

  const problems = parsed.error.issues.flatMap((issue) => describeIssue(issue, doc, raw, line));
  problems.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
  throw new PlanError(file, problems);
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, raw: unknown, line: (offset: number | undefined) => number | undefined): PlanProblem[] {
  const path = issue.path;
  if (issue.code === 'unrecognized_keys') {
    const allowed = allowedKeys(path);
    return issue.keys.map((key) => ({
      line: line(keyNode(doc, path, key)?.range?.[0]),
      field: fieldName([...path, key]),
      message: `unknown key${suggest(key, allowed)}; allowed here: ${allowed.join(', ')}`,
    }));
  }
  const missing = valueAt(raw, path) === undefined && path.length > 0;
  return [
    {
      line: line(locate(doc, path)),
      field: fieldName(path),
      message: missing ? `is missing; it ${issue.message}` : issue.message,
    },
  ];
}

/** Where the value at `path` starts; for a missing value, where its nearest existing parent starts. */
function locate(doc: Document, path: readonly PropertyKey[]): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) {
      // A missing key is reported at the key of the mapping that should hold it.
      if (n < path.length && n > 0) return keyNode(doc, path.slice(0, n - 1), path[n - 1])?.range?.[0] ?? node.range[0];
      return node.range[0];
    }
  }
  return undefined;
}

function keyNode(doc: Document, path: readonly PropertyKey[], key: PropertyKey): { range?: [number, number, number] | null } | undefined {
  const map = path.length ? doc.getIn(path as unknown[], true) : doc.contents;
  if (!isMap(map)) return undefined;
  const pair = map.items.find((p) => isPair(p) && isScalar(p.key) && p.key.value === key);
  return pair && isScalar(pair.key) ? pair.key : undefined;
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const step of path) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<PropertyKey, unknown>)[step];
  }
  return v;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The yaml library's message without its position suffix (we give the line ourselves). */
function yamlMessage(message: string): string {
  return message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
}

/** " (did you mean instances?)" when a known key is one or two edits away. */
function suggest(key: string, allowed: string[]): string {
  const best = allowed.map((k) => ({ k, d: distance(key.toLowerCase(), k.toLowerCase()) })).sort((a, b) => a.d - b.d)[0];
  return best && best.d <= 2 ? ` (did you mean "${best.k}"?)` : '';
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The mapping key written at an offset ("version" in "version: v5.3.0"). */
function keyAt(text: string, offset: number): string {
  return (/^[^:\n]*/.exec(text.slice(offset)) as RegExpExecArray)[0].trim().replace(/^["']|["']$/g, '');
}
