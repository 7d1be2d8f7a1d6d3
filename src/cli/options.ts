// Checking option values the way plan files are checked, but reported as command-line errors (exit 2).
import { InvalidArgumentError } from 'commander';
import { parseDuration } from '../plan/duration';
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
