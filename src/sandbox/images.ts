// Which images a sandbox runs, in one place: each source's gateway, pump and Redis repositories, how a person gets
// them when they are missing, and what "auto" picks. The package carries no images and no way to build them: real
// Tyk built from Tyk's source and the stand-ins come from the repository's rig, Tyk's published images from the
// internet.
import type Docker from 'dockerode';
import { imageAvailable } from '../activities/images';
import { REAL_TYK_REPOSITORY } from '../shared/names';

/** In the order "auto" tries the local ones: real Tyk first, the stand-ins (tests, faults) only when it is absent. */
export const IMAGE_SOURCES = ['real', 'standin', 'tyk'] as const;
export type ConcreteSource = (typeof IMAGE_SOURCES)[number];
export type ImageSource = 'auto' | ConcreteSource;

export interface SandboxImages {
  source: ConcreteSource;
  gateway: string;
  pump?: string;
  redis: string;
}

export interface ImageWish {
  gatewayVersion: string;
  pumpVersion?: string;
  /** The registry holding the stand-ins. */
  registry: string;
}

interface Source {
  /** For people: "stand-in images from the local registry". */
  label: string;
  repos(registry: string): { gateway: string; pump: string; redis: string };
  /** What to do when one of them is missing. */
  howToGet(registry: string): string;
}

// The sandbox's Redis in both local sources: the rig's image of Debian's redis-server (rig/standins.sh redis).
const RIG_REDIS = (r: string) => `${r}/library/redis:7`;

const SOURCES: Record<ConcreteSource, Source> = {
  real: {
    label: "real Tyk built by the rig from Tyk's source",
    repos: (r) => ({ gateway: `${r}/${REAL_TYK_REPOSITORY.gateway}`, pump: `${r}/${REAL_TYK_REPOSITORY.pump}`, redis: RIG_REDIS(r) }),
    howToGet: (r) =>
      `real Tyk is built by the tyk-upgrade repository's rig from Tyk's source archives, not shipped in the package: in a clone of it run \`TYK_SRC_DIR=<folder of the archives> bash rig/setup.sh demo\` (or \`bash rig/tyk-real.sh gateway:vX.Y.Z pump:vX.Y.Z\` for other versions), which pushes them to ${r} (or pass --registry where they are)`,
  },
  standin: {
    label: 'stand-in images from the local registry',
    repos: (r) => ({ gateway: `${r}/standin/tyk-gateway`, pump: `${r}/standin/tyk-pump`, redis: RIG_REDIS(r) }),
    howToGet: (r) =>
      `the stand-ins are built by the tyk-upgrade repository's rig, not shipped in the package: in a clone of it run \`bash rig/setup.sh test\`, which pushes them to ${r} (or pass --registry where they are)`,
  },
  tyk: {
    label: "Tyk's published images",
    repos: () => ({ gateway: 'docker.tyk.io/tyk-gateway/tyk-gateway', pump: 'docker.tyk.io/tyk-pump/tyk-pump', redis: 'redis:7' }),
    howToGet: () =>
      'these are pulled from docker.tyk.io and Docker Hub, so the Docker engine needs internet access (or a registry mirror); without it build real Tyk with the rig (--images real)',
  },
};

export const sourceLabel = (source: ConcreteSource) => SOURCES[source].label;

function imagesFor(source: ConcreteSource, wish: ImageWish): SandboxImages {
  const repos = SOURCES[source].repos(wish.registry);
  return {
    source,
    gateway: `${repos.gateway}:${wish.gatewayVersion}`,
    pump: wish.pumpVersion ? `${repos.pump}:${wish.pumpVersion}` : undefined,
    redis: repos.redis,
  };
}

/** Thrown when an image cannot be had: the message names each missing image, why, and how to get it. */
export class ImagesMissing extends Error {}

/**
 * The images for `source`, each checked on the engine or its registry. "auto": the first local source (real Tyk,
 * then the stand-ins) whose registry has its gateway at the sandbox's default version (so a version it lacks is
 * reported as missing rather than fetched from the internet), else Tyk's published images.
 */
export async function chooseImages(docker: Docker, source: ImageSource, wish: ImageWish, probeVersion: string): Promise<SandboxImages> {
  let chosen: ConcreteSource | undefined = source === 'auto' ? undefined : source;
  const tried: string[] = [];
  for (const local of source === 'auto' ? (['real', 'standin'] as const) : []) {
    const probe = imagesFor(local, { ...wish, gatewayVersion: probeVersion }).gateway;
    const why = await imageAvailable(docker, probe);
    if (!why) {
      chosen = local;
      break;
    }
    tried.push(`${probe}: ${why}`);
  }
  const autoNote = chosen
    ? ''
    : `\n(--images auto tried these because none of the local ones is available either: ${tried.join('; ')}. ${capitalise(SOURCES.real.howToGet(wish.registry))}.)`;
  chosen ??= 'tyk';
  const images = imagesFor(chosen, wish);
  const missing: string[] = [];
  for (const [role, image] of [
    ['gateway', images.gateway],
    ['pump', images.pump],
    ['redis', images.redis],
  ] as const) {
    const why = image && (await imageAvailable(docker, image));
    if (why) missing.push(`  ${role} ${image}: ${why}`);
  }
  if (missing.length) {
    throw new ImagesMissing(`${sourceLabel(chosen)} missing:\n${missing.join('\n')}\n${capitalise(SOURCES[chosen].howToGet(wish.registry))}.${autoNote}`);
  }
  return images;
}

const capitalise = (s: string) => s[0].toUpperCase() + s.slice(1);
