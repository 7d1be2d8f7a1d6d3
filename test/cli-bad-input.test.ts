// Bad input never changes anything. Each case runs the real CLI (node dist/src/client.js) against the real
// engine and the test dev server and checks the message, the exit code (docs/cli.md), and that no container,
// file or workflow changed; and that no output carries the stack's tyk.conf secret or Redis password.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowNotFoundError } from '@temporalio/common';
import type { TestWorkflowEnvironment } from '@temporalio/testing';
import { getStatus } from '../src/client-lib/upgrades';
import { renderPlan } from '../src/plan/render';
import { WORKFLOW_TYPE, workflowIdFor } from '../src/shared/names';
import { runCli, type CliOptions, type CliResult } from './support/cli';
import { connectTestEnv, docker, freePort, tempDir, waitFor } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { quiet } from './support/upgrade';
import { startWorker, type RunningWorker } from './support/worker';

let env: TestWorkflowEnvironment;
let worker: RunningWorker;
let stack: TestStack;
let dir: string;
let good: string;
let goodText: string;

before(async () => {
  env = await connectTestEnv();
  worker = await startWorker(env);
  stack = await testStack({ prefix: 'clibad' });
  dir = tempDir('cli-bad');
  good = join(dir, 'good.yaml');
  goodText = renderPlan({
    stack: stack.name,
    gatewayVersion: 'v5.3.0',
    gateways: stack.gateways.map((g) => ({ container: g.container, url: g.url, helloPath: 'hello' })),
    pumpVersion: 'v1.10.0',
    pumps: [{ container: stack.pump!.container, healthUrl: stack.pump!.healthUrl }],
    source: 'test',
  });
  writeFileSync(good, goodText);
});
after(async () => {
  await stack.remove();
  await worker.stop();
  await env.teardown();
});

/** Writes a variant of the good plan and returns its path. */
function planWith(name: string, edit: (text: string) => string): string {
  const path = join(dir, `${name}.yaml`);
  const text = edit(goodText);
  assert.notEqual(text, goodText, `the ${name} edit must change the plan`);
  writeFileSync(path, text);
  return path;
}

function walk(root: string, out: Record<string, string> = {}): Record<string, string> {
  for (const e of readdirSync(root, { withFileTypes: true })) {
    const p = join(root, e.name);
    const s = statSync(p);
    if (e.isDirectory()) {
      out[p] = `dir ${s.mode}`;
      walk(p, out);
    } else out[p] = `${s.mode} ${s.size} ${s.mtimeMs} ${createHash('sha256').update(readFileSync(p)).digest('hex')}`;
  }
  return out;
}

/** Everything bad input must leave alone: the stack's containers, the test's files, every workflow. */
async function snapshot() {
  const containers = (await docker.listContainers({ all: true }))
    .filter((c) => c.Names.some((n) => n.includes(stack.name)))
    .map((c) => `${c.Names.join(',')} ${c.Id} ${c.Image} ${c.State}`)
    .sort();
  // `plan` and `start` ask the workers through short look-only workflows; what must not appear is an upgrade of
  // this stack (other test files' upgrades may run in the other lane at the same time).
  const seen = new Map<string, string>();
  const add = (d: { workflowId: string; runId: string; status: { name: string }; historyLength: number }) =>
    seen.set(`${d.workflowId} ${d.runId}`, `${d.workflowId} ${d.runId} ${d.status.name} ${d.historyLength}`);
  for await (const wf of env.client.workflow.list({ query: `WorkflowType = '${WORKFLOW_TYPE}' AND TykStack = '${stack.name}'` })) {
    add(await env.client.workflow.getHandle(wf.workflowId, wf.runId).describe());
  }
  // The list is Temporal's visibility store, which may lag a start by a moment under load: the stack's upgrade id
  // is asked for directly too, so a run just started is seen at once.
  const latest = await env.client.workflow
    .getHandle(workflowIdFor(stack.name))
    .describe()
    .catch((err: unknown) => {
      if (err instanceof WorkflowNotFoundError) return undefined;
      throw err;
    });
  if (latest) add(latest);
  return { containers, files: { ...walk(dir), ...walk(stack.dir) }, workflows: [...seen.values()].sort() };
}

