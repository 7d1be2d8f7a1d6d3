// Signed approvals, the pure parts, against the real OpenSSH: keys made by ssh-keygen (one with a passphrase, used
// through a real ssh-agent), signatures made by `ssh-keygen -Y sign` verified by our code, ours accepted by
// `ssh-keygen -Y verify`, fingerprints as `ssh-keygen -l` prints them, the statement format, every refusal, and
// the plan keys. No Temporal or Docker needed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { signingPublicKey, signStatement } from '../src/client-lib/sign';
import { approverSigner } from '../src/cli/signing';
import { CliError } from '../src/cli/exit-codes';
import { toUpgradeInput } from '../src/plan/load';
import { parsePlanText } from '../src/plan/parse';
import { PlanError } from '../src/plan/problems';
import { checkSigned, SignatureRefusal, type Approver, type CheckContext, type Expected } from '../src/shared/signed-decisions';
import { parsePublicKey, parseSignature, signatureId, SshFormatError, verifySignature } from '../src/shared/sshsig';
import { canonicalJson, contentHash, formatStatement, parseStatement, StatementError, type Statement } from '../src/shared/statement';
import type { UpgradeInput } from '../src/shared/types';
import { sshKeygenFingerprint, sshKeygenSign, sshKeygenVerify, testKeys, type TestKey, type TestKeys } from './support/ssh-keys';

let keys: TestKeys;
let alice: TestKey;
let bob: TestKey;
let eve: TestKey;

before(() => {
  keys = testKeys();
  alice = keys.make('alice');
  bob = keys.make('bob', { passphrase: 'correct horse battery staple' });
  eve = keys.make('eve');
});
after(() => keys.remove());

const NOW = Date.parse('2026-12-01T10:00:00.000Z');
const statement = (over: Partial<Statement> = {}): Statement => ({
  workflowId: 'tyk-upgrade-prod',
  upgradeId: '0194f6a2-1c1e-7d3b-9a55-3c2d1e0f4a11',
  subject: { kind: 'gate', gate: 'before-gateways' },
  decision: 'approve',
  name: 'alice',
  comment: 'CHG-1234',
  time: new Date(NOW - 60_000).toISOString(),
  ...over,
});
const expected = (over: Partial<Expected> = {}): Expected => ({
  workflowId: 'tyk-upgrade-prod',
  upgradeId: '0194f6a2-1c1e-7d3b-9a55-3c2d1e0f4a11',
  subject: { kind: 'gate', gate: 'before-gateways' },
  decisions: ['approve'],
  ...over,
});
const approvers = (): Approver[] => [
  { name: 'alice', key: alice.line },
  { name: 'bob', key: bob.line },
];
const ctx = (over: Partial<CheckContext> = {}): CheckContext => ({ approvers: approvers(), now: NOW, maxAgeMs: 15 * 60_000, used: [], ...over });

