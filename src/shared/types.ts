// Data that crosses the workflow boundary: workflow input, activity inputs/results, the status query.
// Plain JSON only. Nothing here may carry a value read from tyk.conf or pump.conf: it lands in workflow history.
import type { LoadBalancerInput } from './load-balancer';
import type { Approver, VerifiedSignature } from './signed-decisions';
import type { Signed } from './statement';
import type { InventoryTolerance, SmokeRequest, TrafficAnalysis } from './serving';

export type Role = 'gateway' | 'pump';
/** after-canary waits after the first batch of gateways, when there is more than one batch. */
export const GATES = ['before-gateways', 'after-canary', 'before-pump'] as const;
export type GateName = (typeof GATES)[number];
/** Gates a plan has when it names none: after-canary is asked for explicitly. */
export const DEFAULT_GATES: GateName[] = ['before-gateways', 'before-pump'];

export interface GatewayTarget {
  /** Container name on the Docker engine. */
  container: string;
  /** Base URL where the gateway answers /hello (listen_port, or control_api_port when set). */
  url: string;
  /** health_check_endpoint_name; "hello" unless the gateway renamed it. */
  helloPath: string;
  /** The Docker host that runs it (its worker polls tyk-upgrade.host.NAME); absent: the workflow's own worker. */
  host?: string;
  /** Load-balancer pool: gateways that serve the same traffic; maxUnavailable applies per pool. */
  pool?: string;
  /** Where its APIs answer (listen_port), when that is not `url` (a separate control_api_port); smoke requests go here. */
  apiUrl?: string;
}

export interface PumpTarget {
  container: string;
  /** Full URL of the pump's health endpoint, e.g. http://127.0.0.1:8083/health. */
  healthUrl: string;
  host?: string;
}

/** One step of a ramp: a count of gateways, or a percentage of all of them ("25%"). */
export type BatchStep = number | string;
export type FailureAction = 'rollback' | 'pause';
/**
 * What happens to the compose file (and `.env`) of a container made by docker compose: `update` changes the
 * version where it is written once the service runs its target (and puts it back on a rollback), `warn` only says
 * it must be changed, `ignore` says nothing.
 */
export const COMPOSE_MODES = ['update', 'warn', 'ignore'] as const;
export type ComposeMode = (typeof COMPOSE_MODES)[number];

/** A validated, normalised plan: the workflow's input. Durations are milliseconds. */
export interface UpgradeInput {
  stack: string;
  gateways: GatewayTarget[];
  /** One pump per host or region, or none. */
  pumps: PumpTarget[];
  gatewayVersion: string;
  pumpVersion?: string;
  /** Repositories to take the target images from; default: the one each container runs now. */
  gatewayRepository?: string;
  pumpRepository?: string;
  allowDowngrade: boolean;
  gates: GateName[];
  /** When set, a gate left undecided this long aborts the upgrade (it never proceeds by itself). */
  approvalTimeoutMs?: number;
  /** Four-eyes: distinct people who must approve each gate (default 1). */
  approvals?: number;
  /** The person who started the upgrade may not approve it. */
  approverMustDifferFromStarter?: boolean;
  /** Who started it, as the CLI was told (`--by`, else the user name): a claim, unless the start is signed. */
  startedBy?: string;
  /**
   * People whose SSH keys may sign decisions (docs/approvals.md): a name and an OpenSSH public key line each.
   * With them, a signed decision is verified by the workflow and recorded with its signer.
   */
  approvers?: Approver[];
  /** Every gate and pause decision and the start must be signed by an approver's key. */
  requireSignatures?: boolean;
  /** A signed statement older than this is refused (default 15 minutes). */
  signatureMaxAgeMs?: number;
  /** The starter's signed statement (plan hash, name, time); required with requireSignatures. */
  startSigned?: Signed;
  /** How long a gateway may drain on stop; longer than Tyk's own 30 s by default. */
  drainTimeoutSec: number;
  healthTimeoutMs: number;
  /**
   * How many gateways are recreated at once: a number, a percentage of all gateways, or a ramp such as
   * [1, 2, "25%"] whose last step repeats (the first batch is the canary).
   */
  batchSize: BatchStep | BatchStep[];
  /** Most gateways of one pool out of service at once (count or percentage); default: all but one of the pool. */
  maxUnavailable?: BatchStep;
  /** Failed instances the fleet tolerates before the failure action (count or percentage); default 0. */
  maxFailures?: BatchStep;
  /** What happens past the budget: roll back everything this run changed (default), or pause for a person. */
  onFailure?: FailureAction;
  /** A pause left undecided this long rolls back (it never proceeds by itself). */
  pauseTimeoutMs?: number;
  /** After each batch (and the pump) is healthy, keep watching it this long before moving on; 0 or absent: none. */
  soakMs?: number;
  /**
   * Where on each host the backups go: a subfolder of that host worker's own backup folder (the plan's
   * backupSubfolder), or absent for the folder itself. An absolute path, as 0.3 sent it, is used as it is, so a
   * run started by 0.3 finishes where it began.
   */
  backupDir?: string;
  keepOldContainers: boolean;
  /** Take each gateway out of this load balancer before its stop, put it back once healthy; absent: no such step. */
  loadBalancer?: LoadBalancerInput;
  /**
   * Maintenance windows, as the plan wrote them ("Sat 02:00-04:00 Europe/Berlin"): no container is stopped
   * outside them (preflight, backup and pull run any time). Absent: any time.
   */
  window?: string[];
  /** Compose projects' files: absent means `update` (runs before 0.4 had no such step). */
  compose?: ComposeMode;
  /**
   * Each gateway's APIs and policies, read through its Gateway API before its stop, must be there on the new
   * version (`tolerate`: ids that may differ). Absent: checked, nothing tolerated; false: not checked.
   */
  inventory?: false | { tolerate?: InventoryTolerance };
  /** Requests each new gateway must answer, directly, after its health check and during the soak; `plan` sends them today. */
  smoke?: SmokeRequest[];
  /** With the HAProxy driver: watch each gateway's real traffic for this window once it is back in rotation. */
  analysis?: TrafficAnalysis;
  /** A gateway Redis outside what the target supports (Tyk's docs): refuse at preflight; absent: a warning. */
  unsupportedRedis?: 'refuse';
  /**
   * Parent history events after which the run continues as new at the next safe point between gateway batches,
   * so the parent's history stays bounded whatever the fleet's size (default 1000; Temporal warns at 10,240).
   */
  maxHistoryEvents?: number;
  /** Set only by the workflow itself when it continues as new: where the upgrade stands. Absent from plans. */
  continued?: FleetCarry;
}

