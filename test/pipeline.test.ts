// The upgrade pipeline end to end: real dev server, real engine, stand-in images pulled from the local registry.
import assert from 'node:assert/strict';
import { readFileSync, statSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decide, startUpgrade } from '../src/client-lib/upgrades';
import { getHello } from '../src/activities/tyk-http';
import type { GateName } from '../src/shared/types';
import { docker } from './support/services';
import { childrenOf, decodePayloads, historyText, upgradeHistories } from './support/history';
import { keepHistory, waitForGate as waitForGateOf } from './support/upgrade';
import { containerNames, testStack, type TestStack } from './support/stack';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();

const waitForGate = (workflowId: string, gate: GateName) => waitForGateOf(t.env.client, workflowId, gate);

function hostFiles(stack: TestStack): Record<string, Buffer> {
  const out: Record<string, Buffer> = {};
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out[p] = readFileSync(p);
    }
  };
  walk(stack.dir);
  return out;
}

describe('happy path v5.2.0 → v5.3.0, pump v1.9.0 → v1.10.0, both gates approved', () => {
  let stack: TestStack;
  before(async () => {
    stack = await testStack({
      prefix: 'happy',
      extra: {
        Env: ['APP_MODE=production', 'TYK_GW_LOGLEVEL=info'],
        Labels: { 'com.docker.compose.project': 'tyk', 'com.docker.compose.service': 'tyk-gateway', team: 'platform' },
        Volumes: { '/opt/tyk-gateway/data': {} },
        HostConfig: {
          Memory: 256 * 1024 * 1024,
          LogConfig: { Type: 'json-file', Config: { 'max-size': '10m', 'max-file': '2' } },
          ExtraHosts: ['tyk-redis:127.0.0.1'],
          RestartPolicy: { Name: 'on-failure', MaximumRetryCount: 3 },
        },
      },
    });
  });
  after(() => stack.remove());

  it('upgrades, keeps config and settings, records approvals', async () => {
    const gw = stack.gateways[0].container;
    const before = await docker.getContainer(gw).inspect();
    const anonVolume = before.Mounts.find((m) => m.Destination === '/opt/tyk-gateway/data')?.Name;
    assert.ok(anonVolume, 'the gateway has an anonymous volume');
    const filesBefore = hostFiles(stack);

    const input = stack.input();
    const handle = await startUpgrade(t.env.client, input, { taskQueue: t.worker.taskQueue });
    const atGate = await waitForGate(handle.workflowId, 'before-gateways');
    // Nothing touched before the gate: gateway still on the old image, and the target images are pulled.
    assert.equal((await docker.getContainer(gw).inspect()).Config.Image, before.Config.Image);
    assert.ok(await docker.getImage(`127.0.0.1:5000/standin/tyk-gateway:v5.3.0`).inspect());
    assert.equal(atGate.stages.find((s) => s.name === 'pull')?.state, 'done');
    assert.ok(atGate.backups.length === 1 && atGate.backups[0].files >= 3, 'backup holds tyk.conf, the API definition, policies');

    await decide(t.env.client, handle.workflowId, 'approve', { by: 'alice', comment: 'change CHG-1' });
    await waitForGate(handle.workflowId, 'before-pump');
    await decide(t.env.client, handle.workflowId, 'approve', { gate: 'before-pump', by: 'bob' });
    const result = await handle.result();
    await keepHistory(handle, 'happy-path', t.env.client);

    assert.equal(result.outcome, 'succeeded');
    // The gateway carries compose labels: the person is told the compose file must follow.
    assert.ok(
      result.errors.some((e) =>
        /^warning: .*compose project "tyk" \(service "tyk-gateway"\): set its image to 127\.0\.0\.1:5000\/standin\/tyk-gateway:v5\.3\.0 there too/.test(e),
      ),
      result.errors.join('\n'),
    );
    const hello = await getHello(stack.gateways[0].url, 'hello');
    assert.equal(hello.body?.version, '5.3.0');
    assert.equal(hello.body?.details?.redis?.status, 'pass');

    const after = await docker.getContainer(gw).inspect();
    assert.equal(after.Config.Image, '127.0.0.1:5000/standin/tyk-gateway:v5.3.0');
    assert.equal(after.State.Running, true);
    const pump = await docker.getContainer(stack.pump!.container).inspect();
    assert.equal(pump.Config.Image, '127.0.0.1:5000/standin/tyk-pump:v1.10.0');

    // Everything but the image and what the image supplies is the same.
    const imageEnv = (e: string) => e.startsWith('TYK_GW_STANDIN_IMAGE=');
    assert.deepEqual(after.Config.Env.filter((e) => !imageEnv(e)).sort(), before.Config.Env.filter((e) => !imageEnv(e)).sort());
    assert.ok(after.Config.Env.includes('TYK_GW_STANDIN_IMAGE=v5.3.0'), 'env defaults come from the new image');
    const ownLabels = (l: Record<string, string>) =>
      Object.fromEntries(Object.entries(l).filter(([k]) => !k.startsWith('org.opencontainers') && k !== 'tyk-upgrade.standin-hash'));
    assert.deepEqual(ownLabels(after.Config.Labels), ownLabels(before.Config.Labels));
    assert.equal(after.Config.Labels['org.opencontainers.image.version'], '5.3.0', 'image labels come from the new image');
    // The anonymous volume is now bound by its name (so its data carried over); all else is the same.
    const anonBind = `${anonVolume}:/opt/tyk-gateway/data`;
    assert.deepEqual({ ...after.HostConfig, Binds: after.HostConfig.Binds?.filter((b) => b !== anonBind) }, before.HostConfig);
    assert.ok(after.HostConfig.Binds?.includes(anonBind));
    for (const key of ['Cmd', 'Entrypoint', 'WorkingDir', 'User', 'Volumes', 'Tty', 'OpenStdin', 'StopSignal'] as const) {
      assert.deepEqual(after.Config[key as keyof typeof after.Config], before.Config[key as keyof typeof before.Config], key);
    }
    assert.equal(after.Mounts.find((m) => m.Destination === '/opt/tyk-gateway/data')?.Name, anonVolume, 'anonymous volume carried over');
    assert.deepEqual(after.Mounts.map((m) => `${m.Source}:${m.Destination}`).sort(), before.Mounts.map((m) => `${m.Source}:${m.Destination}`).sort());

    // Config byte-identical; old containers removed; one container per name.
    assert.deepEqual(hostFiles(stack), filesBefore);
    assert.deepEqual(await containerNames(stack.name), [gw, stack.pump!.container].sort());

    // Backup on disk: 0700 folders, 0600 files, and the manifest's tyk.conf hash matches the file.
    const manifest = JSON.parse(readFileSync(result.backups[0].manifest, 'utf8'));
    assert.equal(statSync(result.backups[0].dir).mode & 0o777, 0o700);
    const conf = manifest.entries.find((e: { path: string }) => e.path === '/opt/tyk-gateway/tyk.conf');
    assert.equal(statSync(conf.archive).mode & 0o777, 0o600);
    const { createHash } = await import('node:crypto');
    assert.equal(conf.hashes['tyk.conf'], createHash('sha256').update(filesBefore[join(stack.gateways[0].confDir, 'tyk.conf')]).digest('hex'));
    assert.match(result.backups[0].redis, /BGSAVE done/);

    // Who approved, when, and why: as recorded, and as Temporal recorded each accepted approval (who sent it, and
    // when: the decision's time is the time the update was accepted, not the time the run ended).
    const runs = await upgradeHistories(t.env.client, handle.workflowId);
    const accepted = (runs[0].history.events ?? []).flatMap((e) => {
      const input = e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input;
      const [d] = decodePayloads(input?.args) as { gate?: string; by?: string }[];
      return input ? [{ gate: d?.gate, by: d?.by, at: Number(String(e.eventTime?.seconds)) * 1000 }] : [];
    });
    const g1 = result.gates.find((g) => g.gate === 'before-gateways')!;
    const g2 = result.gates.find((g) => g.gate === 'before-pump')!;
    assert.deepEqual([g1.state, g1.by, g1.comment, g2.state, g2.by], ['approved', 'alice', 'change CHG-1', 'approved', 'bob']);
    assert.deepEqual(
      accepted.map((a) => `${a.gate} ${a.by}`),
      [g1, g2].map((g) => `${g.gate} ${g.by}`),
      'each gate decided by the approval Temporal accepted for it',
    );
    for (const [i, g] of [g1, g2].entries()) {
      assert.ok(Math.abs(Date.parse(g.at ?? '') - accepted[i].at) < 2000, `${g.gate} decided at ${g.at}, when its approval was accepted`);
    }

    // No secret in any workflow history: the parent's, and the batch children's, where the recreates and the
    // health checks ran (taken from the parent's history, so a child the status does not list is searched too).
    assert.deepEqual(
      childrenOf(runs).map((c) => c.workflowId),
      result.batches.map((b) => b.workflowId),
      'the gateway and pump batches ran as children',
    );
    for (const r of runs) {
      const text = historyText(r.history);
      assert.ok(text.includes(stack.name), `the history of ${r.workflowId} is decoded text (else the checks below could not fail)`);
      assert.ok(!text.includes(stack.secret), `tyk.conf secret not in the history of ${r.workflowId}`);
      assert.ok(!text.includes(stack.redisPassword), `storage.password not in the history of ${r.workflowId}`);
    }
  });
});
