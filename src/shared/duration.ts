// Durations in plan files, written the way Temporal and Go write them: "500ms", "30s", "5m", "1h30m".
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export type DurationCheck = { ok: true; ms: number } | { ok: false; message: string };

export function parseDuration(raw: unknown): DurationCheck {
  if (typeof raw === 'number') return { ok: false, message: `${raw} has no unit; write it like ${raw}s or ${raw}m` };
  if (typeof raw !== 'string') return { ok: false, message: 'must be a duration such as 30s, 5m or 1h30m' };
  const text = raw.trim();
  const whole = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/.test(text);
  if (!whole) return { ok: false, message: `"${text}" is not a duration; write it like 30s, 5m or 1h30m (units: ms, s, m, h)` };
  let ms = 0;
  for (const m of text.matchAll(PART)) ms += Number(m[1]) * UNIT_MS[m[2]];
  return { ok: true, ms: Math.round(ms) };
}

/** "90 s", "5 min", "1 h 30 min": how durations are shown back to people. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms} ms`;
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const h = Math.floor(s / 3600);
  const m = Math.round((s % 3600) / 60);
  return h ? `${h} h${m ? ` ${m} min` : ''}` : `${m} min`;
}
