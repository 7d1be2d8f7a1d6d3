// What the workflow hands the load-balancer activities, built from the plan's loadBalancer: section.
// Plain JSON: it is part of the workflow input.

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
