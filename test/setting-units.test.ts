// liveness_check.check_duration changes unit at Tyk 5.4 (seconds before, nanoseconds from then on: see
// src/activities/setting-units.ts for what the real 5.3.0 and 5.8.10 do with the other unit's numbers).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkDurationWarning } from '../src/activities/setting-units';

const conf = (checkDuration?: unknown) => (checkDuration === undefined ? {} : { liveness_check: { check_duration: checkDuration } });

describe('check_duration across an upgrade', () => {
  it('a number of seconds into 5.4+ is named, with what it becomes and what to do', () => {
    const w = checkDurationWarning('gw-1', conf(3), [], '5.3.0', 'v5.8.10');
    assert.match(
      w ?? '',
      /^gw-1: liveness_check\.check_duration in tyk\.conf is 3, which 5\.3\.0 reads as 3 s but 5\.8\.10 as 3 ns \(Tyk 5\.4 changed its unit, TykTechnologies\/tyk#6068\): .*Remove it \(Tyk's default, 10 s\) or set it to 3000000000 right after the upgrade$/,
    );
  });

  it('a duration in nanoseconds into 5.3 or older (a downgrade) is named too', () => {
    assert.match(
      checkDurationWarning('gw-1', conf(2_000_000_000), [], '5.8.10', '5.3.0') ?? '',
      /5\.8\.10 reads as 2 s but 5\.3\.0 as 2000000000 s .* set it to 2 first$/,
    );
  });

  it('the env override wins over tyk.conf, as in Tyk; a Go duration string ("10s") means the same everywhere', () => {
    assert.match(
      checkDurationWarning('gw-1', conf(0), ['TYK_GW_LIVENESSCHECK_CHECKDURATION=5'], '5.2.0', '5.8.10') ?? '',
      /TYK_GW_LIVENESSCHECK_CHECKDURATION is 5/,
    );
    assert.equal(checkDurationWarning('gw-1', conf(5), ['TYK_GW_LIVENESSCHECK_CHECKDURATION=10s'], '5.3.0', '5.8.10'), undefined);
  });

  it('nothing to say: unset or 0 (the default), the same unit on both sides, or a value meant for the target', () => {
    for (const [c, from, to] of [
      [undefined, '5.3.0', '5.8.10'],
      [0, '5.3.0', '5.8.10'],
      [3, '5.2.0', '5.3.0'],
      [3_000_000_000, '5.8.3', '5.8.10'],
      [3_000_000_000, '5.3.0', '5.8.10'],
    ] as const) {
      assert.equal(checkDurationWarning('gw-1', conf(c), [], from, to), undefined, `${c} ${from} → ${to}`);
    }
  });
});
