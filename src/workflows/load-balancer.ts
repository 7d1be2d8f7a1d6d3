// The load-balancer step around a gateway's recreate, as the batch workflows call it: the activities' input and
// their timeouts. Deterministic: workflow code only.
import type { ActivityOptions } from '@temporalio/workflow';
import type { LbGateway, LoadBalancerInput } from '../shared/load-balancer';
import type { InstancePlan } from '../shared/types';
import { retry } from './routing';

/** How long one call may wait at most: the drain or ready timeout (HAProxy), or the hook's deadline. */
function waitMs(lb: LoadBalancerInput): number {
  return lb.type === 'haproxy' ? Math.max(lb.drainTimeoutMs, lb.readyTimeoutMs) : lb.timeoutMs;
}

/**
 * Each attempt may take the whole wait plus a margin; the drivers heartbeat every poll (HAProxy) or backoff
 * (hooks), so a dead worker is noticed in seconds. A retry keeps the first attempt's deadline (heartbeat details).
 */
export function lbOptions(lb: LoadBalancerInput): ActivityOptions {
  return { startToCloseTimeout: waitMs(lb) + 60_000, heartbeatTimeout: '10s', retry: retry(5) };
}

/** What the load balancer (or a hook) is told about a gateway. */
export function lbGateway(p: InstancePlan, stack: string): LbGateway {
  return {
    container: p.container,
    url: p.url,
    ...(p.host ? { host: p.host } : {}),
    fromVersion: p.fromVersion,
    toVersion: p.toVersion,
    stack,
  };
}

/** The load balancer for this instance: only gateways are behind one; pumps never touch it. */
export function lbOf(lb: LoadBalancerInput | undefined, p: InstancePlan): LoadBalancerInput | undefined {
  return p.role === 'gateway' ? lb : undefined;
}
