// Every failure type of ours, in one place: who raises it, and the exit code the CLI gives it. Activities throw
// ApplicationFailure with the activity types (the retry policies list them as non-retryable, so a bad plan fails
// at once with its message); the workflow's validators refuse a request with the refusal types; the workflow
// ends with an outcome type when it ends other than in success. Pure: workflow code imports it.
import { Exit, type ExitCode } from './exit-codes';
import type { Outcome } from './types';

/** Raised by activities (and by the workflow on an activity's behalf); no retry can fix them. */
const ACTIVITY = {
  ContainerNotFound: Exit.StackNotReady,
  NotTyk: Exit.StackNotReady,
  ImageNotFound: Exit.StackNotReady,
  InvalidPlan: Exit.BadPlan,
  DowngradeRefused: Exit.StackNotReady,
  AlreadyAtTarget: Exit.StackNotReady,
  PluginBuildMissing: Exit.StackNotReady,
  LeftoverContainer: Exit.StackNotReady,
  HealthCheckFailed: Exit.UpgradeFailed,
  BackupMismatch: Exit.UpgradeFailed,
  BackupNoSpace: Exit.StackNotReady,
  /** A host's worker cannot reach its own Docker engine. */
  DockerUnreachable: Exit.DockerUnreachable,
  /** No worker polls a host's task queue, so nothing can run there. */
  NoWorker: Exit.TemporalUnreachable,
  // Load balancer (src/activities/load-balancer): the gateway is not in it, it refused a command, it did not
  // report the gateway up in time, or a hook kept failing until its own deadline (retried inside the activity).
  LoadBalancerServerNotFound: Exit.StackNotReady,
  LoadBalancerRefused: Exit.UpgradeFailed,
  LoadBalancerNotReady: Exit.UpgradeFailed,
  LoadBalancerHookFailed: Exit.UpgradeFailed,
  // Serving checks (src/activities/gateway-api.ts, smoke.ts, load-balancer analysis): the Gateway API cannot be
  // read (wrong secret, no control API), the new gateway lost an API or policy, a smoke request failed (today at
  // preflight, or on the new version), real traffic saw too many 5xx; Redis is outside what the target supports.
  GatewayApiUnavailable: Exit.StackNotReady,
  InventoryMismatch: Exit.UpgradeFailed,
  SmokeRequestFailed: Exit.UpgradeFailed,
  SmokeFailsToday: Exit.StackNotReady,
  TrafficAnalysisFailed: Exit.UpgradeFailed,
  UnsupportedRedis: Exit.StackNotReady,
} as const satisfies Record<string, ExitCode>;

/** A stage of the workflow failed on one host of several (the host is named in the message). */
const STAGE = {
  HostFailed: Exit.UpgradeFailed,
} as const satisfies Record<string, ExitCode>;

/** The workflow's validators refuse the request: nothing changed, and the message says what to do instead. */
const REFUSAL = {
  InvalidGate: Exit.Usage,
  GateNotWaiting: Exit.WorkflowState,
  ApproverRequired: Exit.Usage,
  ApproverRepeated: Exit.WorkflowState,
  ApproverIsStarter: Exit.WorkflowState,
  InvalidChoice: Exit.Usage,
  NotPaused: Exit.WorkflowState,
  NotRunning: Exit.WorkflowState,
} as const satisfies Record<string, ExitCode>;

/** How an upgrade ends when it does not succeed: the workflow's own failure type. */
const OUTCOME = {
  UpgradeFailed: Exit.UpgradeFailed,
  UpgradePartial: Exit.UpgradeFailed,
  UpgradeRolledBack: Exit.UpgradeRolledBack,
  UpgradeRejected: Exit.UpgradeStopped,
  UpgradeApprovalTimedOut: Exit.UpgradeStopped,
  UpgradeCancelled: Exit.UpgradeStopped,
} as const satisfies Record<string, ExitCode>;

const EXIT_OF: Record<string, ExitCode> = { ...ACTIVITY, ...STAGE, ...REFUSAL, ...OUTCOME };
export type ErrorTypeName = keyof typeof ACTIVITY | keyof typeof STAGE | keyof typeof REFUSAL | keyof typeof OUTCOME;
/** Each type's name, to throw and compare without string literals. */
export const ErrorType = Object.fromEntries(Object.keys(EXIT_OF).map((k) => [k, k])) as { readonly [K in ErrorTypeName]: K };

/** The activity types, in their order of 0.1: retry policies carry this list into every recorded history. */
export const NON_RETRYABLE: string[] = Object.keys(ACTIVITY);

/** The failure type an upgrade ends with, by its outcome. */
export const OUTCOME_FAILURE: Record<Outcome, keyof typeof OUTCOME> = {
  running: 'UpgradeFailed',
  succeeded: 'UpgradeFailed',
  partial: 'UpgradePartial',
  failed: 'UpgradeFailed',
  'rolled-back': 'UpgradeRolledBack',
  rejected: 'UpgradeRejected',
  'timed-out': 'UpgradeApprovalTimedOut',
  cancelled: 'UpgradeCancelled',
};

/** True for every type of ours: a failure we raised on purpose, with a message for people. */
export function isOurFailureType(type: string | null | undefined): type is ErrorTypeName {
  return !!type && type in EXIT_OF;
}

/** The CLI's exit code for one of our failure types; undefined for anything else. */
export function exitCodeOf(type: string | null | undefined): ExitCode | undefined {
  return isOurFailureType(type) ? EXIT_OF[type] : undefined;
}
