// `tyk-upgrade dev` and its embedded Temporal server under faults, as a person meets them:
// - dev killed with SIGKILL takes its server with it (setpriv --pdeathsig);
// - on a machine without setpriv the server outlives a killed dev; the next dev finds it by the pid file beside
//   the db file and stops it instead of refusing the port; a live dev's server and a foreign server are refused;
// - an upgrade rejected at a gate is reported, not printed as a crash: no SDK warning or stack trace on the terminal;
// - the server killed under a running dev is started again on the same db file, the worker carries on;
// - a server that cannot be started again ends dev with one line and exit code 6, not a stream of retries.
import assert from 'node:assert/strict';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client, Connection } from '@temporalio/client';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { answers } from '../src/devserver/dev-server';
import { alive, readPidFile } from '../src/devserver/pid-file';
import { runCli, spawnCli, type CliProcess } from './support/cli';
import { freePort, sleep, tempDir, temporalAddress, waitFor } from './support/services';
import { testStack, type TestStack } from './support/stack';
import { failureOf, waitForGate } from './support/upgrade';

let dir: string;
let dbFile: string;
let port: number;
let uiPort: number;
const taskQueue = `flt-dev-${Date.now()}`;
const procs: CliProcess[] = [];

function dev(env: Record<string, string> = {}, db = dbFile, p = port): CliProcess {
  const d = spawnCli(['dev', '--port', String(p), '--ui-port', String(uiPort), '--db-file', db, '--task-queue', taskQueue], { env, cwd: dir });
  procs.push(d);
  return d;
}

async function killDev(d: CliProcess): Promise<void> {
  process.kill(d.child.pid as number, 'SIGKILL');
  await d.exited;
}

before(async () => {
  dir = tempDir('flt-dev');
  dbFile = join(dir, 'temporal.db');
  port = await freePort();
  uiPort = await freePort();
});
after(async () => {
  for (const d of procs) await d.stop();
});

