// Signed approvals on a real dev server, a real stack and the real OpenSSH (docs/approvals.md): keys made by
// ssh-keygen, one with a passphrase used through a real ssh-agent; the CLI signs with `ssh-keygen -Y sign`; the
// workflow verifies every decision itself. Each wrong statement is refused with its own message and history stays
// unchanged; `report` lists statements that `ssh-keygen -Y verify` accepts; no private key material anywhere.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WorkflowUpdateFailedError, type WorkflowHandle } from '@temporalio/client';
import { ApplicationFailure, defaultPayloadConverter, WorkflowNotFoundError } from '@temporalio/common';
import { stringify } from 'yaml';
import { getHello } from '../src/activities/tyk-http';
import { signStatement } from '../src/client-lib/sign';
import { findUpgrade, getStatus, signStart, startUpgrade, type StatementSigner } from '../src/client-lib/upgrades';
import { formatStatement, type Statement } from '../src/shared/statement';
import type { AbortRequest, Decision, UpgradeInput } from '../src/shared/types';
import { abortWithRollbackUpdate, approveSignal, approveUpdate } from '../src/workflows/messages';
import { runCli, spawnCli, type CliResult } from './support/cli';
import { docker, tempDir } from './support/services';
import { sshKeygenVerify, testKeys, type TestKey, type TestKeys } from './support/ssh-keys';
import { testStack, type TestStack } from './support/stack';
import { failureOf, keepHistory, quiet, waitForGate, waitUntil } from './support/upgrade';
import { useUpgradeWorker } from './support/worker';

const t = useUpgradeWorker();
const PASSPHRASE = 'correct horse battery staple';
let keys: TestKeys;
let alice: TestKey;
let bob: TestKey;
let carol: TestKey;
let eve: TestKey;
let stopAgent: () => Promise<void>;
let savedSock: string | undefined;
/** Every CLI output of this file, to look for private key material in. */
const outputs: CliResult[] = [];

before(async () => {
  keys = testKeys();
  alice = keys.make('alice');
  bob = keys.make('bob', { passphrase: PASSPHRASE });
  carol = keys.make('carol');
  eve = keys.make('eve');
  // bob's key lives in a real ssh-agent; the CLI is given only bob.pub, as a person with an agent would do.
  const agent = await keys.agent();
  agent.add(bob, PASSPHRASE);
  stopAgent = agent.stop;
  savedSock = process.env.SSH_AUTH_SOCK;
  process.env.SSH_AUTH_SOCK = agent.env.SSH_AUTH_SOCK;
});
after(async () => {
  if (savedSock === undefined) delete process.env.SSH_AUTH_SOCK;
  else process.env.SSH_AUTH_SOCK = savedSock;
  await stopAgent?.();
  keys?.remove();
});

const cli = async (args: string[]) => {
  const r = await runCli(args);
  outputs.push(r);
  return r;
};
const signer = (key: TestKey): StatementSigner => ({ name: key.name, sign: (statement) => signStatement(key.file, statement) });
const approvers = () => [alice, bob, carol].map((k) => ({ name: k.name, key: k.line }));

function signedPlan(stack: TestStack, over: Partial<UpgradeInput> = {}): UpgradeInput {
  return stack.input({
    gates: ['before-gateways'],
    approvers: approvers().map((a) => ({ name: a.name, key: a.key.split(' ').slice(0, 2).join(' ') })),
    requireSignatures: true,
    signatureMaxAgeMs: 15 * 60_000,
    soakMs: 0,
    ...over,
  });
}

/** A statement about this upgrade as a test wants it (right or wrong), signed by ssh-keygen with `key`. */
async function signedBy(key: TestKey, handle: WorkflowHandle, over: Partial<Statement> = {}) {
  const s = await getStatus(t.env.client, handle.workflowId);
  const statement = formatStatement({
    workflowId: handle.workflowId,
    upgradeId: s.upgradeId as string,
    subject: { kind: 'gate', gate: 'before-gateways' },
    decision: 'approve',
    name: key.name,
    comment: '',
    time: new Date().toISOString(),
    ...over,
  });
  return signStatement(key.file, statement);
}

