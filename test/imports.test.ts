// Imports point one way (docs/architecture.md): shared depends on nothing of ours; plan, notify, activities and
// devserver on shared; workflows on shared (and `import type` from activities); sandbox, client-lib and the
// worker below the CLI; the CLI on everything below it (the table: support/import-rules.ts). Read from the
// source with TypeScript's own parser, so a new upward import, or a circle between files, fails here with the
// line that made it.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, it } from 'node:test';
import ts from 'typescript';
import { ALLOWED } from './support/import-rules';

const SRC = resolve(__dirname, '../../src');

interface Import {
  from: string;
  to: string;
  typeOnly: boolean;
  line: number;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) return sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

/** src/activities/x.ts → "activities"; src/worker.ts → "worker". */
function partOf(file: string): string {
  const rel = relative(SRC, file);
  const first = rel.split('/')[0];
  return first.endsWith('.ts') ? first.slice(0, -3) : first;
}

function resolveModule(from: string, spec: string): string | undefined {
  if (!spec.startsWith('.')) return undefined;
  const base = resolve(dirname(from), spec);
  for (const candidate of [`${base}.ts`, join(base, 'index.ts')]) {
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not this one
    }
  }
  throw new Error(`${relative(SRC, from)} imports ${spec}, which is not a file under src/`);
}

function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const out: Import[] = [];
  for (const node of sf.statements) {
    let spec: ts.Expression | undefined;
    let typeOnly = false;
    if (ts.isImportDeclaration(node)) {
      spec = node.moduleSpecifier;
      const clause = node.importClause;
      // `import type {…}`, or `import { type A, type B }` with nothing but types: erased from the JavaScript.
      typeOnly =
        !!clause &&
        (clause.isTypeOnly ||
          (!clause.name && !!clause.namedBindings && ts.isNamedImports(clause.namedBindings) && clause.namedBindings.elements.every((e) => e.isTypeOnly)));
    } else if (ts.isExportDeclaration(node) && node.moduleSpecifier) {
      spec = node.moduleSpecifier;
      typeOnly = node.isTypeOnly;
    }
    if (!spec || !ts.isStringLiteral(spec)) continue;
    const to = resolveModule(file, spec.text);
    if (to) out.push({ from: file, to, typeOnly, line: sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1 });
  }
  return out;
}

const files = sourceFiles(SRC);
const imports = files.flatMap(importsOf);
const where = (i: Import) => `${relative(SRC, i.from)}:${i.line} imports ${relative(SRC, i.to)}`;

describe('imports', () => {
  it('every part of src/ has a rule', () => {
    assert.deepEqual([...new Set(files.map(partOf))].filter((p) => !ALLOWED[p]).sort(), []);
  });

  it('point one way: nothing imports a part above it', () => {
    const wrong = imports.filter((i) => {
      const from = partOf(i.from);
      const to = partOf(i.to);
      if (from === to) return false;
      const rule = ALLOWED[from];
      return !(rule.values.includes(to) || (i.typeOnly && rule.types?.includes(to)));
    });
    assert.deepEqual(wrong.map(where), []);
  });

  it('no file imports itself back through others (type-only imports are erased, so they do not count)', () => {
    const graph = new Map<string, string[]>();
    for (const i of imports.filter((x) => !x.typeOnly)) graph.set(i.from, [...(graph.get(i.from) ?? []), i.to]);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (f: string) => {
      state.set(f, 'open');
      stack.push(f);
      for (const t of graph.get(f) ?? []) {
        if (state.get(t) === 'open') cycles.push([...stack.slice(stack.indexOf(t)), t].map((x) => relative(SRC, x)).join(' → '));
        else if (!state.has(t)) visit(t);
      }
      stack.pop();
      state.set(f, 'done');
    };
    for (const f of files) if (!state.has(f)) visit(f);
    assert.deepEqual(cycles, []);
  });
});
