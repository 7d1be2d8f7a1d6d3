// What the client learns about a fleet through Temporal alone: which hosts have a worker polling, and what each
// host's worker finds on its own engine (discovery, dry run). The client never talks to Docker.
import { randomBytes } from 'node:crypto';
import type { Client } from '@temporalio/client';
import type { FoundContainer } from '../activities/discover';
import type { DryRunReport } from '../activities/dry-run';
import { hostOfIdentity, hostTaskQueue, TASK_QUEUE, WORKER_DEADLINE_MS } from '../shared/names';
import type { UpgradeInput } from '../shared/types';
import type { discoverLoadBalancer, HostAnswer, LbDiscoverInput } from '../workflows/inspect';
import { look } from './look';

const WORKFLOW_QUEUE = 1; // TASK_QUEUE_TYPE_WORKFLOW
const ACTIVITY_QUEUE = 2; // TASK_QUEUE_TYPE_ACTIVITY
/** Workers poll again at least every ~70 s; a poller not seen for longer is gone. */
const FRESH_MS = 90_000;

async function pollers(client: Client, taskQueue: string, type: number): Promise<string[]> {
  const res = await client.workflowService.describeTaskQueue({ namespace: client.options.namespace, taskQueue: { name: taskQueue }, taskQueueType: type });
  const cutoff = Date.now() - FRESH_MS;
  return (res.pollers ?? [])
    .filter((p) => {
      const at = p.lastAccessTime?.seconds;
      return at === undefined || at === null || Number(at) * 1000 >= cutoff;
    })
    .map((p) => p.identity ?? '');
}

export interface FleetWorkers {
  /** Hosts whose worker polls this queue (`tyk-upgrade worker --host NAME`, with or without workflows). */
  hosts: string[];
  /** A worker without --host runs activities on the main queue against its own local engine. */
  local: boolean;
}

/**
 * Which workers poll the main queue: host workers say their host in their identity, those with workflows as
 * workflow pollers, those with `--no-workflows` as activity pollers (they serve notify there).
 */
export async function fleetWorkers(client: Client, taskQueue = TASK_QUEUE): Promise<FleetWorkers> {
  const wf = await pollers(client, taskQueue, WORKFLOW_QUEUE);
  const act = await pollers(client, taskQueue, ACTIVITY_QUEUE);
  const hosts = [...new Set([...wf, ...act].map(hostOfIdentity).filter((h): h is string => !!h))].sort();
  return { hosts, local: act.length > 0 };
}

/** The hosts (undefined: the main queue's own worker) with no worker polling for their activities. */
export async function hostsWithoutWorker(client: Client, hosts: (string | undefined)[], taskQueue = TASK_QUEUE): Promise<(string | undefined)[]> {
  const missing: (string | undefined)[] = [];
  for (const h of hosts) if (!(await pollers(client, h ? hostTaskQueue(h) : taskQueue, ACTIVITY_QUEUE)).length) missing.push(h);
  return missing;
}

/** Whether any worker runs this queue's workflows (otherwise a started workflow waits for one). */
export async function workflowWorkerPolling(client: Client, taskQueue = TASK_QUEUE): Promise<boolean> {
  return (await pollers(client, taskQueue, WORKFLOW_QUEUE)).length > 0;
}

const lookId = (what: string) => `tyk-upgrade-${what}-${randomBytes(4).toString('hex')}`;

/** Each host's worker lists the Tyk containers on its engine; `deadlineMs`: how long a host may take to take the work. */
export function discover(
  client: Client,
  hosts: (string | undefined)[],
  labels: string[],
  taskQueue = TASK_QUEUE,
  deadlineMs = WORKER_DEADLINE_MS,
): Promise<HostAnswer<FoundContainer[]>[]> {
  return look<HostAnswer<FoundContainer[]>[]>(client, 'discoverFleet', {
    taskQueue,
    workflowId: lookId('discover'),
    args: [{ hosts: hosts.map((h) => h ?? null), labels }],
    staticSummary: `Find Tyk containers on ${hosts.map((h) => h ?? 'the local worker').join(', ')}`,
    deadlineMs,
  });
}

/** A gateway host's worker lists HAProxy's servers and matches them to the gateways (changes nothing). */
export function discoverHaproxy(
  client: Client,
  input: LbDiscoverInput,
  taskQueue = TASK_QUEUE,
  deadlineMs = WORKER_DEADLINE_MS,
): ReturnType<typeof discoverLoadBalancer> {
  return look(client, 'discoverLoadBalancer', {
    taskQueue,
    workflowId: lookId('discover-lb'),
    args: [input],
    staticSummary: `Find the gateways in HAProxy at ${input.haproxy.socket ?? input.haproxy.address}`,
    deadlineMs,
  });
}

/** Each host's worker checks its part of the plan (changes nothing). */
export function dryRunPlan(client: Client, input: UpgradeInput, taskQueue = TASK_QUEUE, deadlineMs = WORKER_DEADLINE_MS): Promise<HostAnswer<DryRunReport>[]> {
  return look<HostAnswer<DryRunReport>[]>(client, 'dryRunFleet', {
    taskQueue,
    workflowId: lookId('plan'),
    args: [input],
    staticSummary: `Dry run of the plan for ${input.stack}`,
    deadlineMs,
  });
}
