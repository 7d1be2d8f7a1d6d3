// The stages that run on every host at once, each host's part on its own worker: preflight (and the batches it
// plans), backup, pull, verify, and retiring the old containers. Deterministic workflow code.
import { ApplicationFailure, patched, workflowInfo } from '@temporalio/workflow';
import { failureBudget, planBatches } from '../../shared/batches';
import { ErrorType } from '../../shared/errors';
import { instanceKey } from '../../shared/names';
import type { BatchStatus, HostBackup, InstancePlan } from '../../shared/types';
import type { LoadBalancerInput } from '../../shared/load-balancer';
import { pendingStatus } from '../batch';
import { lbGateway } from '../load-balancer';
import { PULL, SHORT } from '../activity-options';
import { explainNoWorker, failureMessage } from '../failures';
import { byHost, firstContact, on } from '../routing';
import type { FleetRun } from './run';

/** The same step on every host at once; the first failure (with its host named) fails the stage. */
export async function onEveryHost<T>(targets: { host?: string }[], step: (host: string | undefined) => Promise<T>): Promise<[string | undefined, T][]> {
  const hosts = byHost(targets).map(([h]) => h);
  const results = await Promise.allSettled(hosts.map(step));
  const failed = results.findIndex((r) => r.status === 'rejected');
  if (failed >= 0) {
    const err = (results[failed] as PromiseRejectedResult).reason;
    const host = hosts[failed];
    if (!host) throw err;
    throw ApplicationFailure.create({ type: ErrorType.HostFailed, nonRetryable: true, message: `host ${host}: ${failureMessage(err)}` });
  }
  return hosts.map((h, i) => [h, (results[i] as PromiseFulfilledResult<T>).value]);
}

export const where = (host: string | undefined) => (host ? ` on ${host}` : '');

/**
 * Every host checks its containers, images and plugins (nothing changes yet); the run then knows its instances
 * and plans its batches. Returns the gateway batches in the order they run.
 */
export async function preflight(run: FleetRun): Promise<BatchStatus[]> {
  const { input, status } = run;
  run.enterStage('preflight');
  const targets = [...input.gateways, ...input.pumps];
  const preflights = await onEveryHost(targets, async (host) => {
    const mine = <T extends { host?: string }>(list: T[]) => list.filter((t) => t.host === host);
    try {
      return await firstContact(host, SHORT, `Preflight ${input.stack}${where(host)}`).preflight({
        ...input,
        gateways: mine(input.gateways),
        pumps: mine(input.pumps),
      });
    } catch (err) {
      throw explainNoWorker(err, host);
    }
  });
  // The plan's order, whatever order the hosts answered in.
  const found = preflights.flatMap(([, r]) => r.instances);
  run.plan = targets.map((t) => found.find((p) => p.container === t.container && p.host === t.host) as InstancePlan);
  status.instances = pendingStatus(run.plan);
  for (const [host, r] of preflights) for (const w of r.warnings) run.warn(host, w);
  status.failures.budget = failureBudget(input.maxFailures, run.plan.length);
  const gateways = run.plan.filter((p) => p.role === 'gateway');
  const batches = planBatches(
    gateways.map((p) => ({ key: instanceKey(p), pool: p.pool, host: p.host })),
    input.batchSize,
    input.maxUnavailable,
  );
  status.batches = batches.map((keys, i) => ({ name: String(i + 1), instances: keys, state: 'pending' }));
  batches.forEach((keys, i) => {
    for (const k of keys) run.statusOf(k).batch = i + 1;
  });
  const pumps = run.plan.filter((p) => p.role === 'pump');
  if (pumps.length) {
    status.batches.push({ name: 'pumps', instances: pumps.map(instanceKey), state: 'pending' });
    for (const p of pumps) run.statusOf(instanceKey(p)).batch = 0;
  }
  if (batches.length < 2 && run.gateOf('after-canary').state !== 'skipped') run.gateOf('after-canary').state = 'skipped';
  if (input.loadBalancer) await checkLoadBalancer(run, input.loadBalancer, gateways);
  run.endStage('preflight');
  return status.batches.slice(0, batches.length);
}