describe('tyk-upgrade dev and its embedded server', () => {
  it('dev killed with SIGKILL takes its dev server with it', async () => {
    const d = dev();
    await d.waitFor(/Worker: polling/, 120_000);
    const server = readPidFile(dbFile);
    assert.ok(server && alive(server.pid), 'the pid file names the running server');
    await killDev(d);
    await waitFor('the server to die with dev', async () => (alive(server.pid) ? undefined : true), 10_000);
    assert.equal(await answers(`127.0.0.1:${port}`, 1000), false);
  });

  let d: CliProcess;
  it('without setpriv the server outlives a killed dev; the next dev stops it instead of refusing the port', async () => {
    // PATH without util-linux: the launcher cannot tie the server's life to dev's (a machine without setpriv).
    const first = dev({ PATH: '/nonexistent' });
    await first.waitFor(/Worker: polling/, 120_000);
    assert.match(first.output(), /setpriv \(util-linux\) not found/);
    const orphan = readPidFile(dbFile)!;
    await killDev(first);
    await sleep(1000);
    assert.ok(alive(orphan.pid), 'the server outlived dev');
    assert.equal(await answers(`127.0.0.1:${port}`, 1000), true);
    const doctor = await runCli(['doctor', '--db-file', dbFile, '--address', `127.0.0.1:${port}`], { cwd: dir });
    assert.match(
      doctor.stdout,
      new RegExp(
        `^WARN\\s+Dev server\\s+orphaned Temporal dev server pid ${orphan.pid} for ${dbFile}: .*\\n\\s+fix: \`tyk-upgrade dev --db-file ${dbFile}\` stops it`,
        'm',
      ),
    );

    d = dev();
    await d.waitFor(/Worker: polling/, 120_000);
    assert.match(d.output(), new RegExp(`stopping the Temporal dev server pid ${orphan.pid} on 127\\.0\\.0\\.1:${port} left by an earlier run for ${dbFile}`));
    assert.equal(alive(orphan.pid), false);
    assert.notEqual(readPidFile(dbFile)!.pid, orphan.pid);
  });

  it('refuses a second dev on the same db file, and a port a foreign Temporal server holds', async () => {
    const same = await runCli(['dev', '--port', String(await freePort()), '--ui-port', String(await freePort()), '--db-file', dbFile], { cwd: dir });
    assert.equal(same.code, 2, same.stderr);
    assert.match(
      same.stderr,
      new RegExp(`${dbFile} is served by the Temporal dev server pid \\d+ on 127\\.0\\.0\\.1:${port}, started by process ${d.child.pid}, which still runs`),
    );
    const foreignPort = Number(temporalAddress().split(':')[1]);
    const foreign = await runCli(['dev', '--port', String(foreignPort), '--ui-port', String(await freePort()), '--db-file', join(dir, 'other.db')], {
      cwd: dir,
    });
    assert.equal(foreign.code, 2, foreign.stderr);
    assert.match(
      foreign.stderr,
      new RegExp(`something already listens on 127\\.0\\.0\\.1:${foreignPort} \\(another Temporal server\\?\\); stop it or choose another port`),
    );
  });

  let stack: TestStack;
  let client: Client;
  it('a rejected upgrade is reported, not printed as a crash: no stack trace on the terminal', async () => {
    client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${port}` }) });
    stack = await testStack({ prefix: 'flt-dev', pump: false });
    const handle = await startUpgrade(client, stack.input({ gates: ['before-gateways'] }), { taskQueue });
    await waitForGate(client, handle.workflowId, 'before-gateways');
    await decide(client, handle.workflowId, 'reject', { by: 'tester', comment: 'not today' });
    const f = await failureOf(handle.result());
    assert.equal(f.status.outcome, 'rejected');
    const workerLog = dbFile.replace(/\.db$/, '-worker.log');
    const line = await waitFor('the outcome in the worker log', async () =>
      readFileSync(workerLog, 'utf8')
        .split('\n')
        .find((l) => l.includes('Workflow failed')),
    );
    assert.match(line, /Workflow failed workflowId=tyk-upgrade-flt-dev-\S+ taskQueue=\S+: gate "before-gateways" rejected by tester: not today$/);
    assert.doesNotMatch(d.output(), /Workflow failed|\[WARN\]|^\s+at /m, `dev's terminal:\n${d.output()}`);
  });

  it('its server killed under it is started again on the same db file; the worker carries on', async () => {
    const before = readPidFile(dbFile)!;
    const linesBefore = d.lines.length;
    process.kill(before.pid, 'SIGKILL');
    await d.waitFor(/the Temporal dev server is back on/, 60_000);
    assert.match(d.output(), /the Temporal dev server exited with SIGKILL; starting it again on the same db file/);
    assert.ok(
      d.lines.length - linesBefore <= 3,
      `a few lines, not a stream:\n${d.lines
        .slice(linesBefore)
        .map((l) => l.text)
        .join('\n')}`,
    );
    assert.notEqual(readPidFile(dbFile)!.pid, before.pid);
    // The state is the db file's: the rejected upgrade is still there, and the same worker runs a new one.
    const earlier = await client.workflow.getHandle(`tyk-upgrade-${stack.name}`).describe();
    assert.equal(earlier.status.name, 'FAILED');
    const handle = await startUpgrade(client, stack.input({ gates: [] }), { taskQueue });
    const result = await handle.result();
    assert.equal(result.outcome, 'succeeded');
    await stack.remove();
  });

  it('a server that cannot be started again ends dev with one line and exit code 6', async () => {
    const server = readPidFile(dbFile)!;
    const linesBefore = d.lines.length;
    process.kill(server.pid, 'SIGKILL');
    // The db file is gone and a folder holds its name: the server cannot open it again.
    rmSync(dbFile, { force: true });
    mkdirSync(dbFile);
    const code = await d.exited;
    assert.equal(code, 6);
    const said = d.lines.slice(linesBefore).map((l) => l.text);
    assert.ok(said.length <= 8, `a few lines, not a stream:\n${said.join('\n')}`);
    assert.match(
      said[said.length - 1],
      /^tyk-upgrade: error: dev: the Temporal dev server exited with SIGKILL and could not be started again after 5 attempts \(last: .+\); see /,
    );
    await client.connection.close();
  });
});
