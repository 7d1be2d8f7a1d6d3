// What the load-balancer activities answer, and what the drivers need from the activity context. Their input
// (LoadBalancerInput, LbGateway) is in src/shared/load-balancer.ts: the plan and the workflow build it.

export interface LbServer {
  container: string;
  server: string;
  /** HAProxy's status (UP, DOWN, DRAIN, MAINT, …); "hooks" for the hooks driver, which has nothing to look at. */
  state: string;
}

export interface DrainResult {
  server: string;
  waitedMs: number;
  /** Sessions still on the server when the wait ended (0 unless timedOut). */
  sessionsLeft: number;
  timedOut: boolean;
}

export interface ReadyResult {
  server: string;
  status: string;
}

/** What the drivers need from the activity context: heartbeats that carry progress, and a cancellable sleep. */
export interface Pacer {
  /** When the first attempt of this activity started (kept in heartbeat details, so a retry keeps the deadline). */
  startedAt: number;
  heartbeat(details: Record<string, unknown>): void;
  sleep(ms: number): Promise<void>;
  signal?: AbortSignal;
}
