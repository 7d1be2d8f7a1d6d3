// An in-process upgrade worker on its own task queue, with one workflow bundle per test process.
import { randomBytes } from 'node:crypto';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import type { Worker, WorkflowBundleWithSourceMap } from '@temporalio/worker';
import { bundleWorkflows, createUpgradeWorker } from '../../src/worker';
import { docker } from './services';

let bundle: Promise<WorkflowBundleWithSourceMap> | undefined;

export interface RunningWorker {
  taskQueue: string;
  worker: Worker;
  stop(): Promise<void>;
}

export async function startWorker(env: TestWorkflowEnvironment): Promise<RunningWorker> {
  bundle ??= bundleWorkflows();
  const taskQueue = `test-${randomBytes(4).toString('hex')}`;
  const worker = await createUpgradeWorker({
    connection: env.nativeConnection,
    namespace: 'default',
    taskQueue,
    docker,
    workflowBundle: await bundle,
  });
  const running = worker.run();
  return {
    taskQueue,
    worker,
    stop: async () => {
      worker.shutdown();
      await running;
    },
  };
}
