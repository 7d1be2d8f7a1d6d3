// Child workflows, one per batch: the parent's history holds a start and a result per batch, however many
// instances and hosts the batch spans, so a 50-gateway fleet keeps the parent small (design.md).
// upgradeBatch: recreate + health-check every instance of the batch in parallel (each on its own host's worker),
// roll back at once any instance that fails (it would otherwise stay out of service), then soak the healthy ones.
// rollbackBatch: put every instance of a batch back on its old container and config.
import { setCurrentDetails, setHandler } from '@temporalio/workflow';
import { instanceKey } from '../shared/names';
import type { InstancePlan, InstanceStatus } from '../shared/types';
import { batchStatusQuery } from './messages';
import { DOCKER_CHANGE, failureMessage, on, SHORT } from './routing';

export interface BatchInput {
  stack: string;
  /** "1", "2", … for gateway batches, "pumps", or "1-retry-1". */
  name: string;
  instances: InstancePlan[];
  /** Backup manifest of each host (key: host name, "" without hosts); each host restores from its own disk. */
  manifests: Record<string, string>;
  drainTimeoutSec: number;
  healthTimeoutMs: number;
  soakMs?: number;
  /** Failures the fleet can still take; past it there is no point in soaking this batch. */
  failuresAllowed: number;
}

export interface InstanceFailure {
  key: string;
  reason: string;
  /** Back on its old container and config (false: the rollback failed too; see reason). */
  rolledBack: boolean;
}

export interface BatchResult {
  upgraded: string[];
  failed: InstanceFailure[];
}

export interface RollbackBatchInput {
  stack: string;
  name: string;
  instances: InstancePlan[];
  manifests: Record<string, string>;
  healthTimeoutMs: number;
}

export interface RollbackBatchResult {
  rolledBack: string[];
  failed: InstanceFailure[];
}

const manifestOf = (manifests: Record<string, string>, p: InstancePlan) => manifests[p.host ?? ''];

function liveStatus(instances: InstancePlan[]): InstanceStatus[] {
  return instances.map((p) => ({
    role: p.role,
    container: p.container,
    ...(p.host ? { host: p.host } : {}),
    fromVersion: p.fromVersion,
    toVersion: p.toVersion,
    state: 'pending',
  }));
}

function publishTable(title: string, live: InstanceStatus[]): void {
  const rows = live.map((i) => `| ${i.host ?? ''} | ${i.container} | ${i.fromVersion ?? ''} → ${i.toVersion} | ${i.state}${i.detail ? `: ${i.detail.replace(/\|/g, '\\|').replace(/\n/g, ' ')}` : ''} |`);
  setCurrentDetails([`**${title}**`, '', '| host | container | version | state |', '|---|---|---|---|', ...rows].join('\n'));
}

export async function upgradeBatch(input: BatchInput): Promise<BatchResult> {
  const live = liveStatus(input.instances);
  const st = (p: InstancePlan) => live[input.instances.indexOf(p)];
  const publish = () => publishTable(`Batch ${input.name} of ${input.stack}`, live);
  setHandler(batchStatusQuery, () => live, { description: 'The state of each instance of this batch' });
  publish();

  async function rollBack(p: InstancePlan, reason: string): Promise<InstanceFailure> {
    st(p).state = 'rolling-back';
    publish();
    try {
      await on(p.host, DOCKER_CHANGE, `Roll back ${p.container} → ${p.fromImage}`).rollbackContainer({
        instance: p,
        backupManifest: manifestOf(input.manifests, p),
        healthTimeoutMs: input.healthTimeoutMs,
      });
      st(p).state = 'rolled-back';
      st(p).detail = reason;
      return { key: instanceKey(p), reason, rolledBack: true };
    } catch (err) {
      st(p).state = 'failed';
      st(p).detail = `${reason}; rollback failed: ${failureMessage(err)}`;
      return { key: instanceKey(p), reason: st(p).detail as string, rolledBack: false };
    } finally {
      publish();
    }
  }

  async function upgradeOne(p: InstancePlan): Promise<InstanceFailure | undefined> {
    st(p).state = 'recreating';
    publish();
    try {
      await on(p.host, DOCKER_CHANGE, `Recreate ${p.container} → ${p.toImage}`).recreateContainer({
        container: p.container,
        toImage: p.toImage,
        drainTimeoutSec: input.drainTimeoutSec,
      });
      st(p).state = 'health-check';
      publish();
      await on(p.host, SHORT, `Health check ${p.container} for ${p.toVersion}`).checkHealth({
        instance: p,
        version: p.toVersion,
        timeoutMs: input.healthTimeoutMs,
      });
    } catch (err) {
      st(p).state = 'failed';
      st(p).detail = failureMessage(err);
      publish();
      return rollBack(p, st(p).detail as string);
    }
    st(p).state = 'upgraded';
    publish();
    return undefined;
  }

  /** Watch each healthy instance for soakMs (Nomad's min_healthy_time); one that falters is rolled back. */
  async function soakOne(p: InstancePlan): Promise<InstanceFailure | undefined> {
    try {
      await on(p.host, { ...SHORT, startToCloseTimeout: (input.soakMs as number) + 120_000 }, `Soak ${p.container} for ${(input.soakMs as number) / 1000} s`).soakHealth({
        instances: [p],
        durationMs: input.soakMs as number,
      });
      return undefined;
    } catch (err) {
      st(p).state = 'failed';
      st(p).detail = failureMessage(err);
      publish();
      return rollBack(p, st(p).detail as string);
    }
  }

  // Every instance of the batch finishes (healthy, or rolled back) before the batch reports: never half a batch.
  const failed = (await Promise.all(input.instances.map(upgradeOne))).filter((f): f is InstanceFailure => !!f);
  if (input.soakMs && failed.length <= input.failuresAllowed) {
    const healthy = input.instances.filter((p) => st(p).state === 'upgraded');
    failed.push(...(await Promise.all(healthy.map(soakOne))).filter((f): f is InstanceFailure => !!f));
  }
  const upgraded = input.instances.filter((p) => st(p).state === 'upgraded').map(instanceKey);
  return { upgraded, failed };
}

export async function rollbackBatch(input: RollbackBatchInput): Promise<RollbackBatchResult> {
  const live: InstanceStatus[] = liveStatus(input.instances).map((i) => ({ ...i, state: 'rolling-back' }));
  const publish = () => publishTable(`Rollback of batch ${input.name} of ${input.stack}`, live);
  setHandler(batchStatusQuery, () => live, { description: 'The state of each instance of this rollback' });
  publish();
  const results = await Promise.all(
    input.instances.map(async (p, i) => {
      try {
        await on(p.host, DOCKER_CHANGE, `Roll back ${p.container} → ${p.fromImage}`).rollbackContainer({
          instance: p,
          backupManifest: manifestOf(input.manifests, p),
          healthTimeoutMs: input.healthTimeoutMs,
        });
        live[i].state = 'rolled-back';
        return undefined;
      } catch (err) {
        live[i].state = 'failed';
        live[i].detail = `rollback failed: ${failureMessage(err)}`;
        return { key: instanceKey(p), reason: live[i].detail as string, rolledBack: false };
      } finally {
        publish();
      }
    }),
  );
  return {
    rolledBack: input.instances.filter((_, i) => live[i].state === 'rolled-back').map(instanceKey),
    failed: results.filter((f): f is InstanceFailure => !!f),
  };
}
