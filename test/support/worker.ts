// An in-process upgrade worker on its own task queue, with the workflow bundle the build wrote (the one every
// worker loads).
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker } from '@temporalio/worker';
import { createUpgradeWorker } from '../../src/worker';
import { workflowCode } from '../../src/workflow-bundle';
import { after, before } from 'node:test';
import { connectTestEnv, docker, tempDir } from './services';

export interface RunningWorker {
  taskQueue: string;
  /** Its backup folder (a worker's own, as `--backup-dir`). */
  backupDir: string;
  worker: Worker;
  stop(): Promise<void>;
}

/** `hookHeaders`: what `tyk-upgrade worker` reads from TYK_UPGRADE_HOOK_HEADERS; `backupDir`: its --backup-dir (default: a folder of its own). */
export async function startWorker(
  env: TestWorkflowEnvironment,
  opts: { hookHeaders?: Record<string, string>; backupDir?: string } = {},
): Promise<RunningWorker> {
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const backupDir = opts.backupDir ?? tempDir(`${taskQueue}-backups`);
  const worker = await createUpgradeWorker({
    backupDir,
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    docker,
    workflows: workflowCode((l) => console.error(`test worker: ${l}`)),
    hookHeaders: opts.hookHeaders,
  });
  const running = worker.run();
  return {
    taskQueue,
    backupDir,
    worker,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}

/** The dev-server connection and an in-process worker for one test file, set up before and torn down after. */
export function useUpgradeWorker(): { env: TestWorkflowEnvironment; worker: RunningWorker } {
  const ctx = {} as { env: TestWorkflowEnvironment; worker: RunningWorker };
  before(async () => {
    ctx.env = await connectTestEnv();
    ctx.worker = await startWorker(ctx.env);
  });
  after(async () => {
    await ctx.worker?.stop();
    await ctx.env?.teardown();
  });
  return ctx;
}
