// Compose projects stay true: after an upgrade the compose file and `.env` name the new versions (and only the
// version token changed), `docker compose up -d` recreates nothing, and every rollback puts the files back byte
// for byte. Real compose binaries (Debian's docker-compose 1.29 and compose v2 built by the rig), real engine,
// real dev server, stand-in Tyk images; the CLI (init, plan, start, reject, report) in child processes.
import assert from 'node:assert/strict';
import { chmodSync, readFileSync, writeFileSync, appendFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { getHello } from '../src/activities/tyk-http';
import { renderDetails } from '../src/workflows/details';
import type { UpgradeStatus } from '../src/shared/types';
import { runCli } from './support/cli';
import { composeProject, sharedVersion, tykProject, type ComposeProject, type ComposeVersion } from './support/compose';
import { docker, FAULTY_REPO, GATEWAY_REPO, PUMP_REPO, REAL_GATEWAY_REPO, REAL_PUMP_REPO, tempDir } from './support/services';
import { failureOf, keepHistory, waitForGate } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();

const GW_FROM = `${GATEWAY_REPO}:v5.2.0`;
const GW_TO = `${GATEWAY_REPO}:v5.3.0`;
const PUMP_TO = `${PUMP_REPO}:v1.10.0`;

/** The CLI in its own folder (plan file, backups), finding the test's worker on its queue. */
function cliIn(dir: string) {
  return async (args: string[], code = 0) => {
    const r = await runCli(args, { cwd: dir, env: { TYK_UPGRADE_TASK_QUEUE: t.worker.taskQueue }, timeoutMs: 240_000 });
    assert.equal(r.code, code, `tyk-upgrade ${args.join(' ')}: exit ${r.code}\n${r.stdout}\n${r.stderr}`);
    return r;
  };
}

/** `init` on the project, then the plan's settings a test needs (no soak, short health timeout, its gates). */
async function initPlan(p: ComposeProject, dir: string, edit: (plan: string) => string = (x) => x, versions = ['v5.3.0', 'v1.10.0']): Promise<void> {
  const cli = cliIn(dir);
  const init = await cli([
    'init',
    '--label',
    `com.docker.compose.project=${p.name}`,
    '--gateway-version',
    versions[0],
    '--pump-version',
    versions[1],
    '-o',
    'plan.yaml',
  ]);
  assert.match(init.stdout, new RegExp(`Wrote plan\\.yaml \\(stack "${p.name}"\\)`));
  const file = join(dir, 'plan.yaml');
  const text = readFileSync(file, 'utf8');
  assert.match(text, /^compose: update /m, 'init writes the compose key');
  writeFileSync(
    file,
    edit(
      text
        .replace(/^soak: .*$/m, 'soak: 0s')
        .replace(/^healthTimeout: .*$/m, 'healthTimeout: 20s')
        .replace(/^gates: .*$/m, 'gates: []'),
    ),
  );
}

async function imagesByConfig(p: ComposeProject): Promise<Record<string, string>> {
  const model = parseYaml((await p.compose('config')).stdout) as { services: Record<string, { image: string }> };
  return Object.fromEntries(Object.entries(model.services).map(([k, s]) => [k, s.image]));
}

const ids = async (p: ComposeProject) => Object.fromEntries(Object.entries(await p.containers()).map(([k, c]) => [k, c.id]));

/** `docker compose up -d` changes nothing: the same containers, still running. */
async function upChangesNothing(p: ComposeProject): Promise<void> {
  const before = await p.containers();
  await p.compose('up', '-d');
  const after = await p.containers();
  assert.deepEqual(
    Object.fromEntries(Object.entries(after).map(([k, c]) => [k, c.id])),
    Object.fromEntries(Object.entries(before).map(([k, c]) => [k, c.id])),
    `compose ${p.version} up -d recreated a container`,
  );
  for (const [service, c] of Object.entries(after)) assert.equal(c.state, 'running', `${service} runs after up -d`);
}

async function statusOf(id: string): Promise<UpgradeStatus> {
  return (await t.env.client.workflow.getHandle(id).result()) as UpgradeStatus;
}

for (const version of ['v1', 'v2'] as ComposeVersion[]) {
  describe(`compose ${version}: the project's files follow the upgrade`, () => {
    it('init → plan shows the diff → start: only the version tokens changed, compose config names the target, up -d recreates nothing', async () => {
      const p = await composeProject({ version, prefix: 'cmp-up', files: tykProject('version-in-env') });
      try {
        const original = p.files();
        const dir = tempDir('cmp-up-plan');
        const cli = cliIn(dir);
        // keepOldContainers: the kept old containers must not be taken for a second replica by compose.
        await initPlan(p, dir, (plan) => plan.replace(/^keepOldContainers: false/m, 'keepOldContainers: true'));
        const plan = await cli(['plan', '-f', 'plan.yaml']);
        const yml = join(p.dir, 'docker-compose.yml');
        assert.ok(plan.stdout.includes(`${yml} (project ${p.name}; tyk-gateway)`), plan.stdout);
        assert.ok(plan.stdout.includes(`-    image: ${GW_FROM} # pinned; see the upgrade guide`), plan.stdout);
        assert.ok(plan.stdout.includes(`+    image: ${GW_TO} # pinned; see the upgrade guide`), plan.stdout);
        assert.ok(plan.stdout.includes('-TYK_PUMP_VERSION=v1.9.0\n') && plan.stdout.includes('+TYK_PUMP_VERSION=v1.10.0\n'), plan.stdout);
        assert.match(
          plan.stdout,
          new RegExp(`compose ${version === 'v1' ? '1\\.29' : '2\\.40'}\\.\\d+ resolves "tyk-gateway" to ${GW_TO.replace(/\./g, '\\.')}`),
        );
        assert.deepEqual(p.files(), original, 'plan changes nothing');

        await cli(['start', '-f', 'plan.yaml', '--watch']);
        const id = `tyk-upgrade-${p.name}`;
        if (version === 'v2') await keepHistory(t.env.client.workflow.getHandle(id), 'compose-update', t.env.client);
        const status = await statusOf(id);

        const now = p.files();
        assert.equal(now['docker-compose.yml'], original['docker-compose.yml'].replace(GW_FROM, GW_TO), 'the compose file differs only in the tag');
        assert.equal(now['.env'], original['.env'].replace('TYK_PUMP_VERSION=v1.9.0', 'TYK_PUMP_VERSION=v1.10.0'), '.env differs only in the version');
        assert.deepEqual(Object.keys(now).sort(), Object.keys(original).sort(), 'no other file appeared in the project');
        const images = await imagesByConfig(p);
        assert.equal(images['tyk-gateway'], GW_TO);
        assert.equal(images['tyk-pump'], PUMP_TO);
        assert.deepEqual(
          status.compose?.map((f) => [f.path, f.state]),
          [
            [yml, 'updated'],
            [join(p.dir, '.env'), 'updated'],
          ],
        );

        await upChangesNothing(p);
        const ps = (await p.compose('ps')).stdout;
        const live = await p.containers();
        assert.equal(live['tyk-gateway'].image, GW_TO);
        assert.equal(live['tyk-pump'].image, PUMP_TO);
        assert.ok(ps.includes(live['tyk-gateway'].name) && ps.includes(live['tyk-pump'].name), ps);
        const hello = await getHello(`http://127.0.0.1:${p.ports.gateways[0]}`, 'hello');
        assert.equal(hello.body?.version, '5.3.0');
        assert.equal(hello.body?.status, 'pass');
        // The kept old containers are there, stopped, and compose neither counts nor removes them.
        const kept = await docker.getContainer(`${live['tyk-gateway'].name}-pre-v5.2.0`).inspect();
        assert.equal(kept.Config.Image, GW_FROM);
        assert.equal(kept.State.Running, false);
        assert.equal(kept.Config.Labels['com.docker.compose.project'], undefined);
        // The downgrade nobody approved is gone: a forced recreate comes back on the target.
        await p.compose('up', '-d', '--force-recreate', 'tyk-gateway');
        assert.equal((await p.containers())['tyk-gateway'].image, GW_TO);

        // status and the Web UI's details list the files with their hashes.
        const shown = await cli(['status', id]);
        for (const f of status.compose ?? [])
          assert.ok(
            shown.stdout.includes(`${f.path}`) && shown.stdout.includes(`updated  ${f.sha256Before.slice(0, 12)} → ${f.sha256After.slice(0, 12)}`),
            shown.stdout,
          );
        assert.match(renderDetails(status), new RegExp(`\\| ${yml.replace(/[.]/g, '\\.')} \\| tyk-gateway \\| updated \\|`));
        const report = await cli(['report', id]);
        assert.match(report.stdout, /## Compose files/);
        for (const f of status.compose ?? []) assert.ok(report.stdout.includes(f.sha256Before) && report.stdout.includes(f.sha256After), report.stdout);
      } finally {
        await p.down();
      }
    });

    it('a failed health check rolls back: files byte-identical (the edited one restored), up -d recreates nothing', async () => {
      const p = await composeProject({ version, prefix: 'cmp-fail', files: tykProject('image-in-env') });
      try {
        const original = p.files();
        const before = await ids(p);
        const dir = tempDir('cmp-fail-plan');
        // A pump build that exits at start: the gateway's file is edited after the gateway stage, then restored.
        await initPlan(p, dir, (plan) =>
          plan
            .replace(/^ {2}version: v1\.10\.0.*$/m, `  version: v5.3.0\n  repository: ${FAULTY_REPO('exit-at-start')}`)
            .replace(/^healthTimeout: .*$/m, 'healthTimeout: 8s'),
        );
        await cliIn(dir)(['start', '-f', 'plan.yaml', '--watch'], 9);
        const id = `tyk-upgrade-${p.name}`;
        if (version === 'v2') await keepHistory(t.env.client.workflow.getHandle(id), 'compose-restore', t.env.client);
        const failure = await failureOf(t.env.client.workflow.getHandle(id).result());
        assert.equal(failure.status.outcome, 'rolled-back');
        assert.deepEqual(
          failure.status.compose?.map((f) => [f.path.replace(`${p.dir}/`, ''), f.state]),
          [
            ['docker-compose.yml', 'restored'],
            ['.env', 'pending'],
          ],
        );
        assert.deepEqual(p.files(), original, 'compose file and .env byte-identical to before');
        assert.deepEqual(await ids(p), before, 'the very same containers are back');
        await upChangesNothing(p);
        assert.equal((await getHello(`http://127.0.0.1:${p.ports.gateways[0]}`, 'hello')).body?.version, '5.2.0');
      } finally {
        await p.down();
      }
    });

    it('reject --rollback at before-pump: the edited compose file is restored byte for byte, up -d recreates nothing', async () => {
      const p = await composeProject({ version, prefix: 'cmp-rej', files: tykProject('version-in-env') });
      try {
        const original = p.files();
        const before = await ids(p);
        const dir = tempDir('cmp-rej-plan');
        const cli = cliIn(dir);
        await initPlan(p, dir, (plan) => plan.replace(/^gates: \[\]/m, 'gates: [before-pump]'));
        await cli(['start', '-f', 'plan.yaml']);
        const id = `tyk-upgrade-${p.name}`;
        const waiting = await waitForGate(t.env.client, id, 'before-pump');
        // The gateways run their target, so the file naming only them already says so.
        assert.equal(waiting.compose?.find((f) => f.path.endsWith('docker-compose.yml'))?.state, 'updated');
        assert.equal(p.files()['docker-compose.yml'], original['docker-compose.yml'].replace(GW_FROM, GW_TO));
        assert.equal((await imagesByConfig(p))['tyk-gateway'], GW_TO);
        await cli(['reject', id, '--reason', 'CHG-7 withdrawn', '--rollback']);
        const failure = await failureOf(t.env.client.workflow.getHandle(id).result());
        if (version === 'v2') await keepHistory(t.env.client.workflow.getHandle(id), 'compose-reject-rollback', t.env.client);
        assert.equal(failure.status.outcome, 'rejected');
        assert.deepEqual(p.files(), original, 'compose file and .env byte-identical to before');
        assert.deepEqual(await ids(p), before);
        await upChangesNothing(p);
        assert.equal((await getHello(`http://127.0.0.1:${p.ports.gateways[0]}`, 'hello')).body?.version, '5.2.0');
      } finally {
        await p.down();
      }
    });

    it('one TYK_GW_VERSION for two gateways: a plan with one of them is refused at plan time and nothing changes', async () => {
      const p = await composeProject({ version, prefix: 'cmp-shared', gateways: 2, files: sharedVersion });
      try {
        const original = p.files();
        const before = await ids(p);
        const dir = tempDir('cmp-shared-plan');
        writeFileSync(join(dir, 'plan.yaml'), handPlan(p, ['gw-a']));
        const cli = cliIn(dir);
        for (const cmd of ['plan', 'start']) {
          const r = await cli([cmd, '-f', 'plan.yaml'], 4);
          assert.match(
            `${r.stdout}${r.stderr}`,
            /TYK_GW_VERSION in \.env names the image of services "gw-a", "gw-b" of compose project "[^"]+", but this plan moves only "gw-a": add the container of "gw-b" to the plan, or split it first/,
          );
        }
        assert.deepEqual(p.files(), original);
        assert.deepEqual(await ids(p), before);
        const none = await t.env.client.workflow
          .getHandle(`tyk-upgrade-${p.name}`)
          .describe()
          .catch(() => undefined);
        assert.equal(none, undefined, 'no workflow was started');
      } finally {
        await p.down();
      }
    });
  });
}

function handPlan(p: ComposeProject, services: string[]): string {
  const rows = services.map((s) => {
    const i = s === 'gw-a' ? 0 : 1;
    return `    - container: ${p.name}${p.version === 'v1' ? `_${s}_1` : `-${s}-1`}\n      url: http://127.0.0.1:${p.ports.gateways[i]}\n`;
  });
  return `stack: ${p.name}\ngateway:\n  version: v5.3.0\n  instances:\n${rows.join('')}gates: []\nsoak: 0s\nhealthTimeout: 20s\n`;
}

describe('compose v2: shared versions, files the worker may not write, files changed during the upgrade', () => {
  it('compose: warn only says the file must change, compose: ignore says nothing; neither plans an edit', async () => {
    const p = await composeProject({ version: 'v2', prefix: 'cmp-warn', files: tykProject('version-in-env') });
    try {
      const dir = tempDir('cmp-warn-plan');
      await initPlan(p, dir);
      const file = join(dir, 'plan.yaml');
      const text = readFileSync(file, 'utf8');
      writeFileSync(file, text.replace(/^compose: update/m, 'compose: warn'));
      const warn = await cliIn(dir)(['plan', '-f', 'plan.yaml']);
      assert.match(
        warn.stdout,
        /Note: \S+tyk-gateway-1 belongs to compose project "[^"]+" \(service "tyk-gateway", \S+docker-compose\.yml\): set its image to \S+v5\.3\.0 there too/,
      );
      assert.doesNotMatch(warn.stdout, /Compose files changed/);
      writeFileSync(file, text.replace(/^compose: update/m, 'compose: ignore'));
      const ignore = await cliIn(dir)(['plan', '-f', 'plan.yaml']);
      assert.doesNotMatch(ignore.stdout, /compose project|Compose files changed/);
      writeFileSync(file, text.replace(/^compose: update/m, 'compose: sometimes'));
      const bad = await cliIn(dir)(['plan', '-f', 'plan.yaml'], 3);
      assert.match(bad.stderr, /compose: must be one of update, warn, ignore/);
    } finally {
      await p.down();
    }
  });

  it('both gateways sharing TYK_GW_VERSION in the plan: .env changes once, both run the target, up -d recreates nothing', async () => {
    const p = await composeProject({ version: 'v2', prefix: 'cmp-both', gateways: 2, files: sharedVersion });
    try {
      const original = p.files();
      const dir = tempDir('cmp-both-plan');
      writeFileSync(join(dir, 'plan.yaml'), handPlan(p, ['gw-a', 'gw-b']));
      await cliIn(dir)(['start', '-f', 'plan.yaml', '--watch']);
      assert.deepEqual(p.files(), { ...original, '.env': 'TYK_GW_VERSION=v5.3.0 # both gateways\n' });
      const images = await imagesByConfig(p);
      assert.deepEqual([images['gw-a'], images['gw-b']], [GW_TO, GW_TO]);
      await upChangesNothing(p);
      for (const port of p.ports.gateways) assert.equal((await getHello(`http://127.0.0.1:${port}`, 'hello')).body?.version, '5.3.0');
    } finally {
      await p.down();
    }
  });

  it('a compose file the worker may not write is left alone and said so; the rest is updated and the gateway stays healthy', async () => {
    const p = await composeProject({ version: 'v2', prefix: 'cmp-ro', files: tykProject('version-in-env') });
    try {
      const yml = join(p.dir, 'docker-compose.yml');
      chmodSync(yml, 0o444);
      const original = p.files();
      const dir = tempDir('cmp-ro-plan');
      await initPlan(p, dir);
      const plan = await cliIn(dir)(['plan', '-f', 'plan.yaml']);
      assert.match(plan.stdout, /not changed by the upgrade: .*docker-compose\.yml is read-only \(mode 0444\)/);
      await cliIn(dir)(['start', '-f', 'plan.yaml', '--watch']);
      const status = await statusOf(`tyk-upgrade-${p.name}`);
      assert.equal(p.files()['docker-compose.yml'], original['docker-compose.yml'], 'not overwritten');
      assert.equal(p.files()['.env'], original['.env'].replace('TYK_PUMP_VERSION=v1.9.0', 'TYK_PUMP_VERSION=v1.10.0'));
      assert.ok(
        status.errors.some((e) => /set its image to .*tyk-gateway:v5\.3\.0 there too.*read-only \(mode 0444\)/.test(e)),
        status.errors.join('\n'),
      );
      assert.equal((await getHello(`http://127.0.0.1:${p.ports.gateways[0]}`, 'hello')).body?.version, '5.3.0');
      // Its labels were left as they were, so a plain up leaves the upgraded gateway alone.
      await upChangesNothing(p);
    } finally {
      await p.down();
    }
  });

  it('a compose file someone changes during the upgrade is not overwritten; the upgrade says so and the gateway stays healthy', async () => {
    const p = await composeProject({ version: 'v2', prefix: 'cmp-chg', files: tykProject('version-in-env') });
    try {
      const dir = tempDir('cmp-chg-plan');
      const cli = cliIn(dir);
      await initPlan(p, dir, (plan) => plan.replace(/^gates: \[\]/m, 'gates: [before-gateways]'));
      await cli(['start', '-f', 'plan.yaml']);
      const id = `tyk-upgrade-${p.name}`;
      await waitForGate(t.env.client, id, 'before-gateways');
      const yml = join(p.dir, 'docker-compose.yml');
      appendFileSync(yml, '# a person was here\n');
      const theirs = readFileSync(yml, 'utf8');
      await cli(['approve', id, '--by', 'alice']);
      const status = await statusOf(id);
      assert.equal(status.outcome, 'succeeded');
      assert.equal(readFileSync(yml, 'utf8'), theirs, "someone's change is kept, not overwritten");
      const f = status.compose?.find((x) => x.path === yml);
      assert.equal(f?.state, 'skipped');
      assert.match(f?.detail ?? '', /changed by someone during the upgrade .*not overwritten/);
      assert.ok(status.errors.some((e) => /set its image to .*v5\.3\.0 there too/.test(e)));
      assert.equal(p.files()['.env'].includes('TYK_PUMP_VERSION=v1.10.0'), true, 'the .env, untouched by anyone, is updated');
      assert.equal((await getHello(`http://127.0.0.1:${p.ports.gateways[0]}`, 'hello')).body?.version, '5.3.0');
    } finally {
      await p.down();
    }
  });
});

