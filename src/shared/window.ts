// Maintenance windows: "Sat 02:00-04:00 Europe/Berlin", "Mon-Fri 22:00-06:00 UTC", "daily 01:30-02:00 America/New_York".
// Pure and deterministic, so the workflow can ask it with its own clock. Wall-clock times in the window's IANA
// time zone are turned into instants by Luxon (the Intl database): no daylight-saving arithmetic is written here.
import { DateTime, IANAZone } from 'luxon';
import type { WindowStatus } from './types';

const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

export interface WindowSpec {
  /** Luxon weekdays, 1 (Monday) … 7 (Sunday), on which a window starts. */
  days: number[];
  /** Minutes (and seconds) after local midnight; an end at or before the start means the next day. */
  start: { hour: number; minute: number; second: number };
  end: { hour: number; minute: number; second: number };
  zone: string;
  text: string;
}

export type WindowParse = { ok: true; spec: WindowSpec } | { ok: false; message: string };

const HOW = 'write it like "Sat 02:00-04:00 Europe/Berlin", "Mon-Fri 22:00-06:00 UTC" or "daily 01:30-02:00 America/New_York"';

export function parseWindow(raw: string): WindowParse {
  const text = raw.trim().replace(/\s+/g, ' ');
  const m = /^(\S+) (\d{1,2}:\d{2}(?::\d{2})?)-(\d{1,2}:\d{2}(?::\d{2})?) (\S+)$/.exec(text);
  if (!m) return { ok: false, message: `"${raw}" is not a window; ${HOW}` };
  const [, dayText, startText, endText, zone] = m;
  const days = parseDays(dayText);
  if (typeof days === 'string') return { ok: false, message: `"${raw}": ${days}` };
  const start = parseTime(startText, false);
  const end = parseTime(endText, true);
  if (!start) return { ok: false, message: `"${raw}": ${startText} is not a time of day (00:00 to 23:59)` };
  if (!end) return { ok: false, message: `"${raw}": ${endText} is not a time of day (00:00 to 24:00)` };
  if (!IANAZone.isValidZone(zone)) {
    return { ok: false, message: `"${raw}": ${zone} is not a time zone of the IANA database; use a name such as Europe/Berlin, America/New_York or UTC` };
  }
  if (seconds(start) === seconds(end)) return { ok: false, message: `"${raw}" starts and ends at the same time; a window must last` };
  return { ok: true, spec: { days, start, end, zone, text } };
}

function parseDays(text: string): number[] | string {
  const lower = text.toLowerCase();
  if (lower === 'daily' || lower === '*') return [1, 2, 3, 4, 5, 6, 7];
  const days = new Set<number>();
  for (const part of lower.split(',')) {
    const [from, to] = part.split('-');
    const a = DAYS.indexOf(from?.slice(0, 3) as (typeof DAYS)[number]);
    const b = to === undefined ? a : DAYS.indexOf(to.slice(0, 3) as (typeof DAYS)[number]);
    if (a < 0 || b < 0 || !isDay(from) || (to !== undefined && !isDay(to))) {
      return `"${part}" is not a day; use Mon … Sun, a range such as Mon-Fri, a list such as Sat,Sun, or daily`;
    }
    for (let d = a; ; d = (d + 1) % 7) {
      days.add(d + 1);
      if (d === b) break;
    }
  }
  return [...days].sort();
}

const isDay = (t: string) => /^(mon|tue|wed|thu|fri|sat|sun)[a-z]*$/.test(t);

function parseTime(text: string, allow24: boolean): WindowSpec['start'] | undefined {
  const [h, m, s = 0] = text.split(':').map(Number);
  if (m > 59 || s > 59) return undefined;
  if (h === 24 && allow24 && m === 0 && s === 0) return { hour: 24, minute: 0, second: 0 };
  if (h > 23) return undefined;
  return { hour: h, minute: m, second: s };
}

const seconds = (t: WindowSpec['start']) => t.hour * 3600 + t.minute * 60 + t.second;

export interface WindowState {
  open: boolean;
  /** When the window open now closes (windows that touch or overlap count as one). */
  closesAt?: Date;
  /** When the next window opens (when closed). */
  opensAt?: Date;
}

/** Where `now` stands against the windows: open until when, or closed until when. */
export function windowState(specs: WindowSpec[], now: Date): WindowState {
  const t = now.getTime();
  const spans = specs.flatMap((s) => occurrences(s, now)).sort((a, b) => a.start - b.start);
  const current = spans.filter((s) => s.start <= t && t < s.end);
  if (!current.length) {
    const next = spans.find((s) => s.start > t);
    return { open: false, ...(next ? { opensAt: new Date(next.start) } : {}) };
  }
  // Chain windows that start before the current one ends, so a person sees when work really has to stop.
  let end = Math.max(...current.map((s) => s.end));
  for (const s of spans) if (s.start <= end && s.end > end) end = s.end;
  return { open: true, closesAt: new Date(end) };
}

/** The window's instances that start from yesterday to a week ahead, in its own zone. */
function occurrences(s: WindowSpec, now: Date): { start: number; end: number }[] {
  const today = DateTime.fromJSDate(now, { zone: s.zone }).startOf('day');
  const out: { start: number; end: number }[] = [];
  for (let d = -1; d <= 8; d++) {
    const day = today.plus({ days: d });
    if (!s.days.includes(day.weekday)) continue;
    const start = at(day, s.start);
    const endDay = seconds(s.end) <= seconds(s.start) ? day.plus({ days: 1 }) : day;
    out.push({ start, end: at(endDay, s.end) });
  }
  return out;
}

/** A wall-clock time on a day in the zone, as an instant; 24:00 is the next midnight. */
function at(day: DateTime, t: WindowSpec['start']): number {
  if (t.hour === 24) return day.plus({ days: 1 }).startOf('day').toMillis();
  return DateTime.fromObject(
    { year: day.year, month: day.month, day: day.day, hour: t.hour, minute: t.minute, second: t.second },
    { zone: day.zone },
  ).toMillis();
}

/** Where a run stands against its windows before it waits for any, as the status shows it. */
export function windowStatusNow(specs: WindowSpec[], windows: string[], now: Date): WindowStatus {
  const s = windowState(specs, now);
  return s.open
    ? { windows, state: 'open', closesAt: s.closesAt?.toISOString() }
    : { windows, state: 'closed', ...(s.opensAt ? { opensAt: s.opensAt.toISOString() } : {}) };
}
