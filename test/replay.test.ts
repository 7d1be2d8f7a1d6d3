// Determinism: every recorded history (test/fixtures/histories, made with RECORD_HISTORIES=1 npm test) must
// replay against today's workflow code, as the workers load it: the bundle the build wrote. A change that breaks
// one needs patched() or a new workflow type.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { BUNDLE_PATH, bundleProblem } from '../src/workflow-bundle';
import { HISTORY_DIR } from './support/upgrade';

describe('replay of recorded histories', () => {
  it('replays every fixture without a nondeterminism error, on the prebuilt bundle workers load', async () => {
    // rig/setup.sh and npm run build write it; a missing or stale bundle is a broken build, not a reason to bundle here.
    assert.equal(bundleProblem(), undefined);
    const files = readdirSync(HISTORY_DIR).filter((f) => f.endsWith('.json'));
    const listed = readFileSync(join(HISTORY_DIR, '..', 'histories.txt'), 'utf8')
      .split('\n')
      .filter((l) => l.trim() && !l.startsWith('#'));
    assert.deepEqual(
      listed.filter((f) => !files.includes(f)),
      [],
      'fixtures listed in test/fixtures/histories.txt but missing from the folder',
    );
    assert.deepEqual(
      files.filter((f) => !listed.includes(f)),
      [],
      'fixtures in the folder that test/fixtures/histories.txt does not list (add them to it)',
    );
    // The recorded run's own workflow id: the batch children's ids are derived from it.
    const histories = files.map((f) => {
      const json = JSON.parse(readFileSync(join(HISTORY_DIR, f), 'utf8'));
      const workflowId: string = json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? f.replace(/\.json$/, '');
      return { workflowId, history: historyFromJSON(json) };
    });
    const failures: string[] = [];
    let replayed = 0;
    for await (const r of Worker.runReplayHistories({ workflowBundle: { codePath: BUNDLE_PATH } }, histories)) {
      replayed++;
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    assert.deepEqual(failures, []);
    assert.equal(replayed, histories.length, 'every fixture was replayed, not only the ones before a stop');
  });
});
