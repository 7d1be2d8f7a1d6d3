// Which gateways go together: a ramp of batch sizes (Ansible's `serial: [1, 5, "20%"]`), capped per load-balancer
// pool by maxUnavailable so no pool ever loses more than that many gateways at once, across hosts. Pure: the
// workflow and the dry run compute the same batches from the same plan.
import type { BatchStep } from './types';

export interface BatchMember {
  key: string;
  pool?: string;
  host?: string;
}

const PERCENT = /^(\d{1,3}(?:\.\d+)?)%$/;

/** Whether a step is a whole number ≥ 1 or a percentage in (0, 100]; the reason when it is not. */
export function stepProblem(step: unknown): string | undefined {
  if (typeof step === 'number') return Number.isInteger(step) && step >= 1 ? undefined : `${step} is not a whole number of at least 1`;
  if (typeof step === 'string') {
    const m = PERCENT.exec(step.trim());
    if (m && Number(m[1]) > 0 && Number(m[1]) <= 100) return undefined;
  }
  return `${JSON.stringify(step)} is neither a whole number of at least 1 nor a percentage such as "25%"`;
}

/** A step as a count out of `total`: percentages round up for batch sizes (never 0), down for limits. */
export function stepCount(step: BatchStep, total: number, round: 'up' | 'down' = 'up'): number {
  if (typeof step === 'number') return step;
  const pct = Number((PERCENT.exec(step.trim()) as RegExpExecArray)[1]);
  const exact = (total * pct) / 100;
  return round === 'up' ? Math.max(1, Math.ceil(exact)) : Math.floor(exact);
}

export function rampOf(batchSize: BatchStep | BatchStep[]): BatchStep[] {
  return Array.isArray(batchSize) ? batchSize : [batchSize];
}

const poolOf = (m: BatchMember) => m.pool ?? 'default';

/** Most members of one pool out at once: the plan's limit, or all but one of the pool (at least one). */
export function poolLimit(poolSize: number, maxUnavailable: BatchStep | undefined): number {
  if (maxUnavailable === undefined) return Math.max(1, poolSize - 1);
  return Math.max(1, stepCount(maxUnavailable, poolSize, 'down'));
}

/**
 * Hosts take turns (the first gateway of each host, then the second of each, ...), so a batch spreads over hosts
 * and no host loses several gateways while others lose none; within a host the plan's order holds.
 */
function acrossHosts(members: BatchMember[]): BatchMember[] {
  const byHost = new Map<string, BatchMember[]>();
  for (const m of members) byHost.set(m.host ?? '', [...(byHost.get(m.host ?? '') ?? []), m]);
  const lists = [...byHost.values()];
  const out: BatchMember[] = [];
  for (let i = 0; out.length < members.length; i++) for (const l of lists) if (l[i]) out.push(l[i]);
  return out;
}

/** The batches, in order; every member lands in exactly one, and none breaks its pool's limit. */
export function planBatches(inPlanOrder: BatchMember[], batchSize: BatchStep | BatchStep[], maxUnavailable?: BatchStep): string[][] {
  const members = acrossHosts(inPlanOrder);
  const ramp = rampOf(batchSize);
  const poolSizes = new Map<string, number>();
  for (const m of members) poolSizes.set(poolOf(m), (poolSizes.get(poolOf(m)) ?? 0) + 1);
  const limit = new Map([...poolSizes].map(([pool, size]) => [pool, poolLimit(size, maxUnavailable)]));

  const batches: string[][] = [];
  let remaining = [...members];
  while (remaining.length) {
    const size = stepCount(ramp[Math.min(batches.length, ramp.length - 1)], members.length);
    const inBatch = new Map<string, number>();
    const batch: BatchMember[] = [];
    for (const m of remaining) {
      if (batch.length >= size) break;
      const n = inBatch.get(poolOf(m)) ?? 0;
      if (n >= (limit.get(poolOf(m)) as number)) continue;
      inBatch.set(poolOf(m), n + 1);
      batch.push(m);
    }
    remaining = remaining.filter((m) => !batch.includes(m));
    batches.push(batch.map((m) => m.key));
  }
  return batches;
}

/** The failure budget as a count of instances. */
export function failureBudget(maxFailures: BatchStep | undefined, instances: number): number {
  return maxFailures === undefined ? 0 : stepCount(maxFailures, instances, 'down');
}