function assertNoSecrets(r: CliResult): void {
  for (const secret of [stack.secret, stack.redisPassword]) {
    assert.ok(!r.stdout.includes(secret) && !r.stderr.includes(secret), 'CLI output must not contain a secret');
  }
}

async function refused(args: string[], code: number, message: RegExp, opts: CliOptions = {}): Promise<CliResult> {
  const before = await snapshot();
  const r = await runCli(args, { cwd: dir, ...opts });
  const shown = `exit ${r.code}\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`;
  assert.equal(r.code, code, shown);
  assert.match(r.stderr, message, shown);
  assert.deepEqual(await snapshot(), before, 'nothing may change');
  assertNoSecrets(r);
  return r;
}

const start = (plan: string, ...more: string[]) => ['start', '-f', plan, '--task-queue', worker.taskQueue, ...more];

describe('bad plan files: exit 3, the field and its line named', () => {
  it('malformed YAML', async () => {
    const p = planWith('malformed', (t) => t.replace('instances:', 'instances: [oops'));
    await refused(start(p), 3, /malformed\.yaml:\d+: malformed YAML: /);
  });
  it('an unknown key, with its line and the key it probably meant', async () => {
    const p = planWith('unknown-key', (t) => t.replace('  instances:', '  instnces:'));
    await refused(start(p), 3, /unknown-key\.yaml:7: gateway\.instnces: unknown key \(did you mean "instances"\?\)/);
  });
  it('a release line ("5.3") instead of a release', async () => {
    const p = planWith('release-line', (t) => t.replace('version: v5.3.0', 'version: 5.3'));
    await refused(start(p), 3, /release-line\.yaml:5: gateway\.version: "5\.3" names a release line, not a release.*v5\.3\.0/);
  });
  it("0.3's backupDir (a folder of the machine the plan was written on): refused with what to write instead", async () => {
    const p = planWith('backup-dir', (t) => `${t}backupDir: /home/op/plans/.tyk-upgrade/backups\n`);
    await refused(start(p), 3, /backup-dir\.yaml:\d+: backupDir: backups now live in each host worker's own folder .*backupSubfolder: NAME/);
  });
  it('"latest"', async () => {
    const p = planWith('latest', (t) => t.replace('version: v5.3.0', 'version: latest'));
    await refused(start(p), 3, /latest\.yaml:5: gateway\.version: "latest" is not allowed: it moves/);
  });
  it('a pre-release without allowPrerelease', async () => {
    const p = planWith('prerelease', (t) => t.replace('version: v5.3.0', 'version: v5.3.0-rc1'));
    await refused(start(p), 3, /gateway\.version: "v5\.3\.0-rc1" is a pre-release; set allowPrerelease: true/);
  });
  it('a string that is no version', async () => {
    const p = planWith('not-version', (t) => t.replace('version: v1.10.0', 'version: one-ten'));
    await refused(start(p), 3, /pump\.version: "one-ten" is not a version; write an exact release such as v1\.10\.0/);
  });
  it('a URL without scheme', async () => {
    const p = planWith('bad-url', (t) => t.replace(/url: http:\/\/127\.0\.0\.1:(\d+)/, 'url: 127.0.0.1:$1'));
    await refused(start(p), 3, /bad-url\.yaml:9: gateway\.instances\[0\]\.url: "127\.0\.0\.1:\d+" is not a URL; write it with its scheme/);
  });
  it('a gateway URL with the health path in it', async () => {
    const p = planWith('url-path', (t) => t.replace(/(url: http:\/\/127\.0\.0\.1:\d+)/, '$1/hello'));
    await refused(start(p), 3, /gateway\.instances\[0\]\.url: ".*\/hello" has a path; give the gateway's base URL/);
  });
  it('a maintenance window in a time zone that does not exist', async () => {
    const p = planWith('bad-window', (t) => `${t}window: "Sat 02:00-04:00 Europe/Berln"\n`);
    await refused(
      start(p),
      3,
      /bad-window\.yaml:\d+: window: "Sat 02:00-04:00 Europe\/Berln": Europe\/Berln is not a time zone of the IANA database; use a name such as Europe\/Berlin/,
    );
  });
  it('start --at a time in the past, or not a time', async () => {
    await refused(
      start(good, '--at', '2020-01-01T00:00:00Z'),
      2,
      /2020-01-01T00:00:00\.000Z is in the past; give a later time, or leave --at out to start now/,
    );
    await refused(start(good, '--at', '02:00'), 2, /"02:00" is not a time; give an ISO time with its offset, such as 2026-11-28T02:00:00\+01:00/);
  });
  it('a duration without unit, and one in words', async () => {
    const p = planWith('bad-duration', (t) => t.replace('drainTimeout: 40s', 'drainTimeout: 40').replace('healthTimeout: 120s', 'healthTimeout: 2 minutes'));
    const r = await refused(start(p), 3, /drainTimeout: 40 has no unit; write it like 40s/);
    assert.match(r.stderr, /healthTimeout: "2 minutes" is not a duration/);
    assert.match(r.stderr, /\(2 problems\)/);
  });
  it('an unknown gate', async () => {
    const p = planWith('bad-gate', (t) => t.replace('gates: [before-gateways, before-pump]', 'gates: [before-gateway]'));
    await refused(start(p), 3, /gates\[0\]: must be one of before-gateways, after-canary, before-pump/);
  });
  it('no gateway containers', async () => {
    const p = planWith('no-gateways', (t) => t.replace(/ {2}instances:\n( {4}.*\n| {6}.*\n)+/, '  instances: []\n'));
    await refused(start(p), 3, /gateway\.instances: must list at least one gateway container/);
  });
  it('a pump without its version', async () => {
    const p = planWith('pump-no-version', (t) => t.replace(/ {2}version: v1\.10\.0.*\n/, ''));
    await refused(start(p), 3, /pump\.version: is missing; it must be an exact release such as v1\.10\.0/);
  });
  it('a key given twice', async () => {
    const p = planWith('duplicate-key', (t) => t.replace('batchSize: 1', 'batchSize: 1\nbatchSize: 2'));
    await refused(start(p), 3, /malformed YAML: key "batchSize" appears twice/);
  });
  it('an empty file', async () => {
    const p = planWith('empty', () => '# nothing\n');
    await refused(start(p), 3, /the file is empty; write a plan with `tyk-upgrade init`/);
  });
  it('a plan file that does not exist', async () => {
    await refused(start(join(dir, 'missing.yaml')), 3, /missing\.yaml: cannot read the plan file: it does not exist/);
  });
  it('a plan file that is a folder (unreadable as a file)', async () => {
    mkdirSync(join(dir, 'a-folder'), { recursive: true });
    await refused(start(join(dir, 'a-folder')), 3, /cannot read the plan file: it is a folder/);
  });
});

describe('a stack that is not ready for the plan: exit 4, nothing started', () => {
  it('target equal to the current version', async () => {
    await refused(start(good, '--gateway-version', 'v5.2.0'), 4, /already runs 5\.2\.0, the target version; nothing to upgrade/);
  });
  it('a downgrade without --allow-downgrade', async () => {
    await refused(start(good, '--gateway-version', 'v5.1.0'), 4, /runs 5\.2\.0, newer than the target 5\.1\.0; a downgrade must be asked for/);
  });
  it('a container that does not exist', async () => {
    const p = planWith('missing-container', (t) => t.replace(`container: ${stack.gateways[0].container}`, 'container: no-such-gateway'));
    await refused(start(p), 4, /gateway container "no-such-gateway" does not exist on the Docker engine/);
  });
  it('a container that is not Tyk (the pump, listed as a gateway)', async () => {
    const pumpBase = new URL(stack.pump!.healthUrl).origin;
    const p = planWith('not-tyk', (t) =>
      t
        .replace(`container: ${stack.gateways[0].container}`, `container: ${stack.pump!.container}`)
        .replace(stack.gateways[0].url, pumpBase)
        .replace(/pump:\n( {2}.*\n)+/, ''),
    );
    await refused(start(p), 4, /does not answer like a Tyk gateway at http:\/\/127\.0\.0\.1:\d+\/hello/);
  });
  it('--gateway-version the registry does not have', async () => {
    await refused(
      start(good, '--gateway-version', 'v5.4.0'),
      4,
      /target image 127\.0\.0\.1:5000\/standin\/tyk-gateway:v5\.4\.0 cannot be pulled: the registry has no such image or tag/,
    );
  });
  it('plan (the dry run) reports the same, with its report on stdout', async () => {
    const r = await refused(
      ['plan', '-f', good, '--gateway-version', 'v5.4.0', '--task-queue', worker.taskQueue],
      4,
      /the stack is not ready for this plan \(1 problem/,
    );
    assert.match(r.stdout, /Dry run: nothing was changed/);
    assert.match(r.stdout, /tyk-gateway:v5\.4\.0\s+NO/);
  });
});

describe('unreachable services: fail fast with where they were looked for', () => {
  it('a worker whose Docker engine is unreachable: exit 5 at once', async () => {
    await refused(['worker', '--task-queue', 'never', '--host', 'nowhere'], 5, /cannot reach the Docker engine at unix:\/\/\/nonexistent\/docker\.sock/, {
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock' },
    });
  });
  it('a host named in the plan with no worker polling: exit 6 naming the host, nothing started', async () => {
    const p = planWith('no-worker-host', (t) =>
      t.replace(/( {4}- container: .*\n)/, '$1      host: ghost-host\n').replace('  container:', '  host: ghost-host\n  container:'),
    );
    await refused(start(p), 6, /no worker polls host "ghost-host"; nothing was changed\. Start `tyk-upgrade worker --host ghost-host` on that machine/);
  });
  it('Temporal unreachable: exit 6 within seconds, naming the address', async () => {
    const port = await freePort();
    const r = await refused(start(good), 6, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port} \\(namespace default\\): connection refused`), {
      env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
    });
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });
  it('the worker, with Temporal unreachable: exit 6 at once', async () => {
    const port = await freePort();
    const r = await refused(['worker', '--task-queue', 'never'], 6, new RegExp(`cannot reach Temporal at 127\\.0\\.0\\.1:${port}`), {
      env: { TEMPORAL_ADDRESS: `127.0.0.1:${port}` },
    });
    assert.ok(r.ms < 10_000, `took ${r.ms} ms`);
  });
  it('no worker on the task queue: approve gives up after the call deadline with exit 6', async () => {
    const p = planWith('no-worker', (t) => t.replace(`stack: ${stack.name}`, `stack: ${stack.name}-noworker`));
    const queue = `nobody-${Date.now()}`;
    const r = await runCli(['start', '-f', p, '--task-queue', queue, '--skip-checks'], { cwd: dir });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, new RegExp(`no worker polls task queue "${queue}" yet`));
    const id = workflowIdFor(`${stack.name}-noworker`);
    try {
      await refused(
        ['approve', id, '--gate', 'before-gateways'],
        6,
        new RegExp(`cannot approve ${id}: no worker answered in time; is \`tyk-upgrade worker --task-queue ${queue}\` running`),
      );
    } finally {
      await env.client.workflow.getHandle(id).terminate('test done');
    }
  });
  it('a namespace that does not exist: exit 6', async () => {
    await refused(['--namespace', 'no-such-namespace', 'list'], 6, /namespace "no-such-namespace" does not exist on the Temporal server/);
  });
});