/** What one run of an upgrade hands the next when it continues as new: its whole state, and where to go on. */
export interface FleetCarry {
  status: UpgradeStatus;
  plan: InstancePlan[];
  manifests: Record<string, string>;
  changed: { batch: string; keys: string[] }[];
  accepted: number;
  pauses: number;
  rejectedWithRollback: boolean;
  /** The gateway batch (0-based, in the planned order) the next run starts with. */
  nextBatch: number;
  /** Replacements made ahead that no recreate has taken yet (instance key →); absent when there are none. */
  prepared?: Record<string, PreparedReplacement>;
}

/**
 * A gateway's replacement made ahead of its batch, during the soak of the batch before: the container's id and
 * the sha256 of the create options it was made from (recreate takes it only while they are still the same).
 */
export interface PreparedReplacement {
  id: string;
  spec: string;
}

/** A compose project as its containers' labels describe it; paths are on the host of the container's worker. */
export interface ComposeRef {
  project: string;
  service: string;
  /** The project folder (com.docker.compose.project.working_dir). */
  workingDir: string;
  /** The files compose merges, in order (absolute). */
  configFiles: string[];
  /** Files given with --env-file (absolute); empty: compose reads the folder's `.env`. */
  envFiles: string[];
  /** The compose version that made the container (com.docker.compose.version). */
  madeBy?: string;
}

/** An instance whose compose file this upgrade edits; `labels` are set on its replacement so compose agrees. */
export interface InstanceCompose extends ComposeRef {
  /** compose's config hash (and v2's image id) for the edited service, found after the pull; absent: none. */
  labels?: Record<string, string>;
}

/** A compose file or env file an upgrade changes on one host, and where it stands. */
export interface ComposeFileStatus {
  host?: string;
  project: string;
  path: string;
  /** The services whose version it names. */
  services: string[];
  /**
   * pending: to be changed once its services run their target; updated: written; unchanged: it names what runs
   * (none of its services moved); skipped: left as it is (detail says why: not writable, changed by someone,
   * compose disagrees); restored: put back byte for byte by a rollback.
   */
  state: 'pending' | 'updated' | 'unchanged' | 'skipped' | 'restored';
  sha256Before: string;
  /** What it is (or will be) after the edit. */
  sha256After: string;
  /** The unified diff of the edit (changed lines only). */
  diff: string;
  detail?: string;
}

export interface InstancePlan {
  role: Role;
  container: string;
  host?: string;
  pool?: string;
  containerId: string;
  fromImage: string;
  toImage: string;
  fromVersion: string;
  toVersion: string;
  /** Gateway: base URL and hello path; pump: health URL. */
  url: string;
  helloPath: string;
  /** Made by docker compose, and the upgrade edits where its version is written (plan key compose: update). */
  compose?: InstanceCompose;
  /** Gateway: where its APIs answer, when not `url`. */
  apiUrl?: string;
}

