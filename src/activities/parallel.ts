// Work on many containers of one host at once, a few at a time, with results (and the first failure) in the
// order of the input: what a person reads does not depend on which engine call came back first.

/** fn over items, at most `limit` at a time; each outcome in the items' order. */
export async function settleInOrder<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<PromiseSettledResult<R>[]> {
  const settled: PromiseSettledResult<R>[] = new Array(items.length);
  let next = 0;
  const lane = async () => {
    while (next < items.length) {
      const i = next++;
      settled[i] = await fn(items[i]).then(
        (value) => ({ status: 'fulfilled', value }) as const,
        (reason: unknown) => ({ status: 'rejected', reason }) as const,
      );
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, lane));
  return settled;
}

/** fn over items, at most `limit` at a time; results in the items' order, the first failure in that order thrown. */
export async function mapInOrder<T, R>(items: T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const settled = await settleInOrder(items, limit, fn);
  const failed = settled.find((s): s is PromiseRejectedResult => s.status === 'rejected');
  if (failed) throw failed.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<R>).value);
}

/** How many containers of one host are worked on at once: enough to hide each engine round trip, not a flood. */
export const PER_HOST_PARALLEL = 8;
