// The HAProxy driver: take a gateway's server out of rotation (`state drain`: no new requests, the ones in flight
// finish) and wait until it has no sessions; put it back (`state ready`) and wait until its health check says UP.
// Both are idempotent: HAProxy accepts the same state twice, and the waits only look.
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../../shared/errors';
import { formatDuration } from '../../shared/duration';
import { backendNames, describeTarget, serversOf, serverStat, setServerState, type RuntimeTarget, type ServerStat } from './haproxy-runtime';
import { describeServers, serverMatches } from './discover';
import type { LbGateway, LoadBalancerInput } from '../../shared/load-balancer';
import type { TrafficAnalysis } from '../../shared/serving';
import type { DrainResult, LbServer, Pacer, ReadyResult } from './types';

type HaproxyInput = Extract<LoadBalancerInput, { type: 'haproxy' }>;

const POLL_MS = 200;

const target = (lb: HaproxyInput): RuntimeTarget => ({ socket: lb.socket, address: lb.address });
const bare = (container: string) => container.replace(/^\//, '');

/** The gateway's server in the backend, by the plan's name for it or by its address; not found is final. */
async function resolveServer(lb: HaproxyInput, gateway: LbGateway): Promise<string> {
  const servers = await serversOf(target(lb), lb.backend);
  if (!servers) {
    const names = await backendNames(target(lb)).catch(() => []);
    throw notFound(
      `HAProxy at ${describeTarget(target(lb))} has no backend "${lb.backend}" (its backends: ${names.join(', ') || 'none'}); fix loadBalancer.haproxy.backend`,
    );
  }
  const named = lb.servers?.[bare(gateway.container)];
  if (named) {
    if (servers.some((s) => s.server === named)) return named;
    throw notFound(
      `${bare(gateway.container)} is mapped to server "${named}", which HAProxy backend "${lb.backend}" does not have; its servers: ${describeServers(servers)}. Fix loadBalancer.servers`,
    );
  }
  const hits = servers.filter((s) => serverMatches(gateway.url, s));
  if (hits.length === 1) return hits[0].server;
  const why = hits.length ? `matches several servers (${hits.map((s) => s.server).join(', ')})` : `(${gateway.url}) matches no server by address and port`;
  throw notFound(
    `${bare(gateway.container)} ${why} of HAProxy backend "${lb.backend}"; its servers: ${describeServers(servers)}. Name its server under loadBalancer.servers (${bare(gateway.container)}: SERVER)`,
  );
}

function notFound(message: string): ApplicationFailure {
  return ApplicationFailure.create({ type: ErrorType.LoadBalancerServerNotFound, nonRetryable: true, message });
}

async function setState(lb: HaproxyInput, server: string, state: 'drain' | 'ready'): Promise<void> {
  const refusal = await setServerState(target(lb), lb.backend, server, state);
  if (!refusal) return;
  const hint = /permission denied/i.test(refusal) ? ': the stats socket needs "level admin" in haproxy.cfg' : '';
  throw ApplicationFailure.create({
    type: ErrorType.LoadBalancerRefused,
    nonRetryable: true,
    message: `HAProxy refused "set server ${lb.backend}/${server} state ${state}": ${refusal}${hint}`,
  });
}

async function statOf(lb: HaproxyInput, server: string): Promise<ServerStat> {
  const stat = await serverStat(target(lb), lb.backend, server);
  if (!stat) throw notFound(`HAProxy's statistics have no server ${lb.backend}/${server}`);
  return stat;
}

export async function haproxyCheck(lb: HaproxyInput, gateways: LbGateway[]): Promise<{ servers: LbServer[] }> {
  const servers: LbServer[] = [];
  for (const g of gateways) {
    const server = await resolveServer(lb, g);
    servers.push({ container: bare(g.container), server, state: (await statOf(lb, server)).status });
  }
  return { servers };
}

export async function haproxyDrain(lb: HaproxyInput, gateway: LbGateway, pace: Pacer): Promise<DrainResult> {
  const server = await resolveServer(lb, gateway);
  await setState(lb, server, 'drain');
  // Queued requests for this server count too: they would still be sent to it.
  for (;;) {
    const stat = await statOf(lb, server);
    const sessions = stat.scur + stat.qcur;
    const waitedMs = Date.now() - pace.startedAt;
    pace.heartbeat({ startedAt: pace.startedAt, server, sessions });
    if (sessions === 0) return { server, waitedMs, sessionsLeft: 0, timedOut: false };
    if (waitedMs >= lb.drainTimeoutMs) return { server, waitedMs, sessionsLeft: sessions, timedOut: true };
    await pace.sleep(Math.min(POLL_MS, lb.drainTimeoutMs - waitedMs));
  }
}

/** UP once its health check passes; a server without checks ("no check") is in rotation as soon as it is ready. */
const isUp = (status: string) => status === 'UP' || status === 'no check';

export async function haproxyReady(lb: HaproxyInput, gateway: LbGateway, pace: Pacer): Promise<ReadyResult> {
  const server = await resolveServer(lb, gateway);
  await setState(lb, server, 'ready');
  for (;;) {
    const stat = await statOf(lb, server);
    const waitedMs = Date.now() - pace.startedAt;
    pace.heartbeat({ startedAt: pace.startedAt, server, status: stat.status });
    if (isUp(stat.status)) return { server, status: stat.status };
    if (waitedMs >= lb.readyTimeoutMs) {
      const check = [stat.checkStatus, stat.checkDesc].filter(Boolean).join(' ');
      throw ApplicationFailure.create({
        type: ErrorType.LoadBalancerNotReady,
        nonRetryable: true,
        message:
          `HAProxy still reports ${lb.backend}/${server} (${bare(gateway.container)}) as ${stat.status}` +
          `${check ? ` (last health check: ${check})` : ''} after ${formatDuration(waitedMs)}`,
      });
    }
    await pace.sleep(Math.min(POLL_MS, lb.readyTimeoutMs - waitedMs));
  }
}

export interface AnalysisResult {
  server: string;
  requests: number;
  /** 5xx responses plus requests the server failed without one. */
  errors: number;
  summary: string;
}

const pct = (x: number) => `${Number((x * 100).toFixed(2))}%`;

/** What a server did between two readings; a drop means HAProxy restarted its counters, so the later reading is all. */
function delta(a: ServerStat, b: ServerStat): { requests: number; errors: number } {
  const count = (s: ServerStat) => ({
    requests: s.responses + s.failedResponses + s.failedConnections,
    errors: s.responses5xx + s.failedResponses + s.failedConnections,
  });
  const [x, y] = [count(a), count(b)];
  return y.requests < x.requests ? y : { requests: y.requests - x.requests, errors: y.errors - x.errors };
}

/**
 * Argo-style analysis on real traffic: the server's response counters over the window once the gateway is back in
 * rotation. More 5xx (and failed requests) than max5xxRate fails it, as soon as minRequests were seen; fewer requests
 * than minRequests fails it too unless the plan says tooFewRequests: pass. A retry starts a new window.
 */
export async function haproxyAnalyse(lb: HaproxyInput, gateway: LbGateway, a: TrafficAnalysis, pace: Pacer): Promise<AnalysisResult> {
  const server = await resolveServer(lb, gateway);
  const base = await statOf(lb, server);
  const start = Date.now();
  const name = `${lb.backend}/${server} (${bare(gateway.container)}${gateway.toVersion ? ` on ${gateway.toVersion}` : ''})`;
  const fail = (message: string) => ApplicationFailure.create({ type: ErrorType.TrafficAnalysisFailed, nonRetryable: true, message });
  const tooMany = (d: { requests: number; errors: number }, waited: number) =>
    fail(
      `${name} failed ${d.errors} of ${d.requests} requests (5xx or no response) in ${formatDuration(waited)} of real traffic, ${pct(d.errors / d.requests)}; the plan allows ${pct(a.max5xxRate)} (analysis.max5xxRate)`,
    );
  for (;;) {
    const waited = Date.now() - start;
    const d = delta(base, await statOf(lb, server));
    pace.heartbeat({ startedAt: pace.startedAt, server, ...d });
    // Enough requests to judge and already over the limit: no reason to keep sending traffic to it.
    if (d.requests >= a.minRequests && d.errors / d.requests > a.max5xxRate) throw tooMany(d, waited);
    if (waited >= a.windowMs) {
      if (d.requests < a.minRequests) {
        if (a.tooFewRequests === 'pass')
          return { server, ...d, summary: `analysis: ${d.requests} requests in ${formatDuration(waited)}, too few to judge (accepted: tooFewRequests: pass)` };
        throw fail(
          `only ${d.requests} requests reached ${name} in the ${formatDuration(a.windowMs)} analysis window; the plan needs ${a.minRequests} to judge (analysis.minRequests). Send more traffic, lengthen analysis.window, or accept it with analysis.tooFewRequests: pass`,
        );
      }
      return { server, ...d, summary: `analysis: ${d.errors} of ${d.requests} requests failed in ${formatDuration(waited)} (limit ${pct(a.max5xxRate)})` };
    }
    await pace.sleep(Math.min(1000, a.windowMs - waited));
  }
}
