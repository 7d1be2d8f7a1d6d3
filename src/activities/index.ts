// The activities, built by a factory so the worker and the tests hand in real dependencies.
import { join } from 'node:path';
import { Context } from '@temporalio/activity';
import type Docker from 'dockerode';
import type { InstancePlan, UpgradeInput } from '../shared/types';
import { ApplicationFailure } from '@temporalio/common';
import { ErrorType } from '../shared/errors';
import { backupStack, safe, type BackupInput } from './backup';
import { backupFolderFor, backupFolderProblem, defaultBackupDir } from './backup-folder';
import { discoverTyk, type FoundContainer } from './discover';
import { inspectContainer } from './docker-util';
import { dryRun, type DryRunReport } from './dry-run';
import { checkHealth, soakHealth, type HealthInput, type SoakInput } from './health';
import { pullImage, type PullProgress } from './images';
import type { LbGateway, LoadBalancerInput } from '../shared/load-balancer';
import { createLoadBalancerActivities } from './load-balancer';
import { createNotifyActivity } from './notify';
import { preflightStack } from './preflight';
import { discardReplacements, prepareReplacements } from './prepare';
import { recreateContainer, type Checkpoint, type RecreateInput, type ReplacementTarget } from './recreate';
import { retireOldContainers } from './retire';
import { rollbackContainer, type RollbackInput } from './rollback';
import { readConf, redactor, secretValues } from './tyk-config';
import { verifyStack } from './verify';
import { prepareCompose, restoreComposeFiles, updateComposeFiles, type SettleInput } from './compose/steps';
import { checkServing, readInventory, type ServingInput } from './serving';
import type { GatewayInventory } from '../shared/serving';
import type { NotifyConfig } from '../notify/config';

export interface ActivityDeps {
  docker: Docker;
  /** Where the engine is (DOCKER_HOST or the local socket), for messages. */
  dockerAddress?: string;
  /**
   * How long a step that changes containers waits for an engine that does not answer (a dockerd restart takes
   * seconds) before it fails for good; the instance then fails and the plan's onFailure decides. Default 60 s.
   */
  engineWaitMs?: number;
  /** Called at named points inside the activities; tests use it to crash a worker at an exact point. */
  checkpoint?: Checkpoint;
  /** Headers for load-balancer hook calls, from the worker's environment (readHookHeaders); never in history. */
  hookHeaders?: Record<string, string>;
  /** Webhooks for notifications, from the worker's config (src/notify/config.ts); never in history. Absent: none. */
  notify?: NotifyConfig;
  /** This worker's backup folder on its host (`worker --backup-dir`); default: defaultBackupDir(). */
  backupDir?: string;
  /** Where smoke requests' header values come from (the plan names the variables); default: the worker's own. */
  env?: NodeJS.ProcessEnv;
}

/** Heartbeats while a long step runs, so a dead worker is noticed by its heartbeat timeout. */
async function heartbeating<T>(fn: () => Promise<T>, details?: () => unknown): Promise<T> {
  const ctx = Context.current();
  const beat = () => ctx.heartbeat(details?.());
  beat();
  const timer = setInterval(beat, 2000);
  try {
    return await fn();
  } finally {
    clearInterval(timer);
  }
}

/**
 * The heartbeat of a loop that polls every few ms (a health check asks every 25 ms): passed on at most once a second,
 * well inside the 10 s heartbeat timeout. Each call costs the SDK an encode and a trip through its pipeline.
 */
function pacedHeartbeat(): () => void {
  const ctx = Context.current();
  let last = Number.NEGATIVE_INFINITY;
  return () => {
    const t = Date.now();
    if (t - last < 1000) return;
    last = t;
    ctx.heartbeat();
  };
}