describe('SSH keys and SSHSIG signatures against OpenSSH', () => {
  it('every supported key type: fingerprint as ssh-keygen -l prints it, ssh-keygen -Y sign verifies, a changed byte or namespace does not', () => {
    const made = [
      alice,
      keys.make('p256', { type: 'ecdsa', bits: 256 }),
      keys.make('p384', { type: 'ecdsa', bits: 384 }),
      keys.make('p521', { type: 'ecdsa', bits: 521 }),
      keys.make('rsa', { type: 'rsa', bits: 3072 }),
    ];
    const text = formatStatement(statement());
    for (const k of made) {
      const pub = parsePublicKey(k.line);
      assert.equal(pub.fingerprint, sshKeygenFingerprint(k.pub), `${k.name}: fingerprint`);
      assert.equal(pub.comment, `${k.name}@test`);
      const armored = sshKeygenSign(k.file, text);
      const sig = parseSignature(armored);
      assert.equal(sig.publicKey.fingerprint, pub.fingerprint, `${k.name}: the signature names its key`);
      assert.equal(sig.namespace, 'tyk-upgrade');
      assert.ok(verifySignature(sig, text, 'tyk-upgrade'), `${k.name}: verifies`);
      assert.ok(!verifySignature(sig, text.replace('CHG-1234', 'CHG-1235'), 'tyk-upgrade'), `${k.name}: a changed statement does not`);
      assert.ok(!verifySignature(sig, text, 'git'), `${k.name}: another namespace does not`);
      const other = parseSignature(sshKeygenSign(k.file, text, {}, 'file'));
      assert.ok(!verifySignature(other, text, 'tyk-upgrade'), `${k.name}: a signature made for namespace "file" does not count`);
    }
  });

  it('a key with a passphrase signs through ssh-agent from its .pub (the private key is never read); ssh-keygen -Y verify accepts it', async () => {
    const agent = await keys.agent();
    try {
      agent.add(bob, 'correct horse battery staple');
      const saved = process.env.SSH_AUTH_SOCK;
      process.env.SSH_AUTH_SOCK = agent.env.SSH_AUTH_SOCK;
      try {
        const text = formatStatement(statement({ name: 'bob' }));
        assert.equal((await signingPublicKey(bob.pub)).fingerprint, sshKeygenFingerprint(bob.pub));
        const signed = await signStatement(bob.pub, text);
        assert.equal(signed.statement, text);
        assert.ok(!signed.signature.includes(bob.secret.split('\n')[1]), 'no private key material in the signature');
        const check = sshKeygenVerify([{ name: 'bob', line: bob.line }], 'bob', text, signed.signature, keys.dir);
        assert.ok(check.ok, check.output);
        assert.match(check.output, /Good "tyk-upgrade" signature for bob with ED25519 key SHA256:/);
        assert.equal(checkSigned(signed, expected({ name: 'bob' }), ctx()).ok, true);
      } finally {
        process.env.SSH_AUTH_SOCK = saved;
      }
    } finally {
      await agent.stop();
    }
  });

  it('without the agent, the passphrase key cannot sign unattended: a clear error, no prompt left hanging', async () => {
    const saved = process.env.SSH_AUTH_SOCK;
    delete process.env.SSH_AUTH_SOCK;
    try {
      await assert.rejects(signStatement(bob.file, 'x\n'), /ssh-keygen could not sign: .*passphrase.*ssh-agent/);
    } finally {
      if (saved !== undefined) process.env.SSH_AUTH_SOCK = saved;
    }
  });

  it('our signature of a statement is what ssh-keygen -Y verify accepts, for the approver named, and refuses for another', async () => {
    const text = formatStatement(statement({ comment: 'line one\nline two \\ with a backslash' }));
    const signed = await signStatement(alice.file, text);
    const list = [
      { name: 'alice', line: alice.line },
      { name: 'bob', line: bob.line },
    ];
    assert.ok(sshKeygenVerify(list, 'alice', text, signed.signature, keys.dir).ok);
    assert.equal(sshKeygenVerify(list, 'bob', text, signed.signature, keys.dir).ok, false);
    assert.equal(sshKeygenVerify(list, 'alice', text.replace('line one', 'line 1'), signed.signature, keys.dir).ok, false);
  });

  it('key lines and signatures that are not what they claim are refused with a message saying what is wrong', () => {
    assert.throws(() => parsePublicKey('alice@laptop'), /not an OpenSSH public key/);
    assert.throws(() => parsePublicKey(`ssh-rsa ${alice.line.split(' ')[1]}`), /says ssh-rsa but its data is a ssh-ed25519 key/);
    assert.throws(() => parsePublicKey('ssh-ed25519 AAAA!!!'), /not valid base64/);
    const small = keys.make('small', { type: 'rsa', bits: 1024 });
    assert.throws(() => parsePublicKey(small.line), /RSA key has 1024 bits; use 2048 or more/);
    // A FIDO key line, built as OpenSSH writes it (no security key is needed to refuse one).
    const sk = Buffer.concat(
      ['sk-ssh-ed25519@openssh.com', Buffer.alloc(32, 7), 'ssh:'].map((p) => {
        const b = Buffer.from(p);
        const n = Buffer.alloc(4);
        n.writeUInt32BE(b.length);
        return Buffer.concat([n, b]);
      }),
    );
    assert.throws(() => parsePublicKey(`sk-ssh-ed25519@openssh.com ${sk.toString('base64')}`), /security key\) signatures are not supported/);
    assert.throws(
      () => parseSignature('hello'),
      (e: unknown) => e instanceof SshFormatError && /BEGIN SSH SIGNATURE/.test(e.message),
    );
    const good = sshKeygenSign(alice.file, 'x');
    const lines = good.trim().split('\n');
    assert.throws(() => parseSignature([lines[0], lines[1].slice(0, 20), lines[lines.length - 1]].join('\n')), /truncated|base64/);
    assert.equal(signatureId(good), signatureId(good.replace(/\n/g, '\r\n')), 'the id ignores line endings');
  });
});

