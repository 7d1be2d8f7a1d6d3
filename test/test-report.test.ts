// `npm test` ends with each failed test and why (CI keeps only the tail of the output): read from the TAP report
// node's own test runner writes for a file with failures at two depths.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { failuresIn } from './support/tap-failures';

const FILE = `const { describe, it } = require('node:test');
const assert = require('node:assert/strict');
describe('a suite', () => {
  it('compares', () => assert.equal(1, 2, 'one is not two'));
  it('passes', () => {});
});
it('throws', async () => { throw new Error('first line\\nsecond line'); });
`;

describe('the closing report of npm test', () => {
  it('names each failed test with its file and message, not the suite around it or a test that passed', () => {
    const dir = mkdtempSync(join(tmpdir(), 'tyk-upgrade-tap-'));
    try {
      writeFileSync(join(dir, 'sample.test.js'), FILE);
      // Without the runner's own context variable, or the child would report to this run instead of its stdout.
      const { NODE_TEST_CONTEXT: _inner, ...env } = process.env;
      const run = spawnSync(process.execPath, ['--test', '--test-reporter=tap', join(dir, 'sample.test.js')], { encoding: 'utf8', env });
      assert.notEqual(run.status, 0);
      const failures = failuresIn(run.stdout);
      assert.equal(failures.length, 2, failures.join('\n'));
      assert.match(failures[0], /^✖ compares \(.*sample\.test\.js:4:\d+\)\n {4}one is not two\n {4}1 !== 2$/);
      assert.match(failures[1], /^✖ throws \(.*sample\.test\.js:7:\d+\)\n {4}first line\n {4}second line$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
