// Signing a statement with the approver's SSH key through OpenSSH's own `ssh-keygen -Y sign`: given a private key
// file it signs with that (asking for its passphrase on the terminal); given a public key file it signs through
// the running ssh-agent, and the private key is never read by anyone but the agent. Never by this process.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePublicKey, parseSignature, SshFormatError, verifySignature, type PublicKey } from '../shared/sshsig';
import { SIGNATURE_NAMESPACE, type Signed } from '../shared/statement';

/** The key file could not sign: the message says why and what to do. */
export class SigningError extends Error {}

export const SSH_KEYGEN = process.env.TYK_UPGRADE_SSH_KEYGEN ?? 'ssh-keygen';

/**
 * The public half of the key at `keyFile`: the file itself when it is a public key, else `<keyFile>.pub`, else
 * what `ssh-keygen -y` derives (which may ask for the passphrase).
 */
export async function signingPublicKey(keyFile: string): Promise<PublicKey> {
  const read = async (f: string) => (await readFile(f, 'utf8').catch(() => undefined))?.trim();
  const own = await read(keyFile);
  if (own === undefined) throw new SigningError(`cannot read the signing key ${keyFile}: check --sign-key (or TYK_UPGRADE_SIGN_KEY)`);
  for (const text of [own, await read(`${keyFile}.pub`)]) {
    if (text?.startsWith('ssh-') || text?.startsWith('ecdsa-')) return asPublicKey(text, keyFile);
  }
  if (!own.includes('PRIVATE KEY')) throw new SigningError(`${keyFile} is neither an OpenSSH public key nor a private key file`);
  const derived = await run(['-y', '-f', keyFile], 'read the key');
  return asPublicKey(derived.trim(), keyFile);
}

function asPublicKey(line: string, keyFile: string): PublicKey {
  try {
    return parsePublicKey(line);
  } catch (err) {
    if (err instanceof SshFormatError) throw new SigningError(`the signing key ${keyFile}: ${err.message}`);
    throw err;
  }
}

/** Signs the statement in the tyk-upgrade namespace, then checks the signature with our own verifier. */
export async function signStatement(keyFile: string, statement: string): Promise<Signed> {
  // A file, not stdin: stdin stays the terminal, where ssh-keygen asks for a passphrase when it needs one.
  const dir = await mkdtemp(join(tmpdir(), 'tyk-upgrade-sign-'));
  let signature: string;
  try {
    await writeFile(join(dir, 'statement'), statement, { mode: 0o600 });
    await run(['-Y', 'sign', '-n', SIGNATURE_NAMESPACE, '-f', keyFile, join(dir, 'statement')], 'sign');
    signature = await readFile(join(dir, 'statement.sig'), 'utf8');
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  let ok = false;
  try {
    ok = verifySignature(parseSignature(signature), statement, SIGNATURE_NAMESPACE);
  } catch (err) {
    if (!(err instanceof SshFormatError)) throw err;
    throw new SigningError(`ssh-keygen made a signature this tool cannot check: ${err.message}`);
  }
  if (!ok) throw new SigningError('ssh-keygen made a signature that does not verify; is the key file the one you meant?');
  return { statement, signature: signature.trim() };
}

/**
 * ssh-keygen with this terminal as stdin, for a passphrase prompt; with no terminal, nothing (it would read a
 * passphrase from whatever stdin is, and wait). stdout is the result, stderr only explains a failure.
 */
function run(args: string[], doing: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(SSH_KEYGEN, args, { stdio: [process.stdin.isTTY ? 'inherit' : 'ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', (e: NodeJS.ErrnoException) =>
      reject(
        new SigningError(
          e.code === 'ENOENT'
            ? `cannot sign: ${SSH_KEYGEN} is not installed (Debian: apt-get install openssh-client)`
            : `cannot run ${SSH_KEYGEN}: ${e.message}`,
        ),
      ),
    );
    child.on('close', (code) => {
      if (code === 0) return resolve(out);
      const why = err
        .split('\n')
        .map((l) => l.trim())
        .map((l) => l.replace(/^Enter passphrase[^:]*: */, ''))
        .filter((l) => l && !/^Signing file /.test(l))
        .join('; ');
      reject(new SigningError(`${SSH_KEYGEN} could not ${doing}: ${why || `exit code ${code}`}${hint(why)}`));
    });
  });
}

function hint(why: string): string {
  if (/agent/i.test(why)) return ' (give the public key file with the key loaded in ssh-agent: ssh-add KEY; or the private key file itself)';
  if (/passphrase|incorrect/i.test(why)) return ' (a key with a passphrase needs a terminal, or load it into ssh-agent with ssh-add and give the .pub file)';
  return '';
}