let updates = 0;
/** An update sent as is (what `temporal workflow update` or the Web UI would send) and refused: type, message, nothing changed. */
async function refused(handle: WorkflowHandle, name: 'approve' | 'abort', args: Decision | AbortRequest, type: string, message: RegExp): Promise<void> {
  const before = await quiet(handle);
  const gate = (await getStatus(t.env.client, handle.workflowId)).gates[0];
  updates += 1;
  const call =
    name === 'approve'
      ? handle.executeUpdate(approveUpdate, { args: [args as Decision], updateId: `test-${updates}` })
      : handle.executeUpdate(abortWithRollbackUpdate, { args: [args as AbortRequest], updateId: `test-${updates}` });
  await assert.rejects(call, (err: unknown) => {
    assert.ok(err instanceof WorkflowUpdateFailedError, String(err));
    assert.ok(err.cause instanceof ApplicationFailure);
    assert.equal(err.cause.type, type, err.cause.message);
    assert.match(err.cause.message, message);
    return true;
  });
  assert.equal((await handle.describe()).historyLength, before, `a refused ${type} leaves the history unchanged`);
  const after = await getStatus(t.env.client, handle.workflowId);
  assert.deepEqual(after.gates[0], gate, 'the gate is as it was');
  assert.equal(after.abort, undefined);
}

/** The private key files' own lines (not their armor): none may show up in history, status, report or output. */
function assertNoPrivateKeys(where: string, text: string): void {
  for (const k of [alice, bob, carol, eve]) {
    for (const line of k.secret.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) {
      assert.ok(!text.includes(line), `${where} holds a line of ${k.name}'s private key`);
    }
  }
  assert.ok(!text.includes(PASSPHRASE), `${where} holds bob's passphrase`);
  assert.ok(!text.includes('PRIVATE KEY'), `${where} holds a private key`);
}

