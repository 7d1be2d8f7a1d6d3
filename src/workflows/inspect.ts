// Short workflows that only look: `init` and `plan` ask each host's worker through Temporal, so the CLI needs no
// Docker access of its own. A host whose worker does not answer is reported by name, never waited for forever.
import type { FoundContainer } from '../activities/discover';
import type { DryRunReport } from '../activities/dry-run';
import type { HaproxyServer, ServerMatch } from '../activities/load-balancer/discover';
import type { UpgradeInput } from '../shared/types';
import { retry, SHORT } from './activity-options';
import { explainNoWorker, failureMessage } from './failures';
import { firstContact } from './routing';

export interface HostAnswer<T> {
  host?: string;
  result?: T;
  /** Why this host gave no answer (no worker, no engine, ...). */
  error?: string;
}

const LOOK = { ...SHORT, retry: retry(2) };

async function ask<T>(host: string | undefined, call: () => Promise<T>): Promise<HostAnswer<T>> {
  try {
    return { ...(host ? { host } : {}), result: await call() };
  } catch (err) {
    return { ...(host ? { host } : {}), error: failureMessage(explainNoWorker(err, host)) };
  }
}

/** The Tyk containers on each host (undefined: the worker of this workflow's own queue). */
export async function discoverFleet(input: { hosts: (string | null)[]; labels: string[] }): Promise<HostAnswer<FoundContainer[]>[]> {
  return Promise.all(
    input.hosts.map((h) => {
      const host = h ?? undefined;
      return ask(host, () => firstContact(host, LOOK, `Find Tyk containers${host ? ` on ${host}` : ''}`).discoverTyk({ labels: input.labels }));
    }),
  );
}

export interface LbDiscoverInput {
  /** The host whose worker asks HAProxy (the first gateway's); null: this workflow's own queue. */
  host: string | null;
  haproxy: { socket?: string; address?: string };
  gateways: { container: string; url: string }[];
  backend?: string;
}

/** For `init --haproxy-*`: HAProxy's servers, matched to the gateways by address and port, from a gateway's host. */
export async function discoverLoadBalancer(input: LbDiscoverInput): Promise<HostAnswer<{ servers: HaproxyServer[]; match: ServerMatch }>> {
  const host = input.host ?? undefined;
  return ask(host, () =>
    firstContact(host, LOOK, `Find the gateways in HAProxy${host ? ` from ${host}` : ''}`).lbDiscover({
      haproxy: input.haproxy,
      gateways: input.gateways,
      ...(input.backend ? { backend: input.backend } : {}),
    }),
  );
}

/** The dry run of a plan, each host checking its own containers, images and backups. */
export async function dryRunFleet(input: UpgradeInput): Promise<HostAnswer<DryRunReport>[]> {
  const hosts = [...new Set([...input.gateways, ...input.pumps].map((t) => t.host))];
  return Promise.all(
    hosts.map((host) => {
      const mine = <T extends { host?: string }>(list: T[]) => list.filter((t) => t.host === host);
      return ask(host, () =>
        firstContact(host, LOOK, `Dry run${host ? ` on ${host}` : ''}`).dryRun({ ...input, gateways: mine(input.gateways), pumps: mine(input.pumps) }),
      );
    }),
  );
}
