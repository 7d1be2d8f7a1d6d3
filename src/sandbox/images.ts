// Which images a sandbox runs, in one place: each source's gateway, pump and Redis repositories, how a person gets
// them when they are missing, and what "auto" picks. The package carries no images and no way to build them: the
// stand-ins come from the repository's rig, Tyk's published images from the internet.
import type Docker from 'dockerode';
import { imageAvailable } from '../activities/images';

export const IMAGE_SOURCES = ['standin', 'tyk'] as const;
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

const SOURCES: Record<ConcreteSource, Source> = {
  standin: {
    label: 'stand-in images from the local registry',
    repos: (r) => ({ gateway: `${r}/tyk-gateway/tyk-gateway`, pump: `${r}/tyk-pump/tyk-pump`, redis: `${r}/library/redis:7` }),
    howToGet: (r) =>
      `the stand-ins are built by the tyk-upgrade repository's rig, not shipped in the package: in a clone of it run \`bash rig/setup.sh demo\`, which pushes them to ${r} (or pass --registry where they are)`,
  },
  tyk: {
    label: "Tyk's published images",
    repos: () => ({ gateway: 'docker.tyk.io/tyk-gateway/tyk-gateway', pump: 'docker.tyk.io/tyk-pump/tyk-pump', redis: 'redis:7' }),
    howToGet: () =>
      'these are pulled from docker.tyk.io and Docker Hub, so the Docker engine needs internet access (or a registry mirror); without it use the stand-ins (--images standin)',
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
 * The images for `source`, each checked on the engine or its registry. "auto": the stand-ins when the registry has
 * their gateway (judged by the sandbox's default version, so a version it lacks is reported as missing rather than
 * fetched from the internet), else Tyk's published images.
 */
export async function chooseImages(docker: Docker, source: ImageSource, wish: ImageWish, probeVersion: string): Promise<SandboxImages> {
  let chosen: ConcreteSource = source === 'auto' ? 'standin' : source;
  let autoNote = '';
  if (source === 'auto') {
    const probe = imagesFor('standin', { ...wish, gatewayVersion: probeVersion }).gateway;
    const why = await imageAvailable(docker, probe);
    if (why) {
      chosen = 'tyk';
      autoNote = `\n(--images auto tried these because the stand-in ${probe} is not available either: ${why}. ${capitalise(SOURCES.standin.howToGet(wish.registry))}.)`;
    }
  }
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