/** The report's allowed_signers and each statement with its signature and signer, as an auditor would copy them. */
function statementsOfReport(report: string): { allowed: string; items: { name: string; statement: string; signature: string }[] } {
  const allowed = /`allowed_signers`:\n\n```\n([\s\S]*?)\n```/.exec(report)?.[1] ?? '';
  const items = [
    ...report.matchAll(
      /`statement-\d+\.txt`:\n\n```\n([\s\S]*?)\n```\n\n`statement-\d+\.sig`:\n\n```\n([\s\S]*?)\n```\n\n`ssh-keygen -Y verify -f allowed_signers -I (\S+) /g,
    ),
  ].map((m) => ({ statement: `${m[1]}\n`, signature: `${m[2]}\n`, name: m[3] }));
  return { allowed, items };
}

describe('signed approvals', () => {
  it("approvals: 2 by two approvers' keys (one through ssh-agent); unsigned, unknown key, other upgrade, other gate, changed comment, expired, re-used, the starter and the same key twice refused; the report re-checks with ssh-keygen", async () => {
    const stack = await testStack({ prefix: 'signed', pump: false });
    try {
      const plan = signedPlan(stack, { approvals: 2, approverMustDifferFromStarter: true });
      const handle = await startUpgrade(t.env.client, await signStart(signer(carol), plan), { taskQueue: t.worker.taskQueue });
      const id = handle.workflowId;
      const at = await waitForGate(t.env.client, id, 'before-gateways');
      assert.equal(at.upgradeId, handle.firstExecutionRunId, 'statements are bound to the first run');
      assert.deepEqual([at.startSigner?.name, at.startSigner?.verified], ['carol', true]);

      await refused(handle, 'approve', { by: 'alice', comment: 'CHG-1' }, 'SignatureRequired', /requires signed decisions and this one is not signed/);
      await refused(
        handle,
        'approve',
        { signed: await signedBy(eve, handle) },
        'SignerUnknown',
        /signed with key SHA256:\S+, which is not an approver of this upgrade/,
      );
      await refused(
        handle,
        'approve',
        { signed: await signedBy(alice, handle, { upgradeId: '0194f6a2-0000-7000-8000-000000000000' }) },
        'StatementOtherUpgrade',
        /signed for .* \(upgrade 0194f6a2-0000-7000-8000-000000000000\), not for this one/,
      );
      await refused(
        handle,
        'approve',
        { signed: await signedBy(alice, handle, { subject: { kind: 'gate', gate: 'before-pump' } }) },
        'StatementOtherDecision',
        /decides "approve" for gate before-pump, but this is approve for gate before-gateways/,
      );
      const honest = await signedBy(alice, handle, { comment: 'CHG-1' });
      await refused(
        handle,
        'approve',
        { signed: { ...honest, statement: honest.statement.replace('CHG-1', 'CHG-2') } },
        'SignatureInvalid',
        /does not verify over this statement: it was changed after it was signed/,
      );
      await refused(
        handle,
        'approve',
        { comment: 'CHG-2', signed: honest },
        'StatementMismatch',
        /comment "CHG-2" differs from the signed statement's "CHG-1"/,
      );
      await refused(
        handle,
        'approve',
        { signed: await signedBy(alice, handle, { time: new Date(Date.now() - 20 * 60_000).toISOString() }) },
        'StatementExpired',
        /s ago; the plan accepts statements up to 900 s old: sign a new one/,
      );

      // Through the CLI: an unknown key is refused before anything is sent; the starter's key by the workflow.
      const unknown = await cli(['approve', id, '--sign-key', eve.file]);
      assert.equal(unknown.code, 11, unknown.stderr);
      assert.match(unknown.stderr, /\(SHA256:\S+\) is not an approver of this upgrade; its plan lists alice, bob, carol/);
      const before = await quiet(handle);
      const starter = await cli(['approve', id, '--sign-key', carol.file]);
      assert.equal(starter.code, 7, starter.stderr);
      assert.match(starter.stderr, /carol \(key SHA256:\S+\) started this upgrade and may not approve it; 0 of 2 approvals so far/);
      const unsignedCli = await cli(['approve', id, '--by', 'alice']);
      assert.equal(unsignedCli.code, 11, unsignedCli.stderr);
      assert.match(unsignedCli.stderr, /requires signed decisions: approve the gate with --sign-key KEY/);
      assert.equal((await handle.describe()).historyLength, before, 'refused on the CLI or by the validator: no history written');

      const first = await cli(['approve', id, '--sign-key', alice.file, '--comment', 'CHG-1']);
      assert.equal(first.code, 0, first.stderr);
      assert.match(
        first.stdout,
        new RegExp(
          `^Gate before-gateways of ${id}: approval 1 of 2 recorded \\(alice \\(ssh-ed25519 key SHA256:\\S+, signature verified\\), "CHG-1"\\); waiting for 1 more$`,
          'm',
        ),
      );
      // Alice's accepted update, sent again under another update id: the same signature does not count twice.
      const accepted = (await handle.fetchHistory()).events
        ?.map((e) => e.workflowExecutionUpdateAcceptedEventAttributes?.acceptedRequest?.input)
        .filter((i) => i?.name === 'approveGate')
        .map((i) => defaultPayloadConverter.fromPayload(i?.args?.payloads?.[0] as never) as Decision);
      assert.equal(accepted?.length, 1);
      await refused(handle, 'approve', accepted?.[0] as Decision, 'StatementReused', /this signed statement of alice was already used in this upgrade/);
      const twice = await cli(['approve', id, '--sign-key', alice.file]);
      assert.equal(twice.code, 7, twice.stderr);
      assert.match(twice.stderr, /alice \(key SHA256:\S+\) has already approved gate "before-gateways"; 1 of 2 approvals so far \(alice\)/);

      // A Signal cannot be refused to its sender: an unsigned one is recorded as refused and changes nothing.
      await handle.signal(approveSignal, { by: 'mallory', comment: 'via temporal workflow signal' });
      const afterSignal = await waitUntil(t.env.client, id, 'the refused signal recorded', (s) => (s.refused?.length ?? 0) > 0);
      assert.deepEqual(
        afterSignal.refused?.map((r) => [r.asked, r.type]),
        [['approve gate before-gateways as mallory', 'SignatureRequired']],
      );
      assert.deepEqual(
        afterSignal.gates[0].approvals?.map((a) => a.by),
        ['alice'],
      );
      const shown = await cli(['status', id]);
      assert.match(shown.stdout, /before-gateways\s+waiting \(1 of 2 approvals\)\s+alice/);
      assert.match(shown.stdout, /approve gate before-gateways: alice \(ssh-ed25519 key SHA256:\S+, signature verified\)/);
      assert.match(shown.stdout, /Refused at .* \(not acted on\): approve gate before-gateways as mallory: SignatureRequired/);

      // bob signs through the agent: the CLI gets his .pub, the passphrase-protected key is never opened.
      const second = await cli(['approve', id, '--sign-key', bob.pub]);
      assert.equal(second.code, 0, second.stderr);
      assert.match(
        second.stdout,
        /^Approved gate before-gateways of .* \(by alice \(ssh-ed25519 key SHA256:\S+, signature verified\), bob \(ssh-ed25519 key SHA256:\S+, signature verified\) at .*: "CHG-1"\)$/m,
      );
      const result = await handle.result();
      await keepHistory(handle, 'signed-four-eyes', t.env.client);
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0', 'the gateway runs the target version');
      assert.deepEqual(
        result.signatures?.map((s) => s.name),
        ['carol', 'alice', 'bob'],
      );

      // The report lists every signed statement; OpenSSH alone accepts each of them.
      const report = await cli(['report', id]);
      assert.equal(report.code, 0, report.stderr);
      assert.match(report.stdout, /^\| Started by \| carol \(ssh-ed25519 key SHA256:\S+, signature verified\) \|$/m);
      assert.match(report.stdout, /^\| before-gateways \| alice \| .* \| CHG-1 \| verified: ssh-ed25519 SHA256:\S+ \|$/m);
      const { allowed, items } = statementsOfReport(report.stdout);
      assert.equal(allowed.split('\n').length, 3);
      assert.deepEqual(
        items.map((i) => i.name),
        ['carol', 'alice', 'bob'],
      );
      const dir = tempDir('signed-report');
      writeFileSync(join(dir, 'allowed_signers'), `${allowed}\n`);
      for (const item of items) {
        const check = sshKeygenVerify(
          [alice, bob, carol].map((k) => ({ name: k.name, line: k.line })),
          item.name,
          item.statement,
          item.signature,
          dir,
        );
        assert.ok(check.ok, `ssh-keygen -Y verify accepts ${item.name}'s statement from the report: ${check.output}`);
        assert.match(check.output, new RegExp(`Good "tyk-upgrade" signature for ${item.name} with ED25519 key`));
      }

      const history = JSON.stringify((await handle.fetchHistory()).events);
      assertNoPrivateKeys('the history', history);
      assertNoPrivateKeys('the status', JSON.stringify(result));
      assertNoPrivateKeys('the CLI output', outputs.map((o) => o.stdout + o.stderr).join('\n'));
    } finally {
      await stack.remove();
    }
  });

  it('start: refused unsigned on the CLI and by the workflow (nothing touched); cancel --rollback signed, unsigned refused; `sign` prints a payload the workflow takes', async () => {
    const stack = await testStack({ prefix: 'signstart', pump: false });
    try {
      const plan = signedPlan(stack);
      const id = `tyk-upgrade-${stack.name}`;
      const file = join(tempDir('signstart'), 'plan.yaml');
      writeFileSync(
        file,
        stringify({
          stack: stack.name,
          gateway: { version: 'v5.3.0', instances: plan.gateways.map((g) => ({ container: g.container, url: g.url })) },
          gates: ['before-gateways'],
          soak: '0s',
          backupDir: plan.backupDir,
          approvers: approvers(),
          requireSignatures: true,
        }),
      );
      const shownPlan = await cli(['plan', '-f', file, '--task-queue', t.worker.taskQueue]);
      assert.equal(shownPlan.code, 0, shownPlan.stderr);
      assert.match(
        shownPlan.stdout,
        /Signed decisions: required: the start and every gate, pause and rollback decision must be signed by an approver below; a statement is accepted up to 15 min/,
      );
      assert.match(shownPlan.stdout, /^\s+alice\s+ssh-ed25519\s+SHA256:\S+$/m);

      const unsigned = await cli(['start', '-f', file, '--task-queue', t.worker.taskQueue]);
      assert.equal(unsigned.code, 11, unsigned.stderr);
      assert.match(unsigned.stderr, /requires signed decisions: start the upgrade with --sign-key KEY/);
      await assert.rejects(findUpgrade(t.env.client, id), WorkflowNotFoundError, 'nothing was started');

      // Started past the CLI (as `temporal workflow start` could): the workflow refuses before it changes anything.
      const ids = await Promise.all(stack.gateways.map(async (g) => (await docker.getContainer(g.container).inspect()).Id));
      const bypass = await startUpgrade(t.env.client, plan, { taskQueue: t.worker.taskQueue });
      const f = await failureOf(bypass.result());
      assert.match(f.message, /^the start is refused: the plan requires signed decisions and the start is not signed/);
      assert.deepEqual(f.status.instances, [], 'it ended before preflight');
      assert.deepEqual(await Promise.all(stack.gateways.map(async (g) => (await docker.getContainer(g.container).inspect()).Id)), ids, 'no container touched');

      const started = await cli(['start', '-f', file, '--task-queue', t.worker.taskQueue, '--sign-key', alice.file]);
      assert.equal(started.code, 0, started.stderr);
      const handle = t.env.client.workflow.getHandle(id);
      await waitForGate(t.env.client, id, 'before-gateways');

      // `sign approve` prints what to paste into the Web UI: it is bound to this gate and verified as any other.
      const payload = await cli(['sign', 'approve', id, '--sign-key', bob.pub, '--comment', 'looks good']);
      assert.equal(payload.code, 0, payload.stderr);
      assert.match(payload.stderr, /Send an Update → name "approveGate", paste the JSON below/);
      const args = JSON.parse(payload.stdout) as Decision;
      assert.deepEqual([args.gate, args.by, args.comment], ['before-gateways', 'bob', 'looks good']);
      assert.match(
        args.signed?.statement ?? '',
        /^tyk-upgrade statement v1\nworkflow: .*\nupgrade: .*\nsubject: gate before-gateways\ndecision: approve\nname: bob\ncomment: looks good\n/,
      );
      // Sent as a cancel it does not count: the statement is an approval.
      await refused(
        handle,
        'abort',
        { signed: args.signed },
        'StatementOtherDecision',
        /decides "approve" for gate before-gateways, but this is abort-rollback for abort/,
      );
      await refused(handle, 'abort', { by: 'alice', reason: 'CHG-9' }, 'SignatureRequired', /requires signed decisions/);
      const noKey = await cli(['cancel', id, '--rollback']);
      assert.equal(noKey.code, 11, noKey.stderr);

      const cancel = await cli(['cancel', id, '--rollback', '--sign-key', alice.file, '--reason', 'CHG-9 withdrawn']);
      assert.equal(cancel.code, 0, cancel.stderr);
      assert.match(cancel.stdout, /requested by alice \(ssh-ed25519 key SHA256:\S+, signature verified\): "CHG-9 withdrawn"/);
      const end = await failureOf(handle.result());
      await keepHistory(handle, 'signed-cancel-rollback', t.env.client);
      assert.equal(end.status.outcome, 'cancelled', end.message);
      assert.match(end.message, /cancelled by alice: CHG-9 withdrawn; everything this run changed is rolled back/);
      assert.equal(end.status.abort?.signer?.name, 'alice');
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.2.0', 'the gateway is still on the old version');
      assertNoPrivateKeys('the CLI output', outputs.map((o) => o.stdout + o.stderr).join('\n'));
      assertNoPrivateKeys('the history', JSON.stringify((await handle.fetchHistory()).events));
    } finally {
      await stack.remove();
    }
  });

  it('watch --auto-approve --sign-key signs the gate; a maintenance-window pause is resumed only by a signed decision, bound to that pause', async () => {
    const stack = await testStack({ prefix: 'signpause', pump: false });
    let watch: ReturnType<typeof spawnCli> | undefined;
    try {
      // A window that opens in two hours: the run pauses before the first container stops.
      const hhmm = (d: Date) => d.toISOString().slice(11, 16);
      const opens = new Date(Date.now() + 2 * 3_600_000);
      const window = `daily ${hhmm(opens)}-${hhmm(new Date(opens.getTime() + 3_600_000))} UTC`;
      const plan = signedPlan(stack, { window: [window] });
      const handle = await startUpgrade(t.env.client, await signStart(signer(alice), plan), { taskQueue: t.worker.taskQueue });
      const id = handle.workflowId;
      watch = spawnCli(['watch', id, '--auto-approve', '--sign-key', alice.file]);
      await watch.waitFor(/approving gate before-gateways automatically \(--auto-approve, as alice, signed\)/);
      const paused = await waitUntil(t.env.client, id, 'the window pause', (st) => st.pause?.kind === 'window' && st.pause.state === 'waiting');
      assert.deepEqual([paused.gates[0].state, paused.gates[0].signer?.name], ['approved', 'alice'], "the gate was approved with alice's signature");

      const unsigned = await cli(['resume', id, 'continue', '--by', 'bob']);
      assert.equal(unsigned.code, 11, unsigned.stderr);
      // A statement for an earlier pause does not count for this one.
      const before = await quiet(handle);
      const old = await signedBy(bob, handle, { subject: { kind: 'pause', number: 7 }, decision: 'continue' });
      await assert.rejects(
        handle.executeUpdate('resolvePause', { args: [{ choice: 'continue', signed: old }], updateId: 'old-pause' }),
        (err: unknown) => err instanceof WorkflowUpdateFailedError && /for pause 7, but this is continue for pause 1/.test(String(err.cause?.message)),
      );
      assert.equal((await handle.describe()).historyLength, before);

      const resumed = await cli(['resume', id, 'continue', '--sign-key', bob.pub, '--comment', 'CHG-12 agreed']);
      assert.equal(resumed.code, 0, resumed.stderr);
      assert.match(resumed.stdout, /^Pause 1 of .*: continue \(by bob \(ssh-ed25519 key SHA256:\S+, signature verified\) at .*: "CHG-12 agreed"\)$/m);
      assert.equal(await watch.exited, 0, watch.output());
      const result = await handle.result();
      await keepHistory(handle, 'signed-window-resume', t.env.client);
      assert.equal(result.outcome, 'succeeded', result.reason);
      assert.deepEqual([result.pause?.signer?.name, result.window?.overriddenBy], ['bob', 'bob']);
      assert.deepEqual(
        result.signatures?.map((x) => x.name),
        ['alice', 'alice', 'bob'],
      );
      assert.equal((await getHello(stack.gateways[0].url, 'hello')).body?.version, '5.3.0');
      assertNoPrivateKeys('the watch output', watch.output());
    } finally {
      await watch?.stop();
      await stack.remove();
    }
  });
});
