// Child workflows, one per batch: the parent's history holds a start and a result per batch, however many
// instances and hosts the batch spans, so a 50-gateway fleet keeps the parent small (docs/architecture.md).
// upgradeBatch: recreate + health-check every instance of the batch in parallel (each on its own host's worker),
// roll back at once any instance that fails (it would otherwise stay out of service), then soak the healthy ones
// (each soak counts from the moment its health check saw it healthy).
// rollbackBatch: put every instance of a batch back on its old container and config.
// With a load balancer in the plan, each gateway leaves it before its stop (lbDrain) and comes back once its
// replacement is healthy and soaked (lbReady); a rollback puts the old container back the same way. Without
// one, the activities and their order are exactly those of before (recorded histories replay).
// Serving checks (behind patched('serving-checks')): each gateway's inventory is read before anything happens to it
// and compared, with the plan's smoke requests, once the new one is healthy; with `analysis` (HAProxy), its real
// traffic is watched after lbReady. Any of them failing rolls it back like a failed health check.
// Made ahead (ahead.ts): given the next batch, a batch without failures makes its replacements while it soaks, and
// its own recreates take those the batch before made for it. Only an input that names them does either, so
// batches recorded before replay as they ran.
import { patched, setCurrentDetails, setHandler } from '@temporalio/workflow';
import type { HealthySince } from '../activities/health';
import type { LoadBalancerInput } from '../shared/load-balancer';
import { instanceKey } from '../shared/names';
import type { GatewayInventory, InventoryTolerance, SmokeRequest, TrafficAnalysis } from '../shared/serving';
import type { InstancePlan, InstanceState, InstanceStatus, PreparedReplacement } from '../shared/types';
import { prepareAhead, replacementTarget } from './ahead';
import { lbGateway, lbOf, lbOptions } from './load-balancer';
import { batchStatusQuery } from './messages';
import { ErrorType } from '../shared/errors';
import { DOCKER_CHANGE, retry, SHORT } from './activity-options';
import { failureMessage, failureType } from './failures';
import { on } from './routing';

export interface BatchInput {
  stack: string;
  /** "1", "2", … for gateway batches, "pumps", or "1-retry-1". */
  name: string;
  instances: InstancePlan[];
  /** Backup manifest of each host (key: host name, "" without hosts); each host restores from its own disk. */
  manifests: Record<string, string>;
  drainTimeoutSec: number;
  healthTimeoutMs: number;
  soakMs?: number;
  /** Failures the fleet can still take; past it there is no point in soaking this batch. */
  failuresAllowed: number;
  /** The plan's load balancer: absent, no gateway is taken out of one. */
  loadBalancer?: LoadBalancerInput;
  /** Serving checks (0.4): each gateway's APIs and policies before and after (absent: on; false: off), smoke requests. */
  inventory?: false | { tolerate?: InventoryTolerance };
  smoke?: SmokeRequest[];
  /** With the HAProxy driver: each gateway's real traffic watched for a window once it is back in rotation. */
  analysis?: TrafficAnalysis;
  /** The next batch's instances: their replacements are made during this batch's soak. */
  next?: InstancePlan[];
  /** The replacements the batch before made for this one's instances (instance key →). */
  prepared?: Record<string, PreparedReplacement>;
}

/** The serving checks' patch: batches recorded before them replay without their activities. */
export const SERVING_PATCH = 'serving-checks';

export interface InstanceFailure {
  key: string;
  reason: string;
  /** Back on its old container and config (false: the rollback failed too; see reason). */
  rolledBack: boolean;
}

export interface BatchResult {
  upgraded: string[];
  failed: InstanceFailure[];
  /** What each upgraded gateway was seen serving (instance key → "40 APIs, 12 policies: same as before; …"). */
  serving?: Record<string, string>;
  /** The next batch's replacements made during the soak (instance key →). */
  prepared?: Record<string, PreparedReplacement>;
}