export interface PreflightResult {
  instances: InstancePlan[];
  images: string[];
  warnings: string[];
}

export interface BackupFile {
  container: string;
  /** Path inside the container. */
  path: string;
  /** Archive on the worker's disk, as the Docker archive API returned it. */
  archive: string;
  sha256: string;
  files: number;
}

export interface BackupResult {
  host?: string;
  dir: string;
  manifest: string;
  /** sha256 of the manifest file as written. */
  manifestSha256?: string;
  entries: BackupFile[];
  redis: string;
}

export type InstanceState =
  | 'pending'
  /** Being taken out of the load balancer (waiting for its requests in flight to finish). */
  | 'draining'
  | 'recreating'
  | 'health-check'
  /** Healthy on the new version, being put back into the load balancer. */
  | 'undraining'
  /** Back in rotation; its real traffic is being watched (the plan's analysis window). */
  | 'analysing'
  | 'upgraded'
  | 'rolling-back'
  | 'rolled-back'
  | 'failed';

export interface InstanceStatus {
  role: Role;
  container: string;
  host?: string;
  /** 1-based batch number; 0 for pumps. */
  batch?: number;
  fromVersion?: string;
  toVersion: string;
  state: InstanceState;
  detail?: string;
  /** What the new gateway was seen serving: "40 APIs, 12 policies: same as before; 2 smoke requests passed". */
  serving?: string;
}

export type GateState = 'not-reached' | 'waiting' | 'approved' | 'rejected' | 'timed-out' | 'skipped';

export interface GateStatus {
  gate: GateName;
  state: GateState;
  /** Who decided; with several approvers, their names joined. */
  by?: string;
  at?: string;
  comment?: string;
  waitingSince?: string;
  /** Four-eyes: the approvals so far; the gate opens at `required`. */
  approvals?: { by: string; at: string; comment?: string; signer?: VerifiedSignature }[];
  required?: number;
  /** The verified signature of the decision that closed the gate (without four-eyes; or a reject). */
  signer?: VerifiedSignature;
}

export const STAGES = ['preflight', 'backup', 'pull', 'before-gateways', 'gateways', 'before-pump', 'pump', 'verify'] as const;
export type StageName = (typeof STAGES)[number];
export type StageState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

/** partial: it ended with some instances back on their old version, by the failure budget or a person's choice. */
export type Outcome = 'running' | 'succeeded' | 'partial' | 'rolled-back' | 'failed' | 'rejected' | 'timed-out' | 'cancelled';

export type BatchState = 'pending' | 'running' | 'done' | 'failed' | 'rolling-back' | 'rolled-back';

export interface BatchStatus {
  /** 1-based; "pumps" for the pump batch. */
  name: string;
  instances: string[];
  state: BatchState;
  /** The child workflow that runs it (its own history, its own live details in the Web UI). */
  workflowId?: string;
}

export const PAUSE_CHOICES = ['retry', 'continue', 'rollback'] as const;
export type PauseChoice = (typeof PAUSE_CHOICES)[number];

export interface PauseStatus {
  /** Counts the pauses of one run; decisions are deduplicated per pause. */
  number: number;
  /** Why it waits: too many failures (absent, as before), or outside the maintenance window. */
  kind?: 'window';
  /** A window pause: when the next window opens and the upgrade goes on by itself. */
  opensAt?: string;
  state: 'waiting' | 'decided' | 'timed-out';
  since: string;
  reason: string;
  /** Which failed instances a retry would take again. */
  failed: string[];
  choice?: PauseChoice;
  by?: string;
  at?: string;
  comment?: string;
  signer?: VerifiedSignature;
}

export interface PauseDecision {
  choice: PauseChoice;
  by?: string;
  comment?: string;
  /** A statement signed by an approver's key (required when the plan requires signatures). */
  signed?: Signed;
}

/** `cancel --rollback`: stop at the next safe point and roll back everything this run changed. */
export interface AbortRequest {
  by?: string;
  reason?: string;
  signed?: Signed;
}
export type AbortStatus = Omit<AbortRequest, 'signed'> & { at: string; rollback: true; signer?: VerifiedSignature };

/** A decision the workflow did not act on, kept because a Signal cannot be refused to its sender. */
export interface RefusedDecision {
  at: string;
  /** What was asked: "approve gate before-gateways", "resume pause 1: continue", "abort with rollback". */
  asked: string;
  /** The refusal's failure type (errors.ts) and message, as an Update would have been refused with. */
  type: string;
  message: string;
}

