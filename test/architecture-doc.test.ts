// docs/architecture.md is the page a new engineer reads first, so it must not send them to files that are gone:
// every repository path it names in backticks must exist, every link must reach a page (and heading) here, and
// its table of import rules must be the one test/imports.test.ts enforces. Reads files only: no Docker, no Temporal.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { ALLOWED } from './support/import-rules';

const ROOT = resolve(__dirname, '../..');
const DOC = join(ROOT, 'docs', 'architecture.md');
const text = readFileSync(DOC, 'utf8');

/** The text of every inline code span, in order. */
const spans = [...text.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
/** A span that is a path in the repository: `src/…`, `test/…`, `rig/…`, `docs/…`, `standins/…`. */
const PATH = /^(?:src|test|rig|docs|standins)\/[\w./-]*$/;

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces as hyphens. */
function anchorOf(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

function anchorsIn(file: string): string[] {
  return [...readFileSync(file, 'utf8').matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1]));
}

/** The rows of the table whose header starts with "| Part |": part → what it may import, and import type only. */
function rulesTable(): Record<string, { values: string[]; types: string[] }> {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('| Part |'));
  assert.ok(start >= 0, 'docs/architecture.md has no "| Part |" table of import rules');
  const rows: Record<string, { values: string[]; types: string[] }> = {};
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    const cells = line.split('|').slice(1, -1);
    const names = (cell: string | undefined) => [...(cell ?? '').matchAll(/`([^`]+)`/g)].map((m) => m[1]).sort();
    const [part] = names(cells[0]);
    rows[part] = { values: names(cells[1]), types: names(cells[2]) };
  }
  return rows;
}

describe('docs/architecture.md', () => {
  it('names only paths that exist in the repository', () => {
    const paths = [...new Set(spans.filter((s) => PATH.test(s)))];
    // A page this long names many; finding few means the extraction broke, not that the page is right.
    assert.ok(paths.length >= 60, `only ${paths.length} paths found in backticks`);
    assert.deepEqual(
      paths.filter((p) => !existsSync(join(ROOT, p))),
      [],
    );
  });

  it('links only to pages and headings that exist', () => {
    const links = [...text.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]).filter((l) => !/^[a-z]+:/.test(l));
    assert.ok(links.length >= 5, `only ${links.length} links found`);
    const broken = links.filter((link) => {
      const [file, anchor] = link.split('#');
      const target = file ? resolve(dirname(DOC), file) : DOC;
      if (!existsSync(target)) return true;
      return !!anchor && !anchorsIn(target).includes(anchor);
    });
    assert.deepEqual(broken, []);
  });

  it('states the import rules test/imports.test.ts enforces, part by part', () => {
    const enforced = Object.fromEntries(
      Object.entries(ALLOWED).map(([part, r]) => [part, { values: [...r.values].sort(), types: [...(r.types ?? [])].sort() }]),
    );
    assert.deepEqual(rulesTable(), enforced);
  });
});