describe('workflows that do not allow it: exit 7', () => {
  it('approve a workflow that does not exist', async () => {
    await refused(['approve', 'tyk-upgrade-no-such-stack'], 7, /cannot approve tyk-upgrade-no-such-stack: there is no such upgrade workflow/);
  });
  it('status of a workflow that does not exist', async () => {
    await refused(['status', 'no-such-stack'], 7, /no status for no-such-stack: there is no such upgrade workflow/);
  });

  describe('with an upgrade waiting at its first gate', () => {
    let id: string;
    before(async () => {
      const unchanged = await snapshot();
      const r = await runCli(start(good), { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      // The checker of "nothing changed" sees a change when there is one.
      assert.notDeepEqual((await snapshot()).workflows, unchanged.workflows);
      id = workflowIdFor(stack.name);
      assert.match(r.stdout, new RegExp(`Started upgrade ${id} \\(run [0-9a-f-]+\\)`));
      assert.match(r.stdout, new RegExp(`Web UI: http://.*/namespaces/default/workflows/${id}/[0-9a-f-]+/history`));
      await waitFor('the first gate', async () => ((await getStatus(env.client, id)).gates[0].state === 'waiting' ? true : undefined), 60_000, 200);
      // The gate's notification is an activity of its own: let it finish, or "nothing changed" would see it land.
      await quiet(env.client.workflow.getHandle(id));
    });

    it('approve at a gate that is not waiting', async () => {
      await refused(['approve', id, '--gate', 'before-pump'], 7, /gate "before-pump" is not-reached; the waiting gate is "before-gateways"/);
    });
    it('reject at a gate that is not waiting', async () => {
      await refused(['reject', id, '--gate', 'before-pump', '--reason', 'no'], 7, /gate "before-pump" is not-reached/);
    });
    it('a second start for a stack already upgrading', async () => {
      await refused(start(good), 7, new RegExp(`an upgrade of stack "${stack.name}" is already running \\(workflow ${id}`));
    });
    it('once rejected, approve, reject and cancel say it has finished', async () => {
      const r = await runCli(['reject', stack.name, '--reason', 'test ends here', '--by', 'tester'], { cwd: dir });
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`Rejected gate before-gateways of ${id} \\(by tester at .*: "test ends here"\\)`));
      await waitFor('the end', async () => ((await env.client.workflow.getHandle(id).describe()).status.name !== 'RUNNING' ? true : undefined));
      await refused(['approve', id], 7, new RegExp(`cannot approve ${id}: the upgrade has already finished \\(FAILED\\)`));
      await refused(['reject', id, '--reason', 'again'], 7, /the upgrade has already finished/);
      await refused(['cancel', id], 7, new RegExp(`cannot cancel ${id}: the upgrade has already finished`));
    });
  });
});

