// The workflow bundle the build writes: workers load it only while it matches the workflow code it was made from.
import assert from 'node:assert/strict';
import { appendFileSync, cpSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { BUNDLE_PATH, bundleProblem, WORKFLOWS_PATH } from '../src/workflow-bundle';
import { tempDir } from './support/services';

/** A copy of the build (dist/src and the bundle) whose modules a test may change. */
function copyOfBuild(): { bundle: string; entry: string; src: string } {
  const root = tempDir('bundle');
  const src = join(root, 'src');
  cpSync(join(WORKFLOWS_PATH, '..', '..'), src, { recursive: true });
  for (const f of [BUNDLE_PATH, `${BUNDLE_PATH}.sha256`]) cpSync(f, join(root, f.split('/').pop() as string));
  return { bundle: join(root, 'workflow-bundle.js'), entry: join(src, 'workflows', 'index.js'), src };
}

describe('the prebuilt workflow bundle', () => {
  it('matches the build, and is refused once a workflow module or one it requires changes', () => {
    assert.equal(bundleProblem(), undefined, 'rig/setup.sh and npm run build write a bundle that matches the code');
    const a = copyOfBuild();
    assert.equal(bundleProblem(a.bundle, a.entry), undefined, 'a copy of the build is the same code');
    appendFileSync(join(a.src, 'workflows', 'fleet.js'), '\n// changed\n');
    assert.match(bundleProblem(a.bundle, a.entry) ?? '', /was built from older workflow code/);

    const b = copyOfBuild();
    appendFileSync(join(b.src, 'shared', 'batches.js'), '\n// changed\n');
    assert.match(bundleProblem(b.bundle, b.entry) ?? '', /was built from older workflow code/, 'a shared module the workflows require counts too');
    // Code the workflows never load is not in the bundle: changing it leaves the bundle usable.
    const c = copyOfBuild();
    appendFileSync(join(c.src, 'cli', 'main.js'), '\n// changed\n');
    assert.equal(bundleProblem(c.bundle, c.entry), undefined);

    assert.match(bundleProblem(join(c.src, 'no-bundle.js'), c.entry) ?? '', /no prebuilt workflow bundle at .*no-bundle\.js/);
  });
});
