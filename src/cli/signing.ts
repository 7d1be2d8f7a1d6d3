// `--sign-key`: who signs a decision, checked against the approvers of the plan the workflow runs before anything
// is sent, so a key that is not an approver's, or a --by that is not its owner's name, is refused here.
import { signingPublicKey, signStatement, SigningError } from '../client-lib/sign';
import type { StatementSigner } from '../client-lib/upgrades';
import { approverOf } from '../shared/signed-decisions';
import type { UpgradeInput } from '../shared/types';
import { CliError, Exit } from './exit-codes';

export interface SigningFlags {
  signKey?: string;
  by?: string;
}

/** --sign-key, else TYK_UPGRADE_SIGN_KEY. */
export function signKeyOf(f: SigningFlags): string | undefined {
  return f.signKey ?? (process.env.TYK_UPGRADE_SIGN_KEY || undefined);
}

/** The approver that key belongs to in this plan, and a signer for it; undefined when no key is given. */
export async function approverSigner(input: UpgradeInput, f: SigningFlags): Promise<(StatementSigner & { fingerprint: string }) | undefined> {
  const keyFile = signKeyOf(f);
  if (!keyFile) return undefined;
  // TYK_UPGRADE_SIGN_KEY is a default for plans that have approvers; for one without, it is not an error.
  if (!input.approvers?.length && !f.signKey) return undefined;
  if (!input.approvers?.length) {
    throw new CliError(
      `the upgrade of "${input.stack}" has no approvers: in its plan, so there is nobody to sign as; drop --sign-key (and TYK_UPGRADE_SIGN_KEY), or add approvers: to the plan (docs/approvals.md)`,
      Exit.Usage,
    );
  }
  const key = await signingPublicKey(keyFile).catch(asUsage);
  const name = approverOf(input.approvers, key);
  if (name === undefined) {
    throw new CliError(
      `the key ${keyFile} (${key.fingerprint}) is not an approver of this upgrade; its plan lists ${input.approvers.map((a) => a.name).join(', ')}`,
      Exit.SignatureRefused,
    );
  }
  if (f.by !== undefined && f.by !== name) {
    throw new CliError(`--by ${f.by} does not match the key: ${key.fingerprint} is ${name}'s in the plan; drop --by, or sign with your own key`, Exit.Usage);
  }
  return { name, fingerprint: key.fingerprint, sign: (statement) => signStatement(keyFile, statement).catch(asUsage) };
}

/** Required signatures without a key: said before anything is sent. */
export function needKey(input: UpgradeInput, what: string): CliError {
  return new CliError(
    `the plan of "${input.stack}" requires signed decisions: ${what} with --sign-key KEY (your private key file, or its .pub with the key in ssh-agent; or set TYK_UPGRADE_SIGN_KEY)`,
    Exit.SignatureRefused,
  );
}

function asUsage(err: unknown): never {
  if (err instanceof SigningError) throw new CliError(err.message, Exit.Usage);
  throw err;
}
