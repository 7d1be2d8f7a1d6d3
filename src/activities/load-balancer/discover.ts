// Which HAProxy server is which gateway: a server whose address and port are the gateway URL's host and port.
// Used by `init` to write the plan's loadBalancer section, and by the driver when the plan names no servers.
import { allServers, type RuntimeTarget, type ServerState } from './haproxy-runtime';

export interface HaproxyServer {
  backend: string;
  server: string;
  address: string;
  port: number;
  /** The host name the server was configured with, when it was one. */
  fqdn?: string;
}

/** Every server of every backend of the HAProxy behind this Runtime API. */
export async function haproxyServers(lb: RuntimeTarget): Promise<HaproxyServer[]> {
  return (await allServers(lb)).map(({ backend, server, address, port, fqdn }) => ({ backend, server, address, port, fqdn }));
}

/** host:port a gateway URL connects to; "localhost" counts as 127.0.0.1 (HAProxy resolves it so). */
export function gatewayEndpoint(url: string): { host: string; port: number } {
  const u = new URL(url);
  const port = u.port ? Number(u.port) : u.protocol === 'https:' ? 443 : 80;
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return { host: host === 'localhost' ? '127.0.0.1' : host, port };
}

export function serverMatches(url: string, s: Pick<ServerState, 'address' | 'port' | 'fqdn'>): boolean {
  const { host, port } = gatewayEndpoint(url);
  return s.port === port && (s.address === host || s.fqdn === host || (s.fqdn === 'localhost' && host === '127.0.0.1'));
}

export function describeServers(servers: Pick<HaproxyServer, 'server' | 'address' | 'port'>[]): string {
  return servers.length ? servers.map((s) => `${s.server} (${s.address}:${s.port})`).join(', ') : 'none';
}

export type ServerMatch = { backend: string; servers: Record<string, string> } | { problem: string };

/**
 * One backend that holds every gateway, and each gateway's server in it. `backend` restricts the search (when
 * the same servers sit in several backends). A gateway matched by no server, or by two, is a problem.
 */
export function matchServers(gateways: { container: string; url: string }[], servers: HaproxyServer[], backend?: string): ServerMatch {
  const candidates = backend ? servers.filter((s) => s.backend === backend) : servers;
  if (backend && candidates.length === 0) {
    const names = [...new Set(servers.map((s) => s.backend))];
    return { problem: `HAProxy has no backend "${backend}" with servers (backends with servers: ${names.join(', ') || 'none'})` };
  }
  const backends = [...new Set(candidates.map((s) => s.backend))];
  const complete = backends.filter((b) => gateways.every((g) => candidates.some((s) => s.backend === b && serverMatches(g.url, s))));
  if (complete.length === 0) {
    const lost = gateways.filter((g) => !candidates.some((s) => serverMatches(g.url, s)));
    const where = lost.length
      ? `no HAProxy server has the address of ${lost.map((g) => `${g.container} (${hostPort(g.url)})`).join(', ')}`
      : `no single backend holds every gateway (${gateways.map((g) => `${g.container} in ${backendsOf(g.url, candidates)}`).join('; ')})`;
    return { problem: `${where}; HAProxy's servers: ${candidates.map((s) => `${s.backend}/${s.server} ${s.address}:${s.port}`).join(', ') || 'none'}` };
  }
  if (complete.length > 1) {
    return { problem: `every gateway is in several backends (${complete.join(', ')}); say which one to drain with the backend option` };
  }
  const chosen = complete[0];
  const mapping: Record<string, string> = {};
  for (const g of gateways) {
    const hits = candidates.filter((s) => s.backend === chosen && serverMatches(g.url, s));
    if (hits.length > 1) {
      return {
        problem: `${g.container} (${hostPort(g.url)}) matches several servers of backend "${chosen}" (${hits.map((s) => s.server).join(', ')}); name its server in loadBalancer.servers`,
      };
    }
    mapping[g.container.replace(/^\//, '')] = hits[0].server;
  }
  return { backend: chosen, servers: mapping };
}

function hostPort(url: string): string {
  const { host, port } = gatewayEndpoint(url);
  return `${host}:${port}`;
}

function backendsOf(url: string, servers: HaproxyServer[]): string {
  const b = [...new Set(servers.filter((s) => serverMatches(url, s)).map((s) => s.backend))];
  return b.length ? b.join(', ') : 'none';
}
