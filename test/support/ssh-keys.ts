// Real SSH keys for tests, made by Debian's ssh-keygen, and a real ssh-agent holding a passphrase-protected one.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface TestKey {
  name: string;
  /** Private key file. */
  file: string;
  /** Its .pub. */
  pub: string;
  /** The public key line. */
  line: string;
  /** The private key file's text, to check it never shows up anywhere. */
  secret: string;
}

export interface TestKeys {
  dir: string;
  make(name: string, opts?: { type?: string; bits?: number; passphrase?: string }): TestKey;
  /** An ssh-agent for this folder, its socket in SSH_AUTH_SOCK of `env`. */
  agent(): Promise<{ env: Record<string, string>; add(key: TestKey, passphrase: string): void; stop(): Promise<void> }>;
  remove(): void;
}

export function testKeys(): TestKeys {
  const dir = mkdtempSync(join(tmpdir(), 'tyk-upgrade-keys-'));
  const agents: ChildProcess[] = [];
  return {
    dir,
    make(name, opts = {}) {
      const file = join(dir, name);
      const args = ['-q', '-t', opts.type ?? 'ed25519', '-N', opts.passphrase ?? '', '-C', `${name}@test`, '-f', file];
      if (opts.bits) args.push('-b', String(opts.bits));
      execFileSync('ssh-keygen', args);
      return { name, file, pub: `${file}.pub`, line: readFileSync(`${file}.pub`, 'utf8').trim(), secret: readFileSync(file, 'utf8') };
    },
    async agent() {
      const sock = join(dir, `agent-${agents.length}.sock`);
      const child = spawn('ssh-agent', ['-D', '-a', sock], { stdio: 'ignore' });
      agents.push(child);
      const env = { SSH_AUTH_SOCK: sock };
      // ssh-add -l exits 1 for "no identities" (the agent answers) and 2 while it cannot reach the agent.
      const answers = () => {
        try {
          execFileSync('ssh-add', ['-l'], { env: { ...process.env, ...env }, stdio: 'ignore' });
          return true;
        } catch (err) {
          return (err as { status?: number }).status === 1;
        }
      };
      for (let i = 0; !answers(); i++) {
        if (i > 200) throw new Error(`ssh-agent did not answer on ${sock}`);
        await new Promise((r) => setTimeout(r, 50));
      }
      return {
        env,
        add(key, passphrase) {
          // ssh-add asks through SSH_ASKPASS when forced to: the passphrase never touches a command line.
          const askpass = join(dir, 'askpass.sh');
          writeFileSync(join(dir, 'passphrase'), passphrase, { mode: 0o600 });
          writeFileSync(askpass, `#!/bin/sh\ncat '${join(dir, 'passphrase')}'\n`);
          chmodSync(askpass, 0o700);
          execFileSync('ssh-add', [key.file], {
            env: { ...process.env, ...env, SSH_ASKPASS: askpass, SSH_ASKPASS_REQUIRE: 'force', DISPLAY: ':0' },
            stdio: ['ignore', 'ignore', 'pipe'],
          });
          rmSync(join(dir, 'passphrase'));
        },
        stop: () =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null) return resolve();
            child.once('exit', () => resolve());
            child.kill('SIGTERM');
          }),
      };
    },
    remove() {
      for (const a of agents) if (a.exitCode === null) a.kill('SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** `ssh-keygen -Y verify` of a statement against an allowed_signers file naming each key's owner. */
export function sshKeygenVerify(
  keys: { name: string; line: string }[],
  signer: string,
  statement: string,
  signature: string,
  dir: string,
): { ok: boolean; output: string } {
  const allowed = join(dir, 'allowed_signers');
  const sig = join(dir, 'check.sig');
  writeFileSync(allowed, keys.map((k) => `${k.name} namespaces="tyk-upgrade" ${k.line}`).join('\n'));
  writeFileSync(sig, signature);
  try {
    const output = execFileSync('ssh-keygen', ['-Y', 'verify', '-f', allowed, '-I', signer, '-n', 'tyk-upgrade', '-s', sig], {
      input: statement,
      stdio: ['pipe', 'pipe', 'pipe'],
    }).toString();
    return { ok: true, output };
  } catch (err) {
    const e = err as { stdout?: Buffer; stderr?: Buffer };
    return { ok: false, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** `SHA256:...` as `ssh-keygen -l` prints it for a key file. */
export function sshKeygenFingerprint(pub: string): string {
  return execFileSync('ssh-keygen', ['-l', '-f', pub]).toString().split(' ')[1];
}

/** A signature made directly by ssh-keygen (not through our CLI), over any text. */
export function sshKeygenSign(key: string, text: string, env: Record<string, string> = {}, namespace = 'tyk-upgrade'): string {
  const dir = mkdtempSync(join(tmpdir(), 'tyk-upgrade-sig-'));
  try {
    writeFileSync(join(dir, 'msg'), text);
    execFileSync('ssh-keygen', ['-Y', 'sign', '-f', key, '-n', namespace, join(dir, 'msg')], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    return readFileSync(join(dir, 'msg.sig'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
