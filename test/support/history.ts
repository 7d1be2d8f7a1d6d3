// Reading recorded workflow histories in tests. No Temporal import: test files that install their own Runtime use it.

/**
 * A history as searchable text, with every payload decoded: JSON.stringify of the raw history writes payload
 * bytes as numbers, in which no secret could ever be found (a check on that would pass whatever the history held).
 */
export function historyText(history: unknown): string {
  return JSON.stringify(history, (_k, v: unknown) => {
    const p = v as { metadata?: unknown; data?: unknown } | null;
    if (!p || typeof p !== 'object' || !('metadata' in p) || p.data === undefined || p.data === null) return v;
    const data = p.data instanceof Uint8Array ? Buffer.from(p.data) : typeof p.data === 'string' ? Buffer.from(p.data, 'base64') : undefined;
    return data ? { ...p, data: data.toString('utf8') } : v;
  });
}
