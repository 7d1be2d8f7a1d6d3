// Maintenance windows as the plan writes them: parsing, and where a moment stands against them, across time
// zones, midnight and daylight-saving changes (which come from the IANA database, not from our code).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWindow, windowState, type WindowSpec } from '../src/shared/window';

function spec(text: string): WindowSpec {
  const r = parseWindow(text);
  if (!r.ok) throw new Error(r.message);
  return r.spec;
}
const stateAt = (windows: string[], iso: string) => windowState(windows.map(spec), new Date(iso));
const iso = (d?: Date) => d?.toISOString();

describe('maintenance windows', () => {
  it('Sat 02:00-04:00 Europe/Berlin is open on Saturday night in Berlin and says when it closes', () => {
    // 2026-11-28 is a Saturday; Berlin is UTC+1 in November.
    const open = stateAt(['Sat 02:00-04:00 Europe/Berlin'], '2026-11-28T01:30:00Z');
    assert.deepEqual([open.open, iso(open.closesAt)], [true, '2026-11-28T03:00:00.000Z']);
    const before = stateAt(['Sat 02:00-04:00 Europe/Berlin'], '2026-11-28T00:59:59Z');
    assert.deepEqual([before.open, iso(before.opensAt)], [false, '2026-11-28T01:00:00.000Z']);
    const after = stateAt(['Sat 02:00-04:00 Europe/Berlin'], '2026-11-28T03:00:00Z');
    assert.deepEqual([after.open, iso(after.opensAt)], [false, '2026-12-05T01:00:00.000Z'], 'closed at its end, next Saturday next');
  });

  it('the same wall-clock window moves in UTC when summer time starts and ends', () => {
    // Berlin: summer time from 2026-03-29 (UTC+2), winter time from 2026-10-25 (UTC+1).
    assert.equal(iso(stateAt(['Sun 05:00-06:00 Europe/Berlin'], '2026-03-22T00:00:00Z').opensAt), '2026-03-22T04:00:00.000Z');
    assert.equal(iso(stateAt(['Sun 05:00-06:00 Europe/Berlin'], '2026-03-29T00:00:00Z').opensAt), '2026-03-29T03:00:00.000Z');
    assert.equal(iso(stateAt(['Sun 05:00-06:00 Europe/Berlin'], '2026-10-25T00:00:00Z').opensAt), '2026-10-25T04:00:00.000Z');
    // 02:30 does not exist in Berlin on 2026-03-29; the window opens when the clock jumps, and closes at 04:00 local.
    const gap = stateAt(['Sun 02:30-04:00 Europe/Berlin'], '2026-03-29T00:00:00Z');
    assert.equal(gap.open, false);
    assert.ok(
      gap.opensAt && gap.opensAt.getTime() >= Date.parse('2026-03-29T01:00:00Z') && gap.opensAt.getTime() <= Date.parse('2026-03-29T01:30:00Z'),
      iso(gap.opensAt),
    );
    assert.equal(iso(stateAt(['Sun 02:30-04:00 Europe/Berlin'], '2026-03-29T01:45:00Z').closesAt), '2026-03-29T02:00:00.000Z');
  });

  it('a window across midnight belongs to the day it starts; ranges and lists of days', () => {
    const w = ['Mon-Fri 22:00-06:00 America/New_York'];
    // Friday 2026-11-27 23:00 in New York (UTC-5) = Saturday 04:00 UTC: open until Saturday 06:00 local.
    assert.equal(iso(stateAt(w, '2026-11-28T04:00:00Z').closesAt), '2026-11-28T11:00:00.000Z');
    // Saturday 23:00 in New York: no window starts on Saturday or Sunday; the next is Monday 22:00.
    assert.equal(iso(stateAt(w, '2026-11-29T04:00:00Z').opensAt), '2026-12-01T03:00:00.000Z');
    assert.deepEqual(spec('Sat,Sun 01:00-02:00 UTC').days, [6, 7]);
    assert.deepEqual(spec('Fri-Mon 01:00-02:00 UTC').days, [1, 5, 6, 7]);
    assert.deepEqual(spec('daily 00:00-24:00 UTC').days, [1, 2, 3, 4, 5, 6, 7]);
  });

  it('windows that touch are one: it stays open across them, and the earliest next one is named', () => {
    const w = ['daily 01:00-02:00 UTC', 'daily 02:00-03:00 UTC', 'Sat 10:00-11:00 Asia/Tokyo'];
    assert.equal(iso(stateAt(w, '2026-11-26T01:30:00Z').closesAt), '2026-11-26T03:00:00.000Z');
    // Saturday 10:00 in Tokyo (UTC+9) is Saturday 01:00 UTC, the same as the daily one.
    assert.equal(iso(stateAt(w, '2026-11-27T23:00:00Z').opensAt), '2026-11-28T01:00:00.000Z');
  });

  it('a window with seconds (a test computes one from the current time) works to the second', () => {
    const s = stateAt(['daily 10:00:05-10:00:35 UTC'], '2026-11-26T10:00:04Z');
    assert.equal(iso(s.opensAt), '2026-11-26T10:00:05.000Z');
    assert.equal(iso(stateAt(['daily 10:00:05-10:00:35 UTC'], '2026-11-26T10:00:05Z').closesAt), '2026-11-26T10:00:35.000Z');
  });

  it('refuses what is not a window, saying how to write one', () => {
    const problems: [string, RegExp][] = [
      ['Saturday night', /is not a window; write it like "Sat 02:00-04:00 Europe\/Berlin"/],
      ['Sat 02:00-04:00 Europe/Berlinn', /Europe\/Berlinn is not a time zone of the IANA database/],
      ['Sat 02:00-04:00 CEST+1', /is not a time zone/],
      ['Sta 02:00-04:00 UTC', /"sta" is not a day; use Mon … Sun/],
      ['Sat 25:00-04:00 UTC', /25:00 is not a time of day/],
      ['Sat 02:61-04:00 UTC', /02:61 is not a time of day/],
      ['Sat 02:00-02:00 UTC', /starts and ends at the same time/],
    ];
    for (const [text, message] of problems) {
      const r = parseWindow(text);
      assert.equal(r.ok, false, text);
      if (!r.ok) assert.match(r.message, message, text);
    }
  });
});