describe('bad command lines: exit 2', () => {
  it('--gateway-version latest', async () => {
    await refused(start(good, '--gateway-version', 'latest'), 2, /--gateway-version: "latest" is not allowed/);
  });
  it('reject without --reason', async () => {
    await refused(['reject', 'tyk-upgrade-x'], 2, /required option '--reason <text>' not specified/);
  });
  it('approve --gate that is no gate', async () => {
    await refused(['approve', 'tyk-upgrade-x', '--gate', 'somewhere'], 2, /Allowed choices are before-gateways, after-canary, before-pump/);
  });
  it('an unknown command', async () => {
    await refused(['upgrade-everything'], 2, /unknown command 'upgrade-everything'/);
  });
  it('init onto an existing plan file without --force', async () => {
    await refused(
      ['init', '--gateway-version', 'v5.3.0', '-o', good],
      2,
      /good\.yaml already exists; write elsewhere with -o FILE, or replace it with --force/,
    );
  });
});

describe('init and sandbox refusals', () => {
  it('init that finds no Tyk container: exit 4, no file written', async () => {
    const out = join(dir, 'never-written.yaml');
    await refused(
      ['init', '--label', 'io.tyk-upgrade.sandbox=no-such-sandbox', '--gateway-version', 'v5.3.0', '-o', out, '--task-queue', worker.taskQueue],
      4,
      /no running Tyk gateway container found/,
    );
    assert.ok(!existsSync(out));
  });
  it("init --backup-dir (0.3's option): exit 2, the folder is each worker's now", async () => {
    const out = join(dir, 'never-written-2.yaml');
    await refused(
      ['init', '--gateway-version', 'v5.3.0', '--backup-dir', '/var/backups/tyk', '-o', out, '--task-queue', worker.taskQueue],
      2,
      /--backup-dir: the backup folder belongs to each host's worker now \(`tyk-upgrade worker --backup-dir DIR`, on that host\).*--backup-subfolder NAME/,
    );
    assert.ok(!existsSync(out));
  });
  it('sandbox up with a name already taken: exit 4', async () => {
    await refused(['sandbox', 'up', '--name', stack.name, '--dir', join(dir, 'sb-taken')], 4, new RegExp(`sandbox "${stack.name}" already exists`));
  });
  it('sandbox up on a port in use: exit 4, no container made', async () => {
    const busy = new URL(stack.gateways[0].url).port;
    await refused(
      ['sandbox', 'up', '--name', `${stack.name}-sb`, '--port', busy, '--dir', join(dir, 'sb-busy')],
      4,
      new RegExp(`port 127\\.0\\.0\\.1:${busy} for gateway 1 \\(--port\\) is in use`),
    );
    assert.deepEqual(await docker.listContainers({ all: true, filters: { name: [`${stack.name}-sb`] } }), []);
  });
});
