// Data that crosses the workflow boundary: workflow input, activity inputs/results, the status query.
// Plain JSON only. Nothing here may carry a value read from tyk.conf or pump.conf: it lands in workflow history.

export type Role = 'gateway' | 'pump';
export const GATES = ['before-gateways', 'before-pump'] as const;
export type GateName = (typeof GATES)[number];

export interface GatewayTarget {
  /** Container name on the Docker engine. */
  container: string;
  /** Base URL where the gateway answers /hello (listen_port, or control_api_port when set). */
  url: string;
  /** health_check_endpoint_name; "hello" unless the gateway renamed it. */
  helloPath: string;
}

export interface PumpTarget {
  container: string;
  /** Full URL of the pump's health endpoint, e.g. http://127.0.0.1:8083/health. */
  healthUrl: string;
}

/** A validated, normalised plan: the workflow's input. Durations are milliseconds. */
export interface UpgradeInput {
  stack: string;
  gateways: GatewayTarget[];
  pump?: PumpTarget;
  gatewayVersion: string;
  pumpVersion?: string;
  /** Repositories to take the target images from; default: the one each container runs now. */
  gatewayRepository?: string;
  pumpRepository?: string;
  allowDowngrade: boolean;
  gates: GateName[];
  /** When set, a gate left undecided this long aborts the upgrade (it never proceeds by itself). */
  approvalTimeoutMs?: number;
  /** How long a gateway may drain on stop; longer than Tyk's own 30 s by default. */
  drainTimeoutSec: number;
  healthTimeoutMs: number;
  /** How many gateways are recreated at once; the rest keep serving. */
  batchSize: number;
  /** After each batch (and the pump) is healthy, keep watching it this long before moving on; 0 or absent: none. */
  soakMs?: number;
  /** Where backups go on the worker's machine. */
  backupDir: string;
  keepOldContainers: boolean;
}

export interface InstancePlan {
  role: Role;
  container: string;
  containerId: string;
  fromImage: string;
  toImage: string;
  fromVersion: string;
  toVersion: string;
  /** Gateway: base URL and hello path; pump: health URL. */
  url: string;
  helloPath: string;
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
  dir: string;
  manifest: string;
  entries: BackupFile[];
  redis: string;
}

export type InstanceState =
  | 'pending'
  | 'recreating'
  | 'health-check'
  | 'upgraded'
  | 'rolling-back'
  | 'rolled-back'
  | 'failed';

export interface InstanceStatus {
  role: Role;
  container: string;
  fromVersion?: string;
  toVersion: string;
  state: InstanceState;
  detail?: string;
}

export type GateState = 'not-reached' | 'waiting' | 'approved' | 'rejected' | 'timed-out' | 'skipped';

export interface GateStatus {
  gate: GateName;
  state: GateState;
  by?: string;
  at?: string;
  comment?: string;
  waitingSince?: string;
}

export const STAGES = ['preflight', 'backup', 'pull', 'before-gateways', 'gateways', 'before-pump', 'pump', 'verify'] as const;
export type StageName = (typeof STAGES)[number];
export type StageState = 'pending' | 'running' | 'done' | 'failed' | 'skipped';

export type Outcome = 'running' | 'succeeded' | 'rolled-back' | 'failed' | 'rejected' | 'timed-out' | 'cancelled';

export interface UpgradeStatus {
  stack: string;
  outcome: Outcome;
  stage: StageName | 'done';
  stages: { name: StageName; state: StageState; startedAt?: string; endedAt?: string }[];
  instances: InstanceStatus[];
  gates: GateStatus[];
  backup?: { dir: string; manifest: string; files: number; redis: string };
  pull?: string;
  errors: string[];
  reason?: string;
}

export interface Decision {
  gate?: GateName;
  by?: string;
  comment?: string;
}

export type UpgradeResult = UpgradeStatus;