export function createActivities(deps: ActivityDeps) {
  const { docker } = deps;
  const checkpoint: Checkpoint = deps.checkpoint ?? (() => undefined);
  const lb = createLoadBalancerActivities({ hookHeaders: deps.hookHeaders });
  const backupDir = deps.backupDir ?? defaultBackupDir();
  const hostOf = (input: UpgradeInput) => [...input.gateways, ...input.pumps].find((t) => t.host)?.host;
  /** Where this run's backups go on this host: `<folder>/<stack>/<run id>[/<host>]`, as the dry run and `plan` show it. */
  const runFolder = (input: UpgradeInput) => {
    const host = hostOf(input);
    return `${join(backupFolderFor(backupDir, input.backupDir).dir, safe(input.stack))}/<run id>${host ? `/${safe(host)}` : ''}`;
  };
  const env = deps.env ?? process.env;

  /** The secrets of a container's config and environment, for redacting everything said about it. */
  async function secretsOf(p: InstancePlan): Promise<string[]> {
    const info = (await inspectContainer(docker, p.container)) ?? (await inspectContainer(docker, p.containerId));
    if (!info) return [];
    const conf = await readConf(docker, info, p.role).catch(() => undefined);
    return secretValues(conf, info.Config.Env ?? []);
  }
  const redactFor = async (p: InstancePlan) => redactor(await secretsOf(p));

  /**
   * A clear, non-retryable failure instead of a socket error when this host's engine is not there, after waiting
   * up to waitMs for it to come back (heartbeating, so the wait itself is not mistaken for a dead worker).
   */
  async function engineAnswers(waitMs = 0): Promise<void> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      try {
        await docker.ping();
        return;
      } catch (err) {
        if (Date.now() >= deadline) {
          throw ApplicationFailure.create({
            type: ErrorType.DockerUnreachable,
            nonRetryable: true,
            message: `the worker cannot reach its Docker engine at ${deps.dockerAddress ?? 'the local socket'}${waitMs ? ` (waited ${Math.round(waitMs / 1000)} s)` : ''}: ${(err as Error).message}; start dockerd there, or set DOCKER_HOST for the worker`,
          });
        }
        Context.current().heartbeat();
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }
  const engineWait = deps.engineWaitMs ?? 60_000;

  return {
    ...lb,
    ...createNotifyActivity(deps.notify),

    /** lbDrain, then a checkpoint: a worker that dies here leaves the gateway drained and still on its old version. */
    async lbDrain(input: { lb: LoadBalancerInput; gateway: LbGateway }) {
      const drained = await lb.lbDrain(input);
      await checkpoint('lb:drained');
      return drained;
    },

    /** Refuses, before anything stops, a host whose backup folder is missing or cannot be written. */
    async preflight(input: UpgradeInput) {
      await engineAnswers();
      const folder = backupFolderFor(backupDir, input.backupDir);
      // A 0.3 run's own path is made, as 0.3's backup made it; the worker's folder is made at its start only.
      const problem = await backupFolderProblem(folder.base, hostOf(input), { create: folder.asGiven });
      if (problem) throw ApplicationFailure.create({ type: ErrorType.BackupFolderUnusable, nonRetryable: true, message: problem });
      return heartbeating(() => preflightStack(docker, input, env));
    },

    /** `backupDir` as the workflow passes it from the plan (a subfolder, or a 0.3 absolute path): resolved here, on the host. */
    async backupStack(input: Omit<BackupInput, 'backupDir'> & { backupDir?: string }) {
      const resolved = { ...input, backupDir: backupFolderFor(backupDir, input.backupDir).dir };
      return heartbeating(() => backupStack(docker, resolved, pacedHeartbeat()));
    },

    async pullImages(input: { images: string[] }): Promise<{ summary: string }> {
      const ctx = Context.current();
      let progress: PullProgress | undefined;
      const done: string[] = [];
      await heartbeating(
        async () => {
          for (const image of input.images) {
            await pullImage(docker, image, (p) => (progress = p), ctx.cancellationSignal);
            done.push(image);
            await checkpoint('pull:pulled');
          }
        },
        () => ({ done, progress }),
      );
      return { summary: `pulled ${done.join(', ')}` };
    },

    async recreateContainer(input: RecreateInput) {
      await engineAnswers(engineWait);
      return heartbeating(() => recreateContainer(docker, input, checkpoint));
    },

    /** The next batch's replacements on this host, made during this batch's soak (best effort: none is an error). */
    async prepareReplacements(input: { targets: ReplacementTarget[] }) {
      return heartbeating(() => prepareReplacements(docker, input.targets));
    },

    /** When the run ends: the replacements made ahead that no recreate took. */
    async discardReplacements(input: { containers: string[] }) {
      return heartbeating(() => discardReplacements(docker, input.containers));
    },

    async checkHealth(input: HealthInput) {
      const redact = await redactFor(input.instance);
      const ctx = Context.current();
      await checkpoint('health:start');
      return checkHealth(docker, input, redact, pacedHeartbeat(), ctx.cancellationSignal);
    },

    async soakHealth(input: SoakInput) {
      const redact = redactor((await Promise.all(input.instances.map(secretsOf))).flat());
      const ctx = Context.current();
      // Smoke requests may hold a probe round longer than the heartbeat timeout: beat on a timer as well.
      const soak = () => soakHealth(docker, input, redact, pacedHeartbeat(), ctx.cancellationSignal, env);
      return input.smoke?.length ? heartbeating(soak) : soak();
    },

    /** What the old gateway has loaded, read through its Gateway API before its stop (ids and paths, no secret). */
    async readInventory(input: { instance: InstancePlan }): Promise<GatewayInventory> {
      // The first step of a gateway's turn: an engine that is not there is said so, as recreate would.
      await engineAnswers(engineWait);
      return heartbeating(() => readInventory(docker, input.instance));
    },

    /** After the health check: the same APIs and policies, and every smoke request answered as the plan expects. */
    async checkServing(input: ServingInput): Promise<{ summary: string }> {
      const redact = await redactFor(input.instance);
      return heartbeating(() => checkServing(docker, input, env, redact));
    },

    async rollbackContainer(input: RollbackInput) {
      await engineAnswers(engineWait);
      const redact = await redactFor(input.instance);
      return heartbeating(() => rollbackContainer(docker, input, redact, pacedHeartbeat()));
    },

    async retireOldContainers(input: { containers: { container: string; fromImage: string }[]; keep: boolean }) {
      return retireOldContainers(docker, input);
    },

    /** The Tyk containers on this host, for `init`: the CLI needs no Docker access of its own. */
    async discoverTyk(input: { labels: string[] }): Promise<FoundContainer[]> {
      await engineAnswers();
      return discoverTyk(docker, input.labels);
    },

    /** This host's part of `plan`: looks only, changes nothing. */
    async dryRun(input: UpgradeInput): Promise<DryRunReport> {
      await engineAnswers();
      const report = await heartbeating(() => dryRun(docker, input, lb.lbCheck, env));
      const problem = await backupFolderProblem(backupFolderFor(backupDir, input.backupDir).base, hostOf(input));
      return { ...report, backupDir: runFolder(input), problems: [...(problem ? [problem] : []), ...report.problems] };
    },

    async verifyStack(input: { instances: InstancePlan[] }) {
      return verifyStack(docker, input);
    },

    /** After the pull: the labels compose expects on each edited service's replacement, and the files to change. */
    async prepareCompose(input: { instances: InstancePlan[]; manifest?: string }) {
      return heartbeating(() => prepareCompose(docker, input));
    },

    /** The compose files of this host name what runs (once their services are done). */
    async updateComposeFiles(input: SettleInput) {
      return heartbeating(() => updateComposeFiles(input));
    },

    /** A rollback: the compose files this run changed, back byte for byte. */
    async restoreComposeFiles(input: { manifest?: string; files: { path: string; sha256Before: string; sha256After: string }[] }) {
      return heartbeating(() => restoreComposeFiles(input));
    },
  };
}

export type Activities = ReturnType<typeof createActivities>;
