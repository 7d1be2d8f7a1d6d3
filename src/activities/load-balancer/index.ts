// Load-balancer activities around a gateway's recreate: lbCheck before anything changes, lbDrain before the stop,
// lbReady once the new container is healthy. One interface, two drivers (HAProxy Runtime API, HTTP hooks).
import { Context } from '@temporalio/activity';
import { haproxyServers, matchServers, type HaproxyServer, type ServerMatch } from './discover';
import { callHook } from './hooks';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../shared/errors';
import type { TrafficAnalysis } from '../../shared/serving';
import { haproxyAnalyse, haproxyCheck, haproxyDrain, haproxyReady, type AnalysisResult } from './haproxy';
import type { LbGateway, LoadBalancerInput } from '../../shared/load-balancer';
import type { DrainResult, LbServer, Pacer, ReadyResult } from './types';

export type { DrainResult, LbServer, ReadyResult } from './types';
export { readHookHeaders } from './hook-config';
export { haproxyServers, matchServers, type HaproxyServer, type ServerMatch };

export interface LoadBalancerDeps {
  /** Sent with every hook call; from the worker's environment (readHookHeaders), never from the plan. */
  hookHeaders?: Record<string, string>;
}

/** The current activity's pacing; the start time survives retries through the heartbeat details. */
function pacer(): Pacer {
  const ctx = Context.current();
  const previous = ctx.info.heartbeatDetails as { startedAt?: unknown } | undefined;
  const startedAt = typeof previous?.startedAt === 'number' ? previous.startedAt : Date.now();
  return {
    startedAt,
    heartbeat: (details) => ctx.heartbeat(details),
    sleep: (ms) => ctx.sleep(ms),
    signal: ctx.cancellationSignal,
  };
}

export function createLoadBalancerActivities(deps: LoadBalancerDeps) {
  const headers = deps.hookHeaders ?? {};
  const bare = (g: LbGateway) => g.container.replace(/^\//, '');

  return {
    /** Every gateway has a server in the load balancer (preflight: nothing has changed yet). */
    async lbCheck(input: { lb: LoadBalancerInput; gateways: LbGateway[] }): Promise<{ servers: LbServer[] }> {
      if (input.lb.type === 'haproxy') return haproxyCheck(input.lb, input.gateways);
      // A hook has nothing to ask in advance; its URLs were checked with the plan.
      return { servers: input.gateways.map((g) => ({ container: bare(g), server: bare(g), state: 'hooks' })) };
    },

    /** For `init` on a gateway's host: HAProxy's servers, and which one is which gateway (by address and port). */
    async lbDiscover(input: {
      haproxy: { socket?: string; address?: string };
      gateways: { container: string; url: string }[];
      backend?: string;
    }): Promise<{ servers: HaproxyServer[]; match: ServerMatch }> {
      const servers = await haproxyServers(input.haproxy);
      return { servers, match: matchServers(input.gateways, servers, input.backend) };
    },

    /** Out of rotation, and wait until the requests in flight on it are done (or the drain timeout passes). */
    async lbDrain(input: { lb: LoadBalancerInput; gateway: LbGateway }): Promise<DrainResult> {
      const pace = pacer();
      if (input.lb.type === 'haproxy') return haproxyDrain(input.lb, input.gateway, pace);
      const r = await callHook(input.lb, 'beforeStop', input.gateway, headers, pace);
      // The hook's 2xx is its word that the gateway is out and drained.
      return { server: bare(input.gateway), waitedMs: r.tookMs, sessionsLeft: 0, timedOut: false };
    },

    /** Back into rotation, and wait until the load balancer sees it up. */
    async lbReady(input: { lb: LoadBalancerInput; gateway: LbGateway }): Promise<ReadyResult> {
      const pace = pacer();
      if (input.lb.type === 'haproxy') return haproxyReady(input.lb, input.gateway, pace);
      const r = await callHook(input.lb, 'afterHealthy', input.gateway, headers, pace);
      return { server: bare(input.gateway), status: `HTTP ${r.status}` };
    },

    /** Once back in rotation: the gateway's real traffic over the plan's analysis window (HAProxy's counters). */
    async lbAnalyse(input: { lb: LoadBalancerInput; gateway: LbGateway; analysis: TrafficAnalysis }): Promise<AnalysisResult> {
      if (input.lb.type !== 'haproxy') {
        throw ApplicationFailure.create({
          type: ErrorType.InvalidPlan,
          nonRetryable: true,
          message: 'analysis: needs loadBalancer: haproxy: (hooks have no counters to read)',
        });
      }
      return haproxyAnalyse(input.lb, input.gateway, input.analysis, pacer());
    },
  };
}

export type LoadBalancerActivities = ReturnType<typeof createLoadBalancerActivities>;
