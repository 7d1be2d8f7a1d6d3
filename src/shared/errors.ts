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
  /** A host's backup folder is missing or cannot be written: refused at preflight, before anything stops. */
  BackupFolderUnusable: Exit.StackNotReady,
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
  /** A compose file names one version for services the plan does not move together (docs/compose.md). */
  ComposeRefused: Exit.StackNotReady,
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

/** A decision's signature or signed statement is refused (docs/approvals.md): nothing changed either. */
const SIGNATURE = {
  /** Signatures are required and the decision carries none. */
  SignatureRequired: Exit.SignatureRefused,
  /** The signature or statement text does not parse, or was made for another namespace. */
  SignatureMalformed: Exit.SignatureRefused,
  /** The key that signed is not one of the plan's approvers. */
  SignerUnknown: Exit.SignatureRefused,
  /** The signature does not verify over the statement: changed after signing, or the signature of other text. */
  SignatureInvalid: Exit.SignatureRefused,
  /** The statement is about another workflow or another upgrade (an earlier run of the same stack). */
  StatementOtherUpgrade: Exit.SignatureRefused,
  /** The statement decides another gate or pause, or another decision than the one asked for. */
  StatementOtherDecision: Exit.SignatureRefused,
  /** The decision's own fields (name, comment) differ from what was signed. */
  StatementMismatch: Exit.SignatureRefused,
  /** This signature was already used for a decision of this upgrade. */
  StatementReused: Exit.SignatureRefused,
  /** Older than the plan allows, or dated ahead of the workflow's clock. */
  StatementExpired: Exit.SignatureRefused,
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

const EXIT_OF: Record<string, ExitCode> = { ...ACTIVITY, ...STAGE, ...REFUSAL, ...SIGNATURE, ...OUTCOME };
export type ErrorTypeName = keyof typeof ACTIVITY | keyof typeof STAGE | keyof typeof REFUSAL | keyof typeof SIGNATURE | keyof typeof OUTCOME;
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
