// A plan file on disk → the workflow's UpgradeInput: read, parse, check, apply defaults and command-line overrides.
import { readFile, stat } from 'node:fs/promises';
import { DEFAULT_SIGNATURE_MAX_AGE_MS } from '../shared/signed-decisions';
import { parsePublicKey } from '../shared/sshsig';
import { DEFAULT_GATES, type UpgradeInput } from '../shared/types';
import { toLoadBalancerInput } from './load-balancer';
import { parsePlanText } from './parse';
import { toServingInput } from './serving';
import { PlanError } from './problems';
import type { PlanFile } from './schema';

export const DEFAULTS = {
  gates: DEFAULT_GATES,
  drainTimeoutMs: 40_000,
  healthTimeoutMs: 120_000,
  batchSize: 1,
  // Like Swarm's update-monitor default: watch each healthy batch a little before the next one goes.
  soakMs: 5_000,
  helloPath: 'hello',
};

const MAX_PLAN_BYTES = 1024 * 1024;

/** What the command line may change in a plan; versions arrive already checked and as tags. */
export interface PlanOverrides {
  gatewayVersion?: string;
  pumpVersion?: string;
  allowDowngrade?: boolean;
}

export interface LoadedPlan {
  file: string;
  plan: PlanFile;
  input: UpgradeInput;
}

export async function loadPlan(file: string, overrides: PlanOverrides = {}): Promise<LoadedPlan> {
  const plan = parsePlanText(await readPlanFile(file), file);
  return { file, plan, input: toUpgradeInput(plan, overrides) };
}

export async function readPlanFile(file: string): Promise<string> {
  const problem = (why: string) => new PlanError(file, [{ message: `cannot read the plan file: ${why}` }]);
  try {
    const s = await stat(file);
    if (s.isDirectory()) throw problem('it is a folder; give the path of the plan file inside it');
    if (s.size > MAX_PLAN_BYTES) throw problem(`it is larger than ${MAX_PLAN_BYTES / 1024} KiB, which no plan is; is it the right file?`);
    return await readFile(file, 'utf8');
  } catch (err) {
    if (err instanceof PlanError) throw err;
    throw problem(readProblem(err as NodeJS.ErrnoException));
  }
}

function readProblem(err: NodeJS.ErrnoException): string {
  if (err.code === 'ENOENT') return 'it does not exist (write one with `tyk-upgrade init`, or check the path given to -f)';
  if (err.code === 'EACCES' || err.code === 'EPERM') return 'permission denied; make it readable for this user';
  return err.message;
}

export function toUpgradeInput(plan: PlanFile, o: PlanOverrides = {}): UpgradeInput {
  const input: UpgradeInput = {
    stack: plan.stack,
    gateways: plan.gateway.instances.map((g) => ({
      container: g.container.replace(/^\//, ''),
      url: g.url.replace(/\/+$/, ''),
      helloPath: (g.helloPath ?? DEFAULTS.helloPath).replace(/^\//, ''),
      ...(g.host ? { host: g.host } : {}),
      ...(g.pool ? { pool: g.pool } : {}),
      ...(g.apiUrl ? { apiUrl: g.apiUrl.replace(/\/+$/, '') } : {}),
    })),
    pumps: [],
    gatewayVersion: o.gatewayVersion ?? plan.gateway.version,
    allowDowngrade: o.allowDowngrade ?? plan.allowDowngrade ?? false,
    gates: plan.gates ?? DEFAULTS.gates,
    drainTimeoutSec: Math.ceil((plan.drainTimeout ?? DEFAULTS.drainTimeoutMs) / 1000),
    healthTimeoutMs: plan.healthTimeout ?? DEFAULTS.healthTimeoutMs,
    batchSize: plan.batchSize ?? DEFAULTS.batchSize,
    soakMs: plan.soak ?? DEFAULTS.soakMs,
    keepOldContainers: plan.keepOldContainers ?? false,
  };
  // Each host's worker resolves it against its own folder (src/activities/backup-folder.ts).
  if (plan.backupSubfolder) input.backupDir = plan.backupSubfolder;
  if (plan.gateway.repository) input.gatewayRepository = plan.gateway.repository;
  if (plan.approvals !== undefined) input.approvals = plan.approvals;
  if (plan.approverMustDifferFromStarter) input.approverMustDifferFromStarter = true;
  if (plan.approvers) {
    // The key without its comment: what is signed with, shown and compared is the key itself.
    input.approvers = plan.approvers.map((a) => ({ name: a.name, key: parsePublicKey(a.key).line }));
    if (plan.requireSignatures) input.requireSignatures = true;
    input.signatureMaxAgeMs = plan.signatureMaxAge ?? DEFAULT_SIGNATURE_MAX_AGE_MS;
  }
  if (plan.maxUnavailable !== undefined) input.maxUnavailable = plan.maxUnavailable;
  if (plan.maxFailures !== undefined) input.maxFailures = plan.maxFailures;
  if (plan.onFailure) input.onFailure = plan.onFailure;
  if (plan.pauseTimeout !== undefined) input.pauseTimeoutMs = plan.pauseTimeout;
  if (plan.pump) {
    const listed = plan.pump.instances ?? [{ container: plan.pump.container as string, healthUrl: plan.pump.healthUrl as string, host: plan.pump.host }];
    input.pumps = listed.map((p) => ({ container: p.container.replace(/^\//, ''), healthUrl: p.healthUrl, ...(p.host ? { host: p.host } : {}) }));
    input.pumpVersion = o.pumpVersion ?? plan.pump.version;
    if (plan.pump.repository) input.pumpRepository = plan.pump.repository;
  }
  if (plan.approvalTimeout !== undefined) input.approvalTimeoutMs = plan.approvalTimeout;
  const lb = toLoadBalancerInput(plan.loadBalancer);
  if (lb) input.loadBalancer = lb;
  if (plan.maxHistoryEvents !== undefined) input.maxHistoryEvents = plan.maxHistoryEvents;
  if (plan.compose) input.compose = plan.compose;
  Object.assign(input, toServingInput(plan));
  if (plan.window) input.window = (Array.isArray(plan.window) ? plan.window : [plan.window]).map((w) => w.trim().replace(/\s+/g, ' '));
  return input;
}
