// The one state of an upgrade run, and how it is shown: every piece of the fleet workflow (gates, pauses,
// windows, batches, finishing) reads and changes this, as argo-rollouts' files do around one rollout.
// Deterministic workflow code.
import { ApplicationFailure, setCurrentDetails, upsertSearchAttributes, workflowInfo } from '@temporalio/workflow';
import { ErrorType } from '../../shared/errors';
import { instanceKey, SA_STAGE } from '../../shared/names';
import {
  GATES,
  STAGES,
  type BatchStatus,
  type FleetCarry,
  type GateName,
  type GateStatus,
  type InstancePlan,
  type InstanceStatus,
  type PreparedReplacement,
  type StageName,
  type UpgradeInput,
  type UpgradeStatus,
} from '../../shared/types';
import { renderDetails } from '../details';
import { createNotifier, type Notifier } from '../notifications';
import { parseWindow, windowStatusNow, type WindowSpec } from '../../shared/window';

/** What this run changed, in the order its batches ran: rolled back newest first. */
export interface ChangedBatch {
  batch: string;
  keys: string[];
}

export class FleetRun {
  readonly status: UpgradeStatus;
  /** Each instance as preflight found it, in the plan's order. */
  plan: InstancePlan[];
  /** Backup manifest of each host (key: host name, "" without hosts); each host restores from its own disk. */
  readonly manifests: Record<string, string>;
  readonly changed: ChangedBatch[];
  /** Failed instances (rolled back on their own) a person chose to go on without. */
  accepted: number;
  /** Pauses so far: each has a number, and decisions are deduplicated per pause. */
  pauses: number;
  /** The reject that stopped the run also asked for everything to be rolled back. */
  rejectedWithRollback: boolean;
  /** The gateway batch this run starts with: 0, or where the run before it stopped (continue-as-new). */
  readonly firstBatch: number;
  /** Replacements made ahead that no recreate has taken yet (instance key →): fleet/ahead.ts. */
  readonly prepared: Record<string, PreparedReplacement>;
  readonly windows: WindowSpec[];
  readonly notifier: Notifier;

  constructor(readonly input: UpgradeInput) {
    this.windows = parseWindows(input.window);
    const carried = input.continued;
    this.status = carried ? { ...carried.status, run: (carried.status.run ?? 1) + 1 } : initialStatus(input, this.windows);
    this.plan = carried?.plan ?? [];
    this.manifests = carried?.manifests ?? {};
    this.changed = carried?.changed ?? [];
    this.accepted = carried?.accepted ?? 0;
    this.pauses = carried?.pauses ?? 0;
    this.rejectedWithRollback = carried?.rejectedWithRollback ?? false;
    this.firstBatch = carried?.nextBatch ?? 0;
    this.prepared = { ...carried?.prepared };
    // The worker knows the webhooks; the workflow only says what happened. Its patch marker is the run's first command.
    this.notifier = createNotifier(input, this.status, () => this.publish());
  }

  /** The whole state, for the next run when this one continues as new before gateway batch `nextBatch`. */
  carry(nextBatch: number): FleetCarry {
    const { status, plan, manifests, changed, accepted, pauses, rejectedWithRollback, prepared } = this;
    return { status, plan, manifests, changed, accepted, pauses, rejectedWithRollback, nextBatch, ...(Object.keys(prepared).length ? { prepared } : {}) };
  }

  /** The gateway batches as preflight planned them ("1", "2", …), in the order they run. */
  gatewayBatches(): BatchStatus[] {
    return this.status.batches.filter((b) => /^\d+$/.test(b.name));
  }

  get workflowId(): string {
    return workflowInfo().workflowId;
  }

  /** The Web UI's current details: the status as a Markdown table. */
  publish(): void {
    setCurrentDetails(renderDetails(this.status, workflowInfo().namespace));
  }

  setStage(value: string): void {
    upsertSearchAttributes([{ key: SA_STAGE, value }]);
  }

  enterStage(name: StageName): void {
    const s = this.stageOf(name);
    if (!s) return;
    s.state = 'running';
    s.startedAt = now();
    this.status.stage = name;
    this.setStage(name);
    this.publish();
  }

  endStage(name: StageName, state: 'done' | 'failed' | 'skipped' = 'done'): void {
    const s = this.stageOf(name);
    if (!s) return;
    s.state = state;
    s.endedAt = now();
    this.publish();
  }

  gateOf(name: GateName): GateStatus {
    return this.status.gates.find((g) => g.gate === name) as GateStatus;
  }

  planOf(key: string): InstancePlan {
    return this.plan.find((p) => instanceKey(p) === key) as InstancePlan;
  }

  statusOf(key: string): InstanceStatus {
    return this.status.instances.find((i) => instanceKey(i) === key) as InstanceStatus;
  }

  /** Instances back on their old version (rolled back) or stuck between (their rollback failed too). */
  failedKeys(): string[] {
    return this.status.instances.filter((i) => i.state === 'rolled-back' || i.state === 'failed').map(instanceKey);
  }

  /** Every instance is where it started: never touched, or rolled back. */
  allBack(): boolean {
    return this.status.instances.every((i) => i.state === 'pending' || i.state === 'rolled-back');
  }

  warn(host: string | undefined, text: string): void {
    this.status.errors.push(`warning: ${host ? `${host}: ` : ''}${text}`);
  }

  private stageOf(name: StageName) {
    return this.status.stages.find((s) => s.name === name);
  }
}

/** The workflow's clock (deterministic), as the status records times. */
export function now(): string {
  return new Date().toISOString();
}

/** The plan was checked by the CLI; a window that does not parse here would be a bug, so it is not skipped silently. */
function parseWindows(windows: string[] | undefined): WindowSpec[] {
  return (windows ?? []).map((w) => {
    const r = parseWindow(w);
    if (!r.ok) throw ApplicationFailure.nonRetryable(`invalid maintenance window: ${r.message}`, ErrorType.InvalidPlan);
    return r.spec;
  });
}

/** The status of a run that has not begun: every stage pending, the plan's gates not reached. */
function initialStatus(input: UpgradeInput, windows: WindowSpec[]): UpgradeStatus {
  return {
    stack: input.stack,
    upgradeId: workflowInfo().firstExecutionRunId,
    outcome: 'running',
    stage: 'preflight',
    stages: STAGES.map((name) => ({ name, state: 'pending' })),
    instances: [],
    gates: GATES.map((gate) => ({ gate, state: input.gates.includes(gate) ? 'not-reached' : 'skipped' })),
    hosts: [...new Set([...input.gateways, ...input.pumps].map((t) => t.host).filter((h): h is string => !!h))].sort(),
    batches: [],
    failures: { count: 0, budget: 0 },
    backups: [],
    errors: [],
    ...(input.window ? { window: windowStatusNow(windows, input.window, new Date()) } : {}),
    ...(input.requireSignatures ? { signaturesRequired: true } : {}),
  };
}
