// `tyk-upgrade demo` (npm run demo): the product end to end on this machine, through the same code as the
// commands. A dev server with the Web UI and an in-process worker, a sandbox at v5.2.0 with pump v1.9.0, a plan
// written by `init` and checked by `plan`, then `start --watch` to v5.3.0 / v1.10.0. At a terminal the two
// approvals are asked; elsewhere (CI, `</dev/null`) the demo approves them itself and says so.
import { resolve } from 'node:path';
import { NativeConnection, type Worker } from '@temporalio/worker';
import { WorkflowNotFoundError } from '@temporalio/common';
import { getHello } from '../../activities/tyk-http';
import { answers, startDevServer, type DevServer } from '../../devserver/dev-server';
import { sandboxDown } from '../../sandbox/sandbox';
import { SANDBOX_LABEL } from '../../shared/names';
import { stackContainers } from '../../sandbox/stack';
import { workflowIdFor } from '../../shared/names';
import { createUpgradeWorker } from '../../worker';
import { connectDocker } from '../docker';
import { workerHookHeaders } from '../hook-headers';
import { announceNotify, workerNotifyConfig } from '../notify-config';
import { interactive, note, print } from '../output';
import { withTemporal } from '../temporal';
import { initCommand } from './init';
import { planCommand } from './plan';
import { quietRuntime } from './runtime';
import { sandboxDir, startSandbox } from './sandbox';
import { startCommand } from './start';

const ADDRESS = '127.0.0.1:7233';
const UI_URL = 'http://127.0.0.1:8233';
const STACK = 'tyk-demo';
const TASK_QUEUE = 'tyk-upgrade-demo';
const STEPS = 6;