describe('real Tyk (built by the rig from its source) in a compose project', () => {
  for (const version of ['v1', 'v2'] as ComposeVersion[]) {
    it(`compose ${version}: gateway 5.3.0 → 5.8.10, pump 1.9.0 → 1.12.2; the files follow, up -d recreates nothing, --force-recreate stays on 5.8.10`, async () => {
      const images = { gateway: `${REAL_GATEWAY_REPO}:v5.3.0`, pump: REAL_PUMP_REPO, pumpTag: 'v1.9.0' };
      const p = await composeProject({ version, prefix: 'cmp-real', real: true, files: tykProject('version-in-env', images) });
      try {
        const original = p.files();
        const dir = tempDir('cmp-real-plan');
        await initPlan(p, dir, (plan) => plan.replace(/^healthTimeout: .*$/m, 'healthTimeout: 90s'), ['v5.8.10', 'v1.12.2']);
        await cliIn(dir)(['start', '-f', 'plan.yaml', '--watch']);
        const now = p.files();
        assert.equal(now['docker-compose.yml'], original['docker-compose.yml'].replace(`${REAL_GATEWAY_REPO}:v5.3.0`, `${REAL_GATEWAY_REPO}:v5.8.10`));
        assert.equal(now['.env'], original['.env'].replace('TYK_PUMP_VERSION=v1.9.0', 'TYK_PUMP_VERSION=v1.12.2'));
        await upChangesNothing(p);
        assert.equal((await getHello(`http://127.0.0.1:${p.ports.gateways[0]}`, 'hello')).body?.version, '5.8.10');
        await p.compose('up', '-d', '--force-recreate', 'tyk-gateway');
        assert.equal((await p.containers())['tyk-gateway'].image, `${REAL_GATEWAY_REPO}:v5.8.10`);
      } finally {
        await p.down();
      }
    });
  }
});
