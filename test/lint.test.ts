// The formatter and linter are part of the suite: code that Biome would reformat, or a lint error (the
// recommended rules, biome.json), fails here with Biome's own report, so a change cannot land unformatted.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { REPO } from './support/package';

describe('formatting and lint', () => {
  it('biome ci finds nothing to reformat and no lint error in src, test and bench', () => {
    const r = spawnSync(join(REPO, 'node_modules', '.bin', 'biome'), ['ci', '--colors=off', 'src', 'test', 'bench'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(r.error, undefined, `biome did not run: ${r.error?.message}`);
    assert.equal(r.status, 0, `npm run format fixes the formatting; the lint errors are named here:\n${r.stdout}\n${r.stderr}`);
  });
});