export interface RollbackBatchInput {
  stack: string;
  name: string;
  instances: InstancePlan[];
  manifests: Record<string, string>;
  healthTimeoutMs: number;
  loadBalancer?: LoadBalancerInput;
}

export interface RollbackBatchResult {
  rolledBack: string[];
  failed: InstanceFailure[];
}

const manifestOf = (manifests: Record<string, string>, p: InstancePlan) => manifests[p.host ?? ''];

/** Each instance as the status shows it before anything happened to it. */
export function pendingStatus(instances: InstancePlan[]): InstanceStatus[] {
  return instances.map((p) => ({
    role: p.role,
    container: p.container,
    ...(p.host ? { host: p.host } : {}),
    fromVersion: p.fromVersion,
    toVersion: p.toVersion,
    state: 'pending',
  }));
}

/** Take a gateway out of rotation and wait until its requests in flight are done (or the drain timeout passes). */
async function drain(lb: LoadBalancerInput, p: InstancePlan, stack: string): Promise<void> {
  await on(p.host, lbOptions(lb), `Take ${p.container} out of the load balancer`).lbDrain({ lb, gateway: lbGateway(p, stack) });
}

/** Put a gateway back into rotation and wait until the load balancer sees it up. */
async function undrain(lb: LoadBalancerInput, p: InstancePlan, stack: string): Promise<void> {
  await on(p.host, lbOptions(lb), `Put ${p.container} back into the load balancer`).lbReady({ lb, gateway: lbGateway(p, stack) });
}

const NOT_BACK_IN_LB = 'on its old version but not back in the load balancer';

interface Restore {
  lb?: LoadBalancerInput;
  /** Take it out of rotation first: it may be taking requests (best effort: the new container is unfit anyway). */
  drain: boolean;
  stack: string;
  manifest: string;
  healthTimeoutMs: number;
}

const restoreOf = (
  input: { loadBalancer?: LoadBalancerInput; stack: string; manifests: Record<string, string>; healthTimeoutMs: number },
  p: InstancePlan,
) => ({
  lb: lbOf(input.loadBalancer, p),
  stack: input.stack,
  manifest: manifestOf(input.manifests, p),
  healthTimeoutMs: input.healthTimeoutMs,
});

type PutBack = { ok: true } | { ok: false; failedAt: 'rollback' | 'rotation'; error: string };

/**
 * The old container and config back, and back into rotation: drain (best effort) → roll back → lbReady. The one
 * sequence of a failed instance in its batch and of every instance in a rollback of all; `enter` shows each state.
 */
async function putOldBack(p: InstancePlan, r: Restore, enter: (state: InstanceState) => void): Promise<PutBack> {
  try {
    if (r.lb && r.drain) {
      enter('draining');
      // The rollback goes on without the load balancer; the requests in flight may then be cut.
      await drain(r.lb, p, r.stack).catch(() => undefined);
    }
    enter('rolling-back');
    await on(p.host, DOCKER_CHANGE, `Roll back ${p.container} → ${p.fromImage}`).rollbackContainer({
      instance: p,
      backupManifest: r.manifest,
      healthTimeoutMs: r.healthTimeoutMs,
    });
  } catch (err) {
    return { ok: false, failedAt: 'rollback', error: failureMessage(err) };
  }
  if (r.lb) {
    const error = await backIntoRotation(r.lb, p, r.stack, enter);
    if (error) return { ok: false, failedAt: 'rotation', error };
  }
  return { ok: true };
}

/** Back into rotation, confirmed up; what went wrong when it is not (the fleet's rollback of all tries again). */
async function backIntoRotation(lb: LoadBalancerInput, p: InstancePlan, stack: string, enter: (state: InstanceState) => void): Promise<string | undefined> {
  enter('undraining');
  try {
    await undrain(lb, p, stack);
    return undefined;
  } catch (err) {
    return failureMessage(err);
  }
}

