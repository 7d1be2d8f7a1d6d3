// A container's start-up lines, as the health check, soak and discovery read the version from them: every run of
// a container started again (as a rollback starts the old one) must show its own start lines, once, however soon
// the process logs them after its start, and none of the run before.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { containerLogs, startupLog } from '../src/activities/docker-util';
import { docker, freePort, REGISTRY } from './support/services';

const START_LINE = /Redis is starting/g;
const RUNS = 30;

const starts = (log: string) => (log.match(START_LINE) ?? []).length;

describe('start-up lines of a container started again', () => {
  it('each of thirty runs of a container that logs at once shows its own start line, exactly once', async () => {
    // Redis logs its first line within a millisecond of its start: sometimes ahead of the StartedAt the engine
    // records, the case that hid a real pump's version after a rollback.
    const name = `startuplog-${randomBytes(3).toString('hex')}`;
    const c = await docker.createContainer({
      name,
      Image: `${REGISTRY}/library/redis:7`,
      Cmd: ['redis-server', '--bind', '127.0.0.1', '--port', String(await freePort()), '--save', ''],
      HostConfig: { NetworkMode: 'host' },
    });
    try {
      const counts: number[] = [];
      for (let run = 1; run <= RUNS; run++) {
        await c.start();
        // Wait until the engine has written this run's line to the container's whole log (on a busy machine that
        // can take over a second), so what is asked of startupLog is only which run a line belongs to.
        for (let waited = 0; starts(await containerLogs(docker, c.id, 10_000)) < run; waited += 50) {
          assert.ok(waited < 20_000, `run ${run}: the engine never logged its start line`);
          await new Promise((r) => setTimeout(r, 50));
        }
        counts.push(starts(await startupLog(docker, await c.inspect())));
        await c.stop({ t: 1 });
      }
      assert.deepEqual(counts, Array(RUNS).fill(1), 'start lines seen per run (0: its own missed; 2: the run before included)');
    } finally {
      await c.remove({ force: true });
    }
  });
});