export interface HostBackup {
  host?: string;
  dir: string;
  manifest: string;
  /** sha256 of the manifest file, for a change ticket (absent in runs before 0.3). */
  manifestSha256?: string;
  files: number;
  redis: string;
}

export interface UpgradeStatus {
  stack: string;
  /**
   * The upgrade's identity across continue-as-new: its first run's id. Signed decisions name it, so a statement
   * cannot be replayed into another upgrade of the same stack. Absent in runs recorded before 0.4.
   */
  upgradeId?: string;
  /** Which run of the upgrade this is: 1, then one more each time it continues as new (absent: 1). */
  run?: number;
  /** The verified signature of the start (plans that require signatures). */
  startSigner?: VerifiedSignature;
  /** Signals that were not acted on (unsigned or badly signed under required signatures). */
  refused?: RefusedDecision[];
  /** Every signed statement the workflow accepted, in order (the start first), for an auditor to re-check. */
  signatures?: VerifiedSignature[];
  /** The plan requires every decision to be signed. */
  signaturesRequired?: boolean;
  outcome: Outcome;
  stage: StageName | 'done';
  stages: { name: StageName; state: StageState; startedAt?: string; endedAt?: string }[];
  instances: InstanceStatus[];
  gates: GateStatus[];
  /** Hosts of the fleet; empty for a plan without hosts. */
  hosts: string[];
  batches: BatchStatus[];
  failures: { count: number; budget: number };
  pause?: PauseStatus;
  /** A person asked to stop and roll back (cancel --rollback, or reject --rollback). */
  abort?: AbortStatus;
  /** One per host, each on that host's disk. */
  backups: HostBackup[];
  pull?: string;
  /** The plan's maintenance windows and where the run stands against them; absent when the plan has none. */
  window?: WindowStatus;
  /** Every notification the worker was asked to send, with the webhooks (names only) that got it or not. */
  notifications?: NotificationRecord[];
  /** Compose files (and `.env`) this run changes, per host; absent when no instance belongs to a compose project. */
  compose?: ComposeFileStatus[];
  errors: string[];
  reason?: string;
}

export interface WindowStatus {
  windows: string[];
  /** open: containers may be stopped; closed: waiting for the next window; overridden: a person said go anyway. */
  state: 'open' | 'closed' | 'overridden';
  /** When the window now open closes. */
  closesAt?: string;
  /** When the next window opens. */
  opensAt?: string;
  /** Who chose to go on outside the window, and when. */
  overriddenBy?: string;
  overriddenAt?: string;
}

// --- notifications: the workflow says what happened; the worker, which alone knows the webhooks, posts it ---
export const NOTIFY_EVENTS = [
  'gate.waiting',
  'gate.reminder',
  'gate.decided',
  'upgrade.paused',
  'upgrade.waiting-for-window',
  'upgrade.succeeded',
  'upgrade.partial',
  'upgrade.failed',
  'upgrade.rolled-back',
  'upgrade.rejected',
  'upgrade.timed-out',
  'upgrade.cancelled',
] as const;
export type NotifyEventName = (typeof NOTIFY_EVENTS)[number];

/** The notify activity's input: what happened, never where to send it (webhook URLs carry tokens). */
export interface NotifyRequest {
  event: NotifyEventName;
  /** Unique per event of a run (`<workflowId>/<runId>/<n>`): receivers may deduplicate on it. */
  id: string;
  at: string;
  workflowId: string;
  runId: string;
  namespace: string;
  stack: string;
  gatewayVersion: string;
  pumpVersion?: string;
  stage: string;
  outcome: Outcome;
  /** gate.*: the gate as it stands (who approved, comments, "1 of 2"). */
  gate?: GateStatus;
  /** upgrade.paused / upgrade.waiting-for-window: the pause and its choices. */
  pause?: PauseStatus;
  /** Why it ended, for the upgrade.* events that end a run. */
  reason?: string;
  /** One line a person reads first, e.g. "Gate before-gateways of prod is waiting for approval". */
  summary: string;
}

export interface NotifyResult {
  delivered: { webhook: string; attempts: number }[];
  /** `error` never holds the URL: only a status code or a connection error's code. */
  failed: { webhook: string; attempts: number; error: string }[];
  /** The worker's reminder interval for a waiting gate; absent: no reminders. */
  reminderMs?: number;
}

export interface NotificationRecord {
  event: NotifyEventName;
  at: string;
  delivered: string[];
  failed: { webhook: string; error: string }[];
}

export interface Decision {
  gate?: GateName;
  by?: string;
  comment?: string;
  /** With a reject: also roll back every instance this run changed, as a failed health check would. */
  rollback?: boolean;
  /** A statement signed by an approver's key (required when the plan requires signatures). */
  signed?: Signed;
}
