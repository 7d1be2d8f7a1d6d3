// What the workflow hands the load-balancer activities (built from the plan's loadBalancer: section).

export type LoadBalancerInput =
  | {
      type: 'haproxy';
      /** Runtime API: a unix `stats socket` path, or host:port of a TCP one (exactly one of the two). */
      socket?: string;
      address?: string;
      backend: string;
      drainTimeoutMs: number;
      readyTimeoutMs: number;
      /** container → server name; by default the server whose address:port is the gateway URL's host:port. */
      servers?: Record<string, string>;
    }
  | { type: 'hooks'; beforeStop: string; afterHealthy: string; timeoutMs: number };

export interface LbGateway {
  container: string;
  url: string;
  /** The Docker host the gateway runs on (fleets); sent to hooks. */
  host?: string;
  fromVersion?: string;
  toVersion?: string;
  /** The plan's stack name; sent to hooks. */
  stack?: string;
}

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