describe('the statement', () => {
  it('is a fixed line format that round-trips, escapes line breaks, and refuses anything not canonical', () => {
    const s = statement({ comment: 'a\nb\\nc\r' });
    const text = formatStatement(s);
    assert.equal(
      text,
      [
        'tyk-upgrade statement v1',
        'workflow: tyk-upgrade-prod',
        'upgrade: 0194f6a2-1c1e-7d3b-9a55-3c2d1e0f4a11',
        'subject: gate before-gateways',
        'decision: approve',
        'name: alice',
        'comment: a\\nb\\\\nc\\r',
        `time: ${s.time}`,
        '',
      ].join('\n'),
    );
    assert.deepEqual(parseStatement(text), s);
    const start = formatStatement(statement({ subject: { kind: 'start' }, decision: 'start', upgradeId: undefined, planHash: 'sha256:ab' }));
    assert.match(start, /^workflow: .*\nplan: sha256:ab\nsubject: start\ndecision: start\n/m);
    assert.equal(parseStatement(start).planHash, 'sha256:ab');
    const bad = (t: string, re: RegExp) =>
      assert.throws(
        () => parseStatement(t),
        (e: unknown) => e instanceof StatementError && re.test(e.message),
      );
    bad(text.replace('approve', 'continue'), /"continue" is not a decision for gate before-gateways; it may be approve, reject, reject-rollback/);
    bad(text.replace('gate before-gateways', 'gate before-lunch'), /"before-lunch" is not a gate/);
    bad(text.replace('upgrade:', 'plan:'), /must name the upgrade/);
    bad(text.replace(/time: .*/, 'time: yesterday'), /not an ISO time/);
    bad(text.replace('name: alice', 'name: '), /names nobody/);
    bad(text.replace('name: alice', 'name: al\\ice'), /not in canonical form/);
    bad(`${text}extra: 1\n`, /must have 8 lines/);
    bad(text.slice(0, -1), /must have 8 lines|line feed/);
  });

  it('the plan hash is the same whatever the key order, and differs when any value does', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ y: 2, x: undefined }], c: 'x' }), '{"a":[{"y":2}],"b":1,"c":"x"}');
    assert.equal(contentHash({ a: 1, b: 2 }), contentHash({ b: 2, a: 1 }));
    assert.notEqual(contentHash({ a: 1, b: 2 }), contentHash({ a: 1, b: 3 }));
    assert.match(contentHash({}), /^sha256:[0-9a-f]{64}$/);
  });
});