export async function demoCommand(f: { keep?: boolean; notify?: string }): Promise<void> {
  const started = Date.now();
  const ask = interactive();
  const hookHeaders = workerHookHeaders();
  const notifyConfig = workerNotifyConfig(f.notify);
  const notify = notifyConfig && { ...notifyConfig, webUi: notifyConfig.webUi ?? UI_URL };
  const temporal = { address: ADDRESS, namespace: 'default', uiUrl: UI_URL };
  const docker = await connectDocker();
  // The in-process worker logs to a file: a rejected or rolled-back upgrade is the demo's outcome, not a crash.
  const workerLog = resolve('.tyk-upgrade/demo-worker.log');
  quietRuntime('WARN', { logFile: workerLog });
  // Undone in this order: the worker finishes its step first, so nothing is pulled from under it.
  const undo: Partial<Record<'worker' | 'sandbox' | 'connection' | 'server', () => Promise<unknown>>> = {};
  const cleanUp = async () => {
    for (const key of ['worker', 'sandbox', 'connection', 'server'] as const) {
      const step = undo[key];
      delete undo[key];
      await step?.().catch((err: Error) => note(`demo: clean-up of the ${key}: ${err.message}`));
    }
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      note(`\ndemo: ${signal}; cleaning up`);
      void cleanUp().then(() => process.exit(130));
    });
  }

  try {
    step(1, 'Temporal dev server with the Web UI');
    let server: DevServer | undefined;
    if (await answers(ADDRESS, 1000)) {
      print(`A Temporal server already answers on ${ADDRESS} (\`tyk-upgrade dev\`?); the demo uses it.`);
    } else {
      const dbFile = resolve('.tyk-upgrade/temporal.db');
      server = await startDevServer({ port: 7233, uiPort: 8233, dbFile, logFile: resolve('.tyk-upgrade/temporal.log'), log: (l) => note(`demo: ${l}`) });
      undo.server = (server as DevServer).stop;
      print(`Temporal on ${server.address}, Web UI ${server.uiUrl}, history kept in ${dbFile}`);
    }

    step(2, `worker on task queue "${TASK_QUEUE}" (in this process)`);
    const connection = await NativeConnection.connect({ address: ADDRESS });
    undo.connection = () => connection.close();
    const worker: Worker = await createUpgradeWorker({ connection, namespace: 'default', taskQueue: TASK_QUEUE, docker, hookHeaders, notify });
    const running = worker.run().catch((err: Error) => note(`demo: the worker stopped: ${err.message}`));
    undo.worker = async () => {
      if (worker.getState() === 'RUNNING') worker.shutdown(); // a signal may have begun the shutdown already
      await running;
    };
    print(`Worker polling (its log: ${workerLog}).`);
    announceNotify(notify);

    step(3, 'sandbox: Redis, Tyk Gateway v5.2.0, Tyk Pump v1.9.0');
    await clearEarlierDemo(temporal, docker);
    const sb = await startSandbox(
      {
        name: STACK,
        gatewayVersion: 'v5.2.0',
        pumpVersion: 'v1.9.0',
        pump: true,
        gateways: 1,
        port: 18180,
        pumpPort: 18183,
        redisPort: 16479,
        images: 'auto',
        registry: '127.0.0.1:5000',
      },
      (l) => print(`  ${l}`),
    );
    if (!f.keep) undo.sandbox = () => sandboxDown(docker, STACK, sb.dir);
    const gw = sb.gateways[0];
    print(
      `Gateway ${gw.container} answers ${(await getHello(gw.url, 'hello')).body?.version} at ${gw.url}/hello; pump ${sb.pump?.container} at ${sb.pump?.healthUrl}`,
    );

    step(4, 'tyk-upgrade init, then tyk-upgrade plan (a dry run)');
    const planFile = `.tyk-upgrade/${STACK}-plan.yaml`;
    await initCommand(
      {
        label: [`${SANDBOX_LABEL}=${STACK}`],
        host: [],
        taskQueue: TASK_QUEUE,
        gatewayVersion: 'v5.3.0',
        pumpVersion: 'v1.10.0',
        output: planFile,
        force: true,
        backupDir: 'backups',
      },
      temporal,
    );
    print('');
    await planCommand({ file: planFile, taskQueue: TASK_QUEUE }, temporal);

    step(5, 'tyk-upgrade start --watch');
    if (!ask) print('stdin is not a terminal, so the demo approves each gate itself (as "demo"); at a terminal it asks you.');
    const run = await startCommand({ file: planFile, taskQueue: TASK_QUEUE, watch: true, autoApprove: !ask, by: ask ? undefined : 'demo' }, temporal);

    step(6, 'result');
    const hello = await getHello(gw.url, 'hello');
    print(`GET ${gw.url}/hello → ${JSON.stringify(hello.body)}`);
    print(`The whole run in the Web UI: ${UI_URL}/namespaces/default/workflows/${run.workflowId}/${run.runId}/history`);
    print(`Its record for a change ticket (while the dev server runs): tyk-upgrade report ${run.workflowId} --out ${run.workflowId}.md`);
    print(`Demo done in ${Math.round((Date.now() - started) / 1000)} s.`);
    if (ask)
      await pressEnter(
        f.keep
          ? 'Press Enter to stop the dev server (the sandbox stays).'
          : 'Press Enter to stop the dev server and remove the sandbox (browse the Web UI first).',
      );
    if (server) print('The history stays in .tyk-upgrade/temporal.db; `tyk-upgrade dev` serves it again.');
    if (f.keep) print(`The sandbox stays: tyk-upgrade sandbox status --name ${STACK}; remove it with tyk-upgrade sandbox down --name ${STACK}`);
  } finally {
    await cleanUp();
  }
}

function step(n: number, title: string): void {
  print(`\n== ${n}/${STEPS} ${title} ==`);
}

/** A demo interrupted earlier may have left its workflow running and its sandbox up: the demo owns both. */
async function clearEarlierDemo(temporal: { address: string; namespace: string }, docker: Awaited<ReturnType<typeof connectDocker>>): Promise<void> {
  await withTemporal(temporal, async (s) => {
    const handle = s.client.workflow.getHandle(workflowIdFor(STACK));
    const d = await handle.describe().catch((err) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
    if (d?.status.name === 'RUNNING') {
      print(`  terminating ${d.workflowId} left running by an earlier demo`);
      await handle.terminate('superseded by a new demo run');
    }
  });
  if ((await stackContainers(docker, STACK)).length) {
    print(`  removing the sandbox "${STACK}" left by an earlier demo`);
    await sandboxDown(docker, STACK, sandboxDir(STACK));
  }
}

async function pressEnter(prompt: string): Promise<void> {
  const { createInterface } = await import('node:readline/promises');
  const rl = createInterface({ input: process.stdin, output: process.stdout });
  await rl.question(`${prompt} `);
  rl.close();
}
