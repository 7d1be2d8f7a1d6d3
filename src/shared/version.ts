// Tyk versions: image tags and plugin names carry a leading "v" (v5.3.0), /hello does not (5.3.0).
// Pure: used by the workflow, the activities and the plan validator.

export interface Version {
  major: number;
  minor: number;
  patch: number;
  /** Pre-release or build suffix without its dash, e.g. "dev" in v5.5.0-dev; empty for a release. */
  suffix: string;
}

const VERSION_RE = /^v?(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/;

export function parseVersion(text: string): Version | undefined {
  const m = VERSION_RE.exec(text.trim());
  if (!m) return undefined;
  return { major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3]), suffix: m[4] ?? '' };
}

/** "5.3.0" for any of "v5.3.0", "5.3.0"; the input unchanged when it is not a version. */
export function normaliseVersion(text: string): string {
  const v = parseVersion(text);
  if (!v) return text.trim();
  return `${v.major}.${v.minor}.${v.patch}${v.suffix ? `-${v.suffix}` : ''}`;
}

/** The image tag for a version: always with the leading "v", as Tyk tags its images. */
export function tagForVersion(text: string): string {
  return `v${normaliseVersion(text)}`;
}

export function sameVersion(a: string, b: string): boolean {
  return normaliseVersion(a) === normaliseVersion(b);
}

/** Negative when a < b. A release sorts after its pre-releases (5.5.0-dev < 5.5.0). */
export function compareVersions(a: Version, b: Version): number {
  if (a.major !== b.major) return a.major - b.major;
  if (a.minor !== b.minor) return a.minor - b.minor;
  if (a.patch !== b.patch) return a.patch - b.patch;
  if (a.suffix === b.suffix) return 0;
  if (!a.suffix) return 1;
  if (!b.suffix) return -1;
  return a.suffix < b.suffix ? -1 : 1;
}

/** Gateways with a /ready endpoint: 5.8.3 and later 5.8.x, and 5.9.0 onwards (standins/README.md; test/contract.test.ts checks it on the real 5.8.10). */
export function gatewayHasReady(text: string): boolean {
  const v = parseVersion(text);
  if (!v) return false;
  if (v.major !== 5) return v.major > 5;
  if (v.minor === 8) return v.patch >= 3;
  return v.minor >= 9;
}

/** Splits "host:5000/repo/name:tag" into repository and tag ("latest" when absent). Digests are kept whole. */
export function splitImage(image: string): { repository: string; tag: string } {
  if (image.includes('@')) return { repository: image, tag: '' };
  const slash = image.lastIndexOf('/');
  const colon = image.lastIndexOf(':');
  if (colon > slash) return { repository: image.slice(0, colon), tag: image.slice(colon + 1) };
  return { repository: image, tag: 'latest' };
}