/** Every gateway has its server in the load balancer, asked from each gateway's host: refused before anything changes. */
async function checkLoadBalancer(run: FleetRun, lb: LoadBalancerInput, gateways: InstancePlan[]): Promise<void> {
  const checks = await onEveryHost(gateways, (host) =>
    on(host, SHORT, `Find the gateways in the load balancer${where(host)}`).lbCheck({
      lb,
      gateways: gateways.filter((p) => p.host === host).map((p) => lbGateway(p, run.input.stack)),
    }),
  );
  for (const [host, r] of checks) {
    for (const s of r.servers) {
      // MAINT or DOWN now: lbReady will put it into rotation once its gateway is upgraded.
      if (!['UP', 'no check', 'hooks'].includes(s.state)) {
        run.warn(host, `load-balancer server ${s.server} (${s.container}) is ${s.state} now; it is put back into rotation once its gateway is upgraded`);
      }
    }
  }
}

/** Runs recorded before the pull went beside the backup have no marker and replay one after the other. */
export const PULL_WITH_BACKUP_PATCH = 'pull-with-backup';

/**
 * Backup and pull at once: neither stops anything, and one waits on the host's disk, the other on the registry.
 * Both end before the first gate or batch; a failure of either fails the run, the backup's named first.
 */
export async function backupAndPull(run: FleetRun): Promise<void> {
  if (!patched(PULL_WITH_BACKUP_PATCH)) {
    await backup(run);
    await pull(run);
    return;
  }
  // The pull entered first, so the status names the backup as the stage under way.
  const [pulled, backedUp] = await Promise.allSettled([pull(run), backup(run)]);
  for (const r of [backedUp, pulled]) if (r.status === 'rejected') throw r.reason;
}

/** Every host backs up its own containers' config (and Redis) to its own disk before anything stops. */
export async function backup(run: FleetRun): Promise<void> {
  const { input, status, plan } = run;
  run.enterStage('backup');
  const backups = await onEveryHost(plan, (host) =>
    on(host, SHORT, `Back up ${plan.filter((p) => p.host === host).length} containers${where(host)}`).backupStack({
      stack: input.stack,
      ...(host ? { host } : {}),
      runId: workflowInfo().runId,
      backupDir: input.backupDir,
      instances: plan.filter((p) => p.host === host),
    }),
  );
  for (const [host, b] of backups) {
    run.manifests[host ?? ''] = b.manifest;
    const hb: HostBackup = {
      dir: b.dir,
      manifest: b.manifest,
      ...(b.manifestSha256 ? { manifestSha256: b.manifestSha256 } : {}),
      files: b.entries.reduce((n, e) => n + e.files, 0),
      redis: b.redis,
    };
    status.backups.push(host ? { host, ...hb } : hb);
  }
  run.endStage('backup');
}

/** Every target image on every host before any container stops. */
export async function pull(run: FleetRun): Promise<void> {
  const { plan } = run;
  run.enterStage('pull');
  const pulls = await onEveryHost(plan, (host) => {
    const images = [...new Set(plan.filter((p) => p.host === host).map((p) => p.toImage))];
    return on(host, PULL, `Pull ${images.join(', ')}${where(host)}`).pullImages({ images });
  });
  run.status.pull = pulls.map(([host, r]) => `${host ? `${host}: ` : ''}${r.summary}`).join('; ');
  run.endStage('pull');
}

/** The upgraded instances once more, all together, then the old containers go. */
export async function verify(run: FleetRun): Promise<void> {
  const { input, plan } = run;
  run.enterStage('verify');
  const upgraded = plan.filter((p) => run.statusOf(instanceKey(p)).state === 'upgraded');
  await onEveryHost(upgraded, (host) =>
    on(host, SHORT, `Verify ${input.stack}${where(host)}`).verifyStack({ instances: upgraded.filter((p) => p.host === host) }),
  );
  await retireOld(run, input.keepOldContainers);
  run.endStage('verify');
}

/** Old containers go once their replacements are accepted, or stay under a name with their version. */
export async function retireOld(run: FleetRun, keep: boolean): Promise<void> {
  const upgraded = run.plan.filter((p) => run.statusOf(instanceKey(p))?.state === 'upgraded');
  await Promise.all(
    byHost(upgraded).map(async ([host, list]) => {
      try {
        const r = await on(host, SHORT, `${keep ? 'Keep' : 'Remove'} old containers${where(host)}`).retireOldContainers({
          containers: list.map((p) => ({ container: p.container, fromImage: p.fromImage })),
          keep,
        });
        for (const w of r.warnings) run.warn(host, w);
      } catch (err) {
        // The upgrade itself stands: a leftover old container is worth a warning, not a rollback.
        run.status.errors.push(`warning: old containers${where(host)} not ${keep ? 'renamed' : 'removed'}: ${failureMessage(err)}`);
      }
    }),
  );
}
