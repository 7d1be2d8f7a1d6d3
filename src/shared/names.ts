// Names shared by the worker, the client and the workflows. Pure: safe to import from workflow code.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const TASK_QUEUE = 'tyk-upgrade';
export const WORKFLOW_TYPE = 'upgradeStack';

/** One workflow per stack: the id is derived from the stack name so two upgrades of one stack cannot run. */
export function workflowIdFor(stack: string): string {
  return `tyk-upgrade-${stack}`;
}

/** Typed search attributes, registered on the dev server so people can filter upgrades in the Web UI. */
export const SA_STACK = defineSearchAttributeKey('TykStack', SearchAttributeType.KEYWORD);
export const SA_TARGET_VERSION = defineSearchAttributeKey('TykTargetVersion', SearchAttributeType.KEYWORD);
export const SA_STAGE = defineSearchAttributeKey('TykStage', SearchAttributeType.KEYWORD);
export const SEARCH_ATTRIBUTES = [SA_STACK, SA_TARGET_VERSION, SA_STAGE];

/** Names given to containers while an upgrade holds them, so a retry can tell where it stopped. */
export function oldContainerName(name: string): string {
  return `${name}-tyk-upgrade-old`;
}
export function newContainerName(name: string): string {
  return `${name}-tyk-upgrade-new`;
}
export function failedContainerName(name: string): string {
  return `${name}-tyk-upgrade-failed`;
}
/** Where an old container is kept after the upgrade when the plan asks to keep it. */
export function retiredContainerName(name: string, fromTag: string): string {
  return `${name}-pre-${fromTag}`;
}
