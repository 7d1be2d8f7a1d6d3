// Which gateways go together (src/shared/batches.ts): the ramp, percentages, the per-pool limit across hosts, and
// the failure budget. Pure functions: the workflow and the dry run must agree on them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { failureBudget, planBatches, stepProblem } from '../src/shared/batches';
import { parsePlanText } from '../src/plan/parse';
import { PlanError } from '../src/plan/problems';

const gw = (n: number, pool?: string) => Array.from({ length: n }, (_, i) => ({ key: `h${(i % 3) + 1}/gw-${i + 1}`, ...(pool ? { pool } : {}) }));
const sizes = (b: string[][]) => b.map((x) => x.length);

describe('batches', () => {
  it('a number: fixed batches; the default limit keeps one gateway of the pool serving', () => {
    assert.deepEqual(sizes(planBatches(gw(7), 3)), [3, 3, 1]);
    assert.deepEqual(sizes(planBatches(gw(3), 5)), [2, 1], 'never the whole pool at once unless asked');
    assert.deepEqual(sizes(planBatches(gw(1), 1)), [1], 'a single gateway can still be upgraded');
  });

  it('a ramp: a canary first, the last step repeats, percentages of all gateways round up', () => {
    assert.deepEqual(sizes(planBatches(gw(10), [1, 2, '25%'])), [1, 2, 3, 3, 1]);
    assert.deepEqual(sizes(planBatches(gw(50), [1, '10%'], 10)), [1, 5, 5, 5, 5, 5, 5, 5, 5, 5, 4]);
  });

  it('maxUnavailable caps every pool across hosts, and batches take from the next pool instead', () => {
    const members = [...gw(4, 'eu').map((m) => ({ ...m, key: `eu-${m.key}` })), ...gw(4, 'us').map((m) => ({ ...m, key: `us-${m.key}` }))];
    const batches = planBatches(members, 4, 1);
    assert.deepEqual(sizes(batches), [2, 2, 2, 2]);
    for (const b of batches) assert.deepEqual(b.map((k) => k.slice(0, 2)).sort(), ['eu', 'us'], `one of each pool: ${b.join(', ')}`);
    assert.deepEqual(sizes(planBatches(gw(6), 6, '50%')), [3, 3], 'a percentage limit is of the pool, rounded down');
  });

  it('hosts take turns, so a batch spreads over hosts', () => {
    const members = ['a', 'b'].flatMap((h) => [1, 2, 3].map((n) => ({ key: `${h}/gw-${n}`, host: h })));
    assert.deepEqual(planBatches(members, [1, 2]), [['a/gw-1'], ['b/gw-1', 'a/gw-2'], ['b/gw-2', 'a/gw-3'], ['b/gw-3']]);
  });

  it('every gateway lands in exactly one batch, within the pool limits', () => {
    const members = gw(23);
    const batches = planBatches(members, [1, 4, '20%'], 3);
    assert.deepEqual(batches.flat().sort(), members.map((m) => m.key).sort());
    assert.ok(batches.every((b) => b.length <= 3));
  });

  it('the failure budget: a count, or a percentage of all instances rounded down', () => {
    assert.equal(failureBudget(undefined, 10), 0);
    assert.equal(failureBudget(2, 10), 2);
    assert.equal(failureBudget('15%', 10), 1);
    assert.equal(failureBudget('5%', 10), 0);
  });

  it('bad steps are explained', () => {
    assert.equal(stepProblem(0), '0 is not a whole number of at least 1');
    assert.equal(stepProblem(1.5), '1.5 is not a whole number of at least 1');
    assert.equal(stepProblem('150%'), '"150%" is neither a whole number of at least 1 nor a percentage such as "25%"');
    assert.equal(stepProblem('25%'), undefined);
  });
});

describe('fleet plan files', () => {
  const base = `stack: prod
gateway:
  version: v5.3.0
  instances:
    - container: tyk-gateway
      host: web-1
      url: http://web-1.tyk.internal:8080
    - container: tyk-gateway
      host: web-2
      url: http://web-2.tyk.internal:8080
pump:
  version: v1.10.0
  instances:
    - container: tyk-pump
      host: web-1
      healthUrl: http://web-1.tyk.internal:8083/health
`;
  const problems = (text: string) => {
    try {
      parsePlanText(text, 'p.yaml');
    } catch (err) {
      assert.ok(err instanceof PlanError, String(err));
      return err.problems.map((p) => `${p.line}: ${p.field}: ${p.message}`);
    }
    return [];
  };

  it('the same container name on two hosts is two instances; a ramp, budget and pause parse', () => {
    assert.deepEqual(problems(`${base}batchSize: [1, "50%"]\nmaxUnavailable: 1\nmaxFailures: "10%"\nonFailure: pause\npauseTimeout: 2h\n`), []);
  });

  it('refuses a host listed twice for one container, a mix of hosts and none, and a bad ramp', () => {
    assert.deepEqual(problems(base.replace('host: web-2', 'host: web-1')), [
      '8: gateway.instances[1].container: "tyk-gateway" on host web-1 is already listed at gateway.instances[0]',
    ]);
    assert.deepEqual(problems(base.replace('      host: web-2\n', '')), [
      '5: gateway.instances: some instances name a host and some do not; in a fleet plan every gateway and pump names its host (host: NAME), in a single-host plan none does',
    ]);
    assert.deepEqual(problems(`${base}batchSize: [1, 0]\n`), ['17: batchSize[1]: 0 is not a whole number of at least 1']);
    assert.deepEqual(problems(`${base}pauseTimeout: 1h\n`), ['17: pauseTimeout: only applies with onFailure: pause']);
    assert.deepEqual(problems(base.replace('host: web-2', 'host: "web 2"')), [
      '9: gateway.instances[1].host: must be 1–63 letters, digits, "_", "." or "-" (the name its worker was started with: tyk-upgrade worker --host NAME)',
    ]);
  });
});
