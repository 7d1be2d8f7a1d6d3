// Determinism: every recorded history (test/fixtures/histories, made with RECORD_HISTORIES=1 npm test) must
// replay against today's workflow code. A change that breaks one needs patched() or a new workflow type.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { historyFromJSON } from '@temporalio/common/lib/proto-utils';
import { Worker } from '@temporalio/worker';
import { bundleWorkflows } from '../src/worker';
import { HISTORY_DIR } from './support/upgrade';

describe('replay of recorded histories', () => {
  it('replays every fixture without a nondeterminism error', async () => {
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
    const bundle = await bundleWorkflows();
    // The recorded run's own workflow id: the batch children's ids are derived from it.
    const histories = files.map((f) => {
      const json = JSON.parse(readFileSync(join(HISTORY_DIR, f), 'utf8'));
      const workflowId: string = json.events?.[0]?.workflowExecutionStartedEventAttributes?.workflowId ?? f.replace(/\.json$/, '');
      return { workflowId, history: historyFromJSON(json) };
    });
    const failures: string[] = [];
    for await (const r of Worker.runReplayHistories({ workflowBundle: bundle }, histories)) {
      if (r.error) failures.push(`${r.workflowId}: ${r.error.message}`);
    }
    assert.deepEqual(failures, []);
  });
});
