// Names shared by the worker, the client and the workflows. Pure: safe to import from workflow code.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TASK_QUEUE = 'tyk-upgrade';
/**
 * Since 0.2 one workflow type upgrades one host or a fleet. 0.1's `upgradeStack` is not registered any more: a 0.1
 * upgrade still running must be finished by a 0.1 worker (Temporal's versioning by workflow type).
 */
export const WORKFLOW_TYPE = 'upgradeFleet';
export const BATCH_WORKFLOW_TYPE = 'upgradeBatch';
export const ROLLBACK_WORKFLOW_TYPE = 'rollbackBatch';

const HOST_QUEUE = 'tyk-upgrade.host.';
/** Each Docker host's worker polls its own queue; only it touches that host's engine, files and Redis. */
export function hostTaskQueue(host: string): string {
  return `${HOST_QUEUE}${host}`;
}
/** The host whose own queue this is, or undefined for a main queue. */
export function hostOfTaskQueue(taskQueue: string): string | undefined {
  return taskQueue.startsWith(HOST_QUEUE) ? taskQueue.slice(HOST_QUEUE.length) : undefined;
}
const HOST_MARK = ' tyk-upgrade-host=';
/** A host worker says which host it serves in its identity, so `init` can find the fleet through Temporal. */
export function workerIdentity(base: string, host?: string): string {
  return host ? `${base}${HOST_MARK}${host}` : base;
}
export function hostOfIdentity(identity: string): string | undefined {
  const i = identity.indexOf(HOST_MARK);
  return i < 0 ? undefined : identity.slice(i + HOST_MARK.length);
}
/** Host names are task-queue and folder names too. */
export const HOST_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

/** How long a client waits for a worker to take its work (a query, an update, a look-only run); the CLI's --worker-timeout. */
export const WORKER_DEADLINE_MS = 30_000;

/** Children of one upgrade run get ids under the parent's, so a retry of the parent finds the same children. */
export function childWorkflowId(parentId: string, what: string): string {
  return `${parentId}/${what}`;
}
/** One instance across a fleet: the container name alone repeats from host to host. */
export function instanceKey(i: { host?: string; container: string }): string {
  return i.host ? `${i.host}/${i.container}` : i.container;
}

/** One workflow per stack: the id is derived from the stack name so two upgrades of one stack cannot run. */
export function workflowIdFor(stack: string): string {
  return `tyk-upgrade-${stack}`;
}

/** Typed search attributes, registered on the dev server so people can filter upgrades in the Web UI. */
export const SA_STACK = defineSearchAttributeKey('TykStack', SearchAttributeType.KEYWORD);
export const SA_TARGET_VERSION = defineSearchAttributeKey('TykTargetVersion', SearchAttributeType.KEYWORD);
export const SA_STAGE = defineSearchAttributeKey('TykStage', SearchAttributeType.KEYWORD);
/**
 * What a run is, set by the client at start: `upgrade` for an upgrade, `look` for the look-only runs of `init`
 * and `plan`. Batch children carry none. The Web UI's list of upgrades is the query UPGRADES_QUERY.
 */
export const SA_RUN = defineSearchAttributeKey('TykRun', SearchAttributeType.KEYWORD);
export const UPGRADES_QUERY = 'TykRun = "upgrade"';
export const SEARCH_ATTRIBUTES = [SA_STACK, SA_TARGET_VERSION, SA_STAGE, SA_RUN];

/** Names given to containers while an upgrade holds them, so a retry can tell where it stopped; all carry HELD_MARK. */
export const HELD_MARK = '-tyk-upgrade-';
export function oldContainerName(name: string): string {
  return `${name}${HELD_MARK}old`;
}
export function newContainerName(name: string): string {
  return `${name}${HELD_MARK}new`;
}
export function failedContainerName(name: string): string {
  return `${name}${HELD_MARK}failed`;
}
/** Where an old container is kept after the upgrade when the plan asks to keep it. */
export function retiredContainerName(name: string, fromTag: string): string {
  return `${name}-pre-${fromTag}`;
}

/** Containers of a throwaway stack made by `tyk-upgrade sandbox` carry the sandbox's name in this label. */
export const SANDBOX_LABEL = 'io.tyk-upgrade.sandbox';
/** Marks a container's Tyk role (gateway or pump) for discovery, whatever its image is called. */
export const ROLE_LABEL = 'io.tyk-upgrade.role';

/**
 * Where the rig puts real Tyk built from Tyk's source, under the local registry, never beside the stand-ins: the
 * rig (src/real-tyk) pushes there, the sandbox runs from there (the package leaves the rig out, not these names).
 */
export const REAL_TYK_REPOSITORY = { gateway: 'tyk-real/tyk-gateway', pump: 'tyk-real/tyk-pump' } as const;