function publishTable(title: string, live: InstanceStatus[]): void {
  const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  const rows = live.map(
    (i) =>
      `| ${i.host ?? ''} | ${i.container} | ${i.fromVersion ?? ''} → ${i.toVersion} | ${i.state}${i.detail ? `: ${cell(i.detail)}` : ''}${i.serving ? ` — ${cell(i.serving)}` : ''} |`,
  );
  setCurrentDetails([`**${title}**`, '', '| host | container | version | state |', '|---|---|---|---|', ...rows].join('\n'));
}

export async function upgradeBatch(input: BatchInput): Promise<BatchResult> {
  const live = pendingStatus(input.instances);
  const st = (p: InstancePlan) => live[input.instances.indexOf(p)];
  const publish = () => publishTable(`Batch ${input.name} of ${input.stack}`, live);
  setHandler(batchStatusQuery, () => live, { description: 'The state of each instance of this batch' });
  publish();
  const inventoryOn = input.inventory !== false;
  const tolerate = input.inventory ? input.inventory.tolerate : undefined;
  // Histories recorded before the serving checks have no marker and replay without them.
  const serving = input.instances.some((p) => p.role === 'gateway') && (inventoryOn || !!input.smoke?.length) && patched(SERVING_PATCH);
  const servingOf = (p: InstancePlan) => serving && p.role === 'gateway';
  // When each health check saw its instance healthy: the soak counts from there (results recorded before have none).
  const healthySince = new Map<InstancePlan, HealthySince>();

  /** The instance's state, shown at once in the Web UI's details. */
  const enter = (p: InstancePlan) => (state: InstanceState) => {
    st(p).state = state;
    publish();
  };

  /** The instance ends this batch not upgraded: `rolledBack` says whether it is on its old container again. */
  function ended(p: InstancePlan, state: 'failed' | 'rolled-back', reason: string, rolledBack: boolean): InstanceFailure {
    st(p).state = state;
    st(p).detail = reason;
    publish();
    return { key: instanceKey(p), reason, rolledBack };
  }

  /** `inRotation`: the failure came after lbReady began, so the gateway may be taking requests again. */
  async function rollBack(p: InstancePlan, reason: string, inRotation = false): Promise<InstanceFailure> {
    st(p).state = 'failed';
    st(p).detail = reason;
    st(p).serving = undefined;
    const r = await putOldBack(p, { ...restoreOf(input, p), drain: inRotation }, enter(p));
    if (r.ok) return ended(p, 'rolled-back', reason, true);
    return ended(p, 'failed', r.failedAt === 'rollback' ? `${reason}; rollback failed: ${r.error}` : `${reason}; ${NOT_BACK_IN_LB}: ${r.error}`, false);
  }

  /** Out of rotation before the stop; a failure stops this gateway here, before anything was stopped. */
  async function drainOne(lb: LoadBalancerInput, p: InstancePlan): Promise<InstanceFailure | undefined> {
    enter(p)('draining');
    try {
      await drain(lb, p, input.stack);
      return undefined;
    } catch (err) {
      const reason = `not taken out of the load balancer, so not stopped: ${failureMessage(err)}`;
      // The drain may have half happened (state set, wait failed): put it back before reporting.
      const stuck = await backIntoRotation(lb, p, input.stack, enter(p));
      return stuck ? ended(p, 'failed', `${reason}; ${NOT_BACK_IN_LB}: ${stuck}`, false) : ended(p, 'rolled-back', reason, true);
    }
  }

  /** What the old gateway serves, read before anything happens to it; a failure stops this gateway here, untouched. */
  async function inventoryBefore(p: InstancePlan): Promise<GatewayInventory | InstanceFailure> {
    try {
      return await on(p.host, SHORT, `Read what ${p.container} serves`).readInventory({ instance: p });
    } catch (err) {
      // Its engine gone, nobody can say the gateway still serves: a failure the fleet's rollback tries again.
      const engineDown = failureType(err) === ErrorType.DockerUnreachable;
      const reason = `not stopped: cannot read what it serves${engineDown ? '' : ' through its Gateway API'}: ${failureMessage(err)}`;
      return ended(p, engineDown ? 'failed' : 'rolled-back', reason, !engineDown);
    }
  }

  async function upgradeOne(p: InstancePlan): Promise<InstanceFailure | undefined> {
    const lb = lbOf(input.loadBalancer, p);
    let before: GatewayInventory | undefined;
    if (servingOf(p) && inventoryOn) {
      const read = await inventoryBefore(p);
      if ('key' in read) return read;
      before = read;
    }
    if (lb) {
      const notDrained = await drainOne(lb, p);
      if (notDrained) return notDrained;
    }
    st(p).state = 'recreating';
    publish();
    const prepared = input.prepared?.[instanceKey(p)];
    try {
      await on(p.host, DOCKER_CHANGE, `Recreate ${p.container} → ${p.toImage}`).recreateContainer({
        ...replacementTarget(p),
        drainTimeoutSec: input.drainTimeoutSec,
        ...(prepared ? { prepared } : {}),
      });
      st(p).state = 'health-check';
      publish();
      const health = await on(p.host, SHORT, `Health check ${p.container} for ${p.toVersion}`).checkHealth({
        instance: p,
        version: p.toVersion,
        timeoutMs: input.healthTimeoutMs,
      });
      if (health.healthyAt) healthySince.set(p, { healthyAt: health.healthyAt, ...(health.startedAt ? { startedAt: health.startedAt } : {}) });
      if (servingOf(p)) {
        const r = await on(p.host, SHORT, `Check ${p.container} serves what it served`).checkServing({
          instance: p,
          ...(before ? { before } : {}),
          ...(tolerate ? { tolerate } : {}),
          ...(input.smoke?.length ? { smoke: input.smoke } : {}),
          // Tyk loads its APIs just after it starts to listen: a short wait, not the whole health timeout.
          waitMs: Math.min(input.healthTimeoutMs, 15_000),
        });
        st(p).serving = r.summary;
      }
    } catch (err) {
      return rollBack(p, failureMessage(err));
    }
    st(p).state = 'upgraded';
    publish();
    return undefined;
  }

  /** Watch each healthy instance for soakMs (Nomad's min_healthy_time); one that falters is rolled back. */
  async function soakOne(p: InstancePlan): Promise<InstanceFailure | undefined> {
    const since = healthySince.get(p);
    try {
      await on(
        p.host,
        { ...SHORT, startToCloseTimeout: (input.soakMs as number) + 120_000 },
        `Soak ${p.container} for ${(input.soakMs as number) / 1000} s`,
      ).soakHealth({
        instances: [p],
        durationMs: input.soakMs as number,
        ...(since ? { healthy: { [p.container]: since } } : {}),
        ...(servingOf(p) && input.smoke?.length ? { smoke: input.smoke } : {}),
      });
      return undefined;
    } catch (err) {
      return rollBack(p, failureMessage(err));
    }
  }

  /** Healthy (and soaked): back into rotation, confirmed up; a failure is this gateway's, rolled back like any. */
  async function readyOne(lb: LoadBalancerInput, p: InstancePlan): Promise<InstanceFailure | undefined> {
    st(p).state = 'undraining';
    publish();
    try {
      await undrain(lb, p, input.stack);
    } catch (err) {
      return rollBack(p, `not put back into the load balancer: ${failureMessage(err)}`, true);
    }
    st(p).state = 'upgraded';
    publish();
    return undefined;
  }

  /** Back in rotation: its real traffic over the analysis window; too many 5xx take it out again and roll it back. */
  async function analyseOne(lb: LoadBalancerInput, analysis: TrafficAnalysis, p: InstancePlan): Promise<InstanceFailure | undefined> {
    st(p).state = 'analysing';
    publish();
    try {
      const r = await on(
        p.host,
        { startToCloseTimeout: analysis.windowMs + 60_000, heartbeatTimeout: '10s', retry: retry(3) },
        `Watch ${p.container}'s traffic for ${analysis.windowMs / 1000} s`,
      ).lbAnalyse({ lb, gateway: lbGateway(p, input.stack), analysis });
      st(p).serving = [st(p).serving, r.summary].filter(Boolean).join('; ');
    } catch (err) {
      return rollBack(p, failureMessage(err), true);
    }
    st(p).state = 'upgraded';
    publish();
    return undefined;
  }

  // Every instance of the batch finishes (healthy, or rolled back) before the batch reports: never half a batch.
  const failed = (await Promise.all(input.instances.map(upgradeOne))).filter((f): f is InstanceFailure => !!f);
  let prepared: Record<string, PreparedReplacement> = {};
  if (input.soakMs && failed.length <= input.failuresAllowed) {
    const healthy = input.instances.filter((p) => st(p).state === 'upgraded');
    const soaks = Promise.all(healthy.map(soakOne));
    // The soak is time the hosts wait anyway; after a failure the fleet may stop here, so nothing is made.
    const ahead = input.next?.length && !failed.length ? prepareAhead(input.next, input.soakMs) : undefined;
    failed.push(...(await soaks).filter((f): f is InstanceFailure => !!f));
    prepared = (await ahead) ?? {};
  }
  if (input.loadBalancer) {
    // Even past the failure budget: a healthy gateway is never left out of rotation.
    const back = input.instances.filter((p) => st(p).state === 'upgraded' && lbOf(input.loadBalancer, p));
    failed.push(...(await Promise.all(back.map((p) => readyOne(input.loadBalancer as LoadBalancerInput, p)))).filter((f): f is InstanceFailure => !!f));
    const { analysis, loadBalancer } = input;
    // Past the failure budget everything goes back anyway: no point in watching traffic first.
    if (analysis && loadBalancer.type === 'haproxy' && failed.length <= input.failuresAllowed) {
      const inRotation = back.filter((p) => st(p).state === 'upgraded');
      failed.push(...(await Promise.all(inRotation.map((p) => analyseOne(loadBalancer, analysis, p)))).filter((f): f is InstanceFailure => !!f));
    }
  }
  const upgraded = input.instances.filter((p) => st(p).state === 'upgraded');
  const seen = upgraded.filter((p) => st(p).serving).map((p) => [instanceKey(p), st(p).serving as string]);
  return {
    upgraded: upgraded.map(instanceKey),
    failed,
    ...(seen.length ? { serving: Object.fromEntries(seen) } : {}),
    ...(Object.keys(prepared).length ? { prepared } : {}),
  };
}

export async function rollbackBatch(input: RollbackBatchInput): Promise<RollbackBatchResult> {
  const live: InstanceStatus[] = pendingStatus(input.instances).map((i) => ({ ...i, state: 'rolling-back' }));
  const publish = () => publishTable(`Rollback of batch ${input.name} of ${input.stack}`, live);
  setHandler(batchStatusQuery, () => live, { description: 'The state of each instance of this rollback' });
  publish();
  const results = await Promise.all(
    input.instances.map(async (p, i): Promise<InstanceFailure | undefined> => {
      const enter = (state: InstanceState) => {
        live[i].state = state;
        publish();
      };
      const r = await putOldBack(p, { ...restoreOf(input, p), drain: true }, enter);
      if (r.ok) {
        enter('rolled-back');
        return undefined;
      }
      live[i].detail = r.failedAt === 'rollback' ? `rollback failed: ${r.error}` : `rolled back, but not put back into the load balancer: ${r.error}`;
      enter('failed');
      return { key: instanceKey(p), reason: live[i].detail as string, rolledBack: false };
    }),
  );
  return {
    rolledBack: input.instances.filter((_, i) => live[i].state === 'rolled-back').map(instanceKey),
    failed: results.filter((f): f is InstanceFailure => !!f),
  };
}
