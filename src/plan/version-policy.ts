// Which target versions a plan may name. An upgrade must be repeatable and reviewable, so the target is one exact
// release: "v5.3.0" or "5.3.0". Moving tags ("5.3", "latest") are refused; pre-releases ("v5.3.0-rc1") only when
// the plan says allowPrerelease: true (or --allow-prerelease is given).
import { parseVersion, tagForVersion } from '../shared/version';

export type VersionCheck = { ok: true; tag: string } | { ok: false; message: string };

/**
 * `prereleaseHint` says how to allow pre-releases where the value came from (plan key or CLI flag);
 * `example` is a release of the same product, for the messages.
 */
export function checkTargetVersion(raw: unknown, allowPrerelease: boolean, prereleaseHint: string, example = 'v5.3.0'): VersionCheck {
  const text = typeof raw === 'number' ? String(raw) : typeof raw === 'string' ? raw.trim() : undefined;
  if (text === undefined || text === '') return { ok: false, message: `must be an exact release such as ${example}` };
  if (/^latest$/i.test(text)) {
    return { ok: false, message: `"${text}" is not allowed: it moves, so the upgrade would not be repeatable; name an exact release such as ${example}` };
  }
  if (/^v?\d+(\.\d+)?$/.test(text)) {
    return {
      ok: false,
      message: `"${text}" names a release line, not a release (that tag moves with every patch); name an exact release such as ${text.replace(/^v?/, 'v')}${text.includes('.') ? '' : '.0'}.0`,
    };
  }
  const v = parseVersion(text);
  if (!v) return { ok: false, message: `"${text}" is not a version; write an exact release such as ${example} or ${example.slice(1)}` };
  if (v.suffix && !allowPrerelease) {
    return {
      ok: false,
      message: `"${text}" is a pre-release; ${prereleaseHint} to upgrade to it, or name a release such as v${v.major}.${v.minor}.${v.patch}`,
    };
  }
  return { ok: true, tag: tagForVersion(text) };
}
