// Where the CLI writes: results on stdout, notes and errors on stderr, so `--json` output stays parseable.
import { userInfo } from 'node:os';

export function print(text: string): void {
  process.stdout.write(`${text}\n`);
}

export function note(text: string): void {
  process.stderr.write(`${text}\n`);
}

/** Whether a person is at the terminal to answer questions. */
export function interactive(): boolean {
  return Boolean(process.stdin.isTTY && process.stdout.isTTY);
}

/** Who approves or rejects, when --by is not given. */
export function defaultActor(): string {
  return process.env.TYK_UPGRADE_USER ?? userInfo().username;
}