describe('checking a signed decision (what the workflow refuses, and why)', () => {
  const sign = (s: Statement, key: TestKey = alice) => {
    const text = formatStatement(s);
    return { statement: text, signature: sshKeygenSign(key.file, text) };
  };

  it('a good one verifies, with the name from the plan, the fingerprint and the exact text to re-check', () => {
    const signed = sign(statement());
    const r = checkSigned(signed, expected({ name: 'alice', comment: 'CHG-1234' }), ctx());
    assert.ok(r.ok);
    assert.deepEqual(
      { ...r.signer, signature: undefined },
      {
        name: 'alice',
        fingerprint: sshKeygenFingerprint(alice.pub),
        keyType: 'ssh-ed25519',
        verified: true,
        signedAt: statement().time,
        statement: signed.statement,
        signature: undefined,
      },
    );
  });

  it('each way a decision can be wrong is refused with its own type and a message saying which', () => {
    const good = sign(statement());
    const refused = (signed: { statement: string; signature: string } | undefined, exp: Expected, c: CheckContext, type: string, re: RegExp) => {
      const r = checkSigned(signed, exp, c);
      assert.equal(r.ok, false, `expected ${type}`);
      if (r.ok) return;
      assert.equal(r.type, type, r.message);
      assert.match(r.message, re);
    };
    refused(undefined, expected(), ctx(), SignatureRefusal.unsigned, /requires signed decisions and this one is not signed: sign it with `--sign-key/);
    refused({ statement: good.statement, signature: 'nope' }, expected(), ctx(), SignatureRefusal.malformed, /malformed: is not an SSH signature/);
    refused(
      { ...good, statement: good.statement.replace('decision: approve', 'decision: approve ') },
      expected(),
      ctx(),
      SignatureRefusal.malformed,
      /malformed/,
    );
    refused(
      { statement: good.statement, signature: sshKeygenSign(alice.file, good.statement, {}, 'git') },
      expected(),
      ctx(),
      SignatureRefusal.malformed,
      /namespace "git"; sign with `ssh-keygen -Y sign -n tyk-upgrade`/,
    );
    refused(
      sign(statement(), eve),
      expected(),
      ctx(),
      SignatureRefusal.unknownKey,
      /signed with key SHA256:\S+, which is not an approver of this upgrade \(the plan's approvers: alice SHA256:/,
    );
    refused(
      { ...good, statement: good.statement.replace('CHG-1234', 'CHG-9999') },
      expected(),
      ctx(),
      SignatureRefusal.invalid,
      /signature of alice's key SHA256:\S+ does not verify over this statement: it was changed after it was signed/,
    );
    refused(
      sign(statement({ upgradeId: 'an-earlier-run' })),
      expected(),
      ctx(),
      SignatureRefusal.otherUpgrade,
      /signed for tyk-upgrade-prod \(upgrade an-earlier-run\), not for this one/,
    );
    refused(sign(statement({ workflowId: 'tyk-upgrade-staging' })), expected(), ctx(), SignatureRefusal.otherUpgrade, /tyk-upgrade-staging/);
    refused(
      sign(statement({ subject: { kind: 'gate', gate: 'before-pump' } })),
      expected(),
      ctx(),
      SignatureRefusal.otherDecision,
      /decides "approve" for gate before-pump, but this is approve for gate before-gateways/,
    );
    refused(
      good,
      expected({ decisions: ['reject', 'reject-rollback'] }),
      ctx(),
      SignatureRefusal.otherDecision,
      /decides "approve" .* but this is reject or reject-rollback/,
    );
    refused(sign(statement({ name: 'bob' })), expected(), ctx(), SignatureRefusal.mismatch, /signed as "bob" but the key SHA256:\S+ is alice's/);
    refused(
      good,
      expected({ comment: 'something else' }),
      ctx(),
      SignatureRefusal.mismatch,
      /comment "something else" differs from the signed statement's "CHG-1234"/,
    );
    refused(good, expected({ name: 'mallory' }), ctx(), SignatureRefusal.mismatch, /name "mallory" differs/);
    refused(good, expected(), ctx({ used: [signatureId(good.signature)] }), SignatureRefusal.reused, /already used in this upgrade/);
    refused(
      good,
      expected(),
      ctx({ now: NOW + 15 * 60_000 }),
      SignatureRefusal.expired,
      /signed at .*, 960 s ago; the plan accepts statements up to 900 s old/,
    );
    refused(
      sign(statement({ time: new Date(NOW + 10 * 60_000).toISOString() })),
      expected(),
      ctx(),
      SignatureRefusal.expired,
      /600 s ahead of the workflow's clock/,
    );
  });
});

describe('approvers in the plan', () => {
  const PLAN = (extra: string) => `stack: prod\ngateway:\n  version: v5.3.0\n  instances:\n    - container: gw-1\n      url: http://127.0.0.1:8080\n${extra}`;
  const problems = (text: string) => {
    try {
      parsePlanText(text, 'p.yaml');
    } catch (err) {
      assert.ok(err instanceof PlanError);
      return err.problems.map((p) => `${p.line}: ${p.field}: ${p.message}`);
    }
    return assert.fail('refused');
  };

  it('reach the workflow input as name and key (without the comment), with the signature settings', () => {
    const text = PLAN(
      `approvals: 2\napprovers:\n  - name: alice\n    key: ${alice.line}\n  - name: bob\n    key: ${bob.line}\nrequireSignatures: true\nsignatureMaxAge: 5m\n`,
    );
    const input = toUpgradeInput(parsePlanText(text, 'p.yaml'));
    assert.deepEqual(input.approvers, [
      { name: 'alice', key: alice.line.replace(/ alice@test$/, '') },
      { name: 'bob', key: bob.line.replace(/ bob@test$/, '') },
    ]);
    assert.equal(input.requireSignatures, true);
    assert.equal(input.signatureMaxAgeMs, 300_000);
    const defaults = toUpgradeInput(parsePlanText(PLAN(`approvers:\n  - { name: alice, key: "${alice.line}" }\n`), 'p.yaml'));
    assert.equal(defaults.signatureMaxAgeMs, 15 * 60_000);
    assert.equal(defaults.requireSignatures, undefined);
  });

  it('wrong approver lists are refused at the line to fix', () => {
    assert.deepEqual(problems(PLAN('approvers:\n  - name: alice\n    key: ssh-ed25519 nonsense\n')), [
      '9: approvers[0].key: is not an OpenSSH public key; write it as in id_ed25519.pub: "ssh-ed25519 AAAA... name@host"',
    ]);
    assert.deepEqual(problems(PLAN(`approvers:\n  - name: alice\n    key: ${alice.line}\n  - name: alice\n    key: ${alice.line}\n`)), [
      '10: approvers[1].name: "alice" is already approvers[0]',
      `11: approvers[1].key: this key (${sshKeygenFingerprint(alice.pub)}) is already approvers[0]'s: one key per person`,
    ]);
    assert.deepEqual(problems(PLAN('requireSignatures: true\n')), ['7: requireSignatures: needs approvers: (a name and an OpenSSH public key each)']);
    assert.deepEqual(
      problems(
        PLAN(
          `approvals: 2\napproverMustDifferFromStarter: true\nrequireSignatures: true\napprovers:\n  - name: alice\n    key: ${alice.line}\n  - name: bob\n    key: ${bob.line}\n`,
        ),
      ),
      ['11: approvers: lists 2 approvers, but signed gates need 3 (approvals: 2, plus the starter, who may not approve)'],
    );
    assert.deepEqual(problems(PLAN(`approvers:\n  - name: alice\n    key: ${alice.line}\nsignatureMaxAge: 2s\n`)), [
      '10: signatureMaxAge: must be between 10s and 24h',
    ]);
    assert.match(problems(PLAN(`approvers:\n  - name: alice\n    keys: ${alice.line}\n`)).join('\n'), /unknown key \(did you mean "key"\?\)/);
  });

  it('--sign-key: the key must be an approver of the upgrade, and --by, when given, its owner', async () => {
    const input = { stack: 'prod', approvers: approvers() } as UpgradeInput;
    const s = await approverSigner(input, { signKey: alice.file });
    assert.equal(s?.name, 'alice');
    assert.equal(await approverSigner(input, {}), undefined);
    const unsignedPlan = { stack: 'old' } as UpgradeInput;
    process.env.TYK_UPGRADE_SIGN_KEY = alice.file;
    try {
      assert.equal((await approverSigner(input, {}))?.name, 'alice', 'TYK_UPGRADE_SIGN_KEY is the default key');
      assert.equal(await approverSigner(unsignedPlan, {}), undefined, 'and is ignored for a plan without approvers');
    } finally {
      delete process.env.TYK_UPGRADE_SIGN_KEY;
    }
    await assert.rejects(
      approverSigner(unsignedPlan, { signKey: alice.file }),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && /has no approvers/.test(e.message),
    );
    await assert.rejects(
      approverSigner(input, { signKey: eve.file }),
      (e: unknown) => e instanceof CliError && e.exitCode === 11 && /is not an approver/.test(e.message),
    );
    await assert.rejects(
      approverSigner(input, { signKey: alice.file, by: 'bob' }),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && /alice's in the plan/.test(e.message),
    );
    await assert.rejects(
      approverSigner(input, { signKey: '/nonexistent/key' }),
      (e: unknown) => e instanceof CliError && e.exitCode === 2 && /cannot read the signing key/.test(e.message),
    );
  });
});
