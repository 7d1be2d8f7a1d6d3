// Checking option values the way plan files are checked, but reported as command-line errors (exit 2).
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../shared/duration';
import { checkTargetVersion } from '../plan/version-policy';
import { CliError, Exit } from './exit-codes';

/** A version given on the command line, as its image tag; same policy as in plan files. */
export function versionOption(flag: string, value: string | undefined, allowPrerelease: boolean, example: string): string | undefined {
  if (value === undefined) return undefined;
  const check = checkTargetVersion(value, allowPrerelease, 'add --allow-prerelease', example);
  if (!check.ok) throw new CliError(`${flag}: ${check.message}`, Exit.Usage);
  return check.tag;
}

/** A commander argument parser for whole numbers in a range. */
export function intIn(min: number, max: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
    return n;
  };
}

/** --label key=value, repeatable. */
export function collect(value: string, previous: string[] = []): string[] {
  if (!/^[^=\s]+(=.*)?$/.test(value)) throw new InvalidArgumentError('must be key or key=value');
  return [...previous, value];
}

/** A duration such as 30s or 2m, as milliseconds. */
export function durationOption(value: string): number {
  const d = parseDuration(value);
  if (!d.ok) throw new InvalidArgumentError(d.message);
  return d.ms;
}

/** --at: when to start, as an ISO time with its offset (2026-11-28T02:00:00+01:00, …Z) or a delay from now (+90s, +2h). */
export function startAtOption(value: string): Date {
  const text = value.trim();
  if (text.startsWith('+')) {
    const d = parseDuration(text.slice(1));
    if (!d.ok) throw new InvalidArgumentError(`${d.message} (after the +)`);
    return new Date(Date.now() + d.ms);
  }
  // A time without an offset would mean the CLI's own zone, which is rarely the one the operator thinks in.
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(text) || Number.isNaN(Date.parse(text))) {
    throw new InvalidArgumentError(
      `"${value}" is not a time; give an ISO time with its offset, such as 2026-11-28T02:00:00+01:00 or 2026-11-28T01:00:00Z, or a delay such as +30m`,
    );
  }
  const at = new Date(text);
  if (at.getTime() <= Date.now()) throw new InvalidArgumentError(`${at.toISOString()} is in the past; give a later time, or leave --at out to start now`);
  return at;
}
