// The real Tyk builds the rig makes: which versions, where their archives are, and what the official image of each
// version looks like (read from that tag's own release workflow, goreleaser config and Dockerfiles), so an image we
// build FROM scratch matches it where the upgrade tool can see it: workdir, entrypoint, cmd, user, env, labels.

export type TykComponent = 'gateway' | 'pump';

export interface RealTykRef {
  component: TykComponent;
  /** Without the v, as Tyk reports it: 5.8.10 */
  version: string;
}

/** Every real build the test suite uses. */
export const REAL_TYK_BUILDS: RealTykRef[] = [
  { component: 'gateway', version: '5.2.0' },
  { component: 'gateway', version: '5.3.0' },
  { component: 'gateway', version: '5.8.10' },
  { component: 'pump', version: '1.9.0' },
  { component: 'pump', version: '1.12.2' },
];

/** Our images live in a repository of their own under the local registry, never beside the stand-ins. */
export const REAL_TYK_REPOSITORY: Record<TykComponent, string> = { gateway: 'tyk-real/tyk-gateway', pump: 'tyk-real/tyk-pump' };

/** Where Tyk publishes them (pulled instead of built when no archives are given). */
export const OFFICIAL_REPOSITORY: Record<TykComponent, string> = {
  gateway: 'docker.tyk.io/tyk-gateway/tyk-gateway',
  pump: 'tykio/tyk-pump-docker-pub',
};

export function refName(ref: RealTykRef): string {
  return `${ref.component}:v${ref.version}`;
}

/** `gateway:v5.3.0` (or `gateway:5.3.0`) → ref; undefined when it is not one of REAL_TYK_BUILDS. */
export function parseRef(text: string): RealTykRef | undefined {
  const m = /^(gateway|pump):v?(\d+\.\d+\.\d+)$/.exec(text.trim());
  return REAL_TYK_BUILDS.find((r) => m && r.component === m[1] && r.version === m[2]);
}

export function localImage(ref: RealTykRef, registry = process.env.REGISTRY_ADDR ?? '127.0.0.1:5000'): string {
  return `${registry}/${REAL_TYK_REPOSITORY[ref.component]}:v${ref.version}`;
}

export function officialImage(ref: RealTykRef): string {
  return `${OFFICIAL_REPOSITORY[ref.component]}:v${ref.version}`;
}

/** The archive in TYK_SRC_DIR: `tyk-gateway-v5.8.10.tar.gz`, unpacking into a folder of the same name. */
export function archiveName(ref: RealTykRef): string {
  return `tyk-${ref.component}-v${ref.version}.tar.gz`;
}

export interface ComponentLayout {
  /** The install folder (nfpm bindir), also the image's WORKDIR. */
  dir: string;
  binary: string;
  conf: string;
  cgo: boolean;
}

// cgo: the `cgo` column of each tag's .github/workflows/release.yml matrix (the gateway needs it for Go plugins;
// the pump is built static).
export const LAYOUT: Record<TykComponent, ComponentLayout> = {
  gateway: { dir: '/opt/tyk-gateway', binary: 'tyk', conf: 'tyk.conf', cgo: true },
  pump: { dir: '/opt/tyk-pump', binary: 'tyk-pump', conf: 'pump.conf', cgo: false },
};

export interface OfficialImageFacts {
  /** The base the official image starts from (what we stand for with FROM scratch). */
  base: string;
  /** USER of the official image ('' = root). */
  user: string;
  /** Owner of the install folder after the package's post-install script (`chown -R tyk:tyk` for the pump). */
  owner?: string;
  expose: string[];
  env: Record<string, string>;
  labels: Record<string, string>;
}

const DEBIAN_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DISTROLESS_ENV = { PATH: DEBIAN_PATH, SSL_CERT_FILE: '/etc/ssl/certs/ca-certificates.crt' };
// The deb's before_install.sh makes `tyk` with `useradd -r` in a fresh Debian: the first system id, 999.
const PUMP_OWNER = '999:999';

/**
 * Per version: up to 5.3.x / pump 1.9.x the images came from goreleaser's `dockers:` (ci/Dockerfile.std on Debian
 * slim, labels with {{.Version}}, no v); 5.8.x / pump 1.12.x from docker/build-push-action with
 * ci/Dockerfile.distroless (labels from docker/metadata-action, version = the git tag, with its v).
 */
export function officialFacts(ref: RealTykRef, commit: string, created: string): OfficialImageFacts {
  const key = `${ref.component}:${ref.version}`;
  const goreleaserLabels = (title: string) => ({
    'org.opencontainers.image.created': created,
    'org.opencontainers.image.title': title,
    'org.opencontainers.image.revision': commit,
    'org.opencontainers.image.version': ref.version,
  });
  switch (key) {
    case 'gateway:5.2.0':
      return {
        base: 'debian:bullseye-slim',
        user: '',
        expose: ['8080'],
        env: { PATH: DEBIAN_PATH, DEBIAN_FRONTEND: 'noninteractive' },
        labels: goreleaserLabels('tyk'),
      };
    case 'gateway:5.3.0':
      return {
        base: 'debian:bookworm-slim',
        user: '',
        expose: ['8080'],
        env: { PATH: DEBIAN_PATH, DEBIAN_FRONTEND: 'noninteractive' },
        labels: goreleaserLabels('tyk'),
      };
    case 'gateway:5.8.10':
      return {
        base: 'gcr.io/distroless/base-debian12:latest',
        user: '',
        expose: [],
        env: DISTROLESS_ENV,
        labels: {
          'org.opencontainers.image.created': created,
          'org.opencontainers.image.revision': commit,
          'org.opencontainers.image.title': 'Tyk Gateway',
          'org.opencontainers.image.description': 'Tyk Open Source API Gateway written in Go, supporting REST, GraphQL, TCP and gRPC protocols',
          'org.opencontainers.image.vendor': 'tyk.io',
          'org.opencontainers.image.version': `v${ref.version}`,
        },
      };
    case 'pump:1.9.0':
      return {
        base: 'debian:bullseye-slim',
        user: '',
        owner: PUMP_OWNER,
        expose: ['80'],
        env: { PATH: DEBIAN_PATH, DEBIAN_FRONTEND: 'noninteractive' },
        labels: goreleaserLabels('tyk-pump'),
      };
    case 'pump:1.12.2':
      return {
        base: 'gcr.io/distroless/static-debian12:nonroot',
        user: '65532',
        owner: PUMP_OWNER,
        expose: [],
        env: DISTROLESS_ENV,
        labels: {
          'org.opencontainers.image.created': created,
          'org.opencontainers.image.revision': commit,
          'org.opencontainers.image.title': 'tyk-pump  (distroless) ',
          'org.opencontainers.image.description':
            'Tyk Analytics Pump to move analytics data from Redis to any supported back end (multiple back ends can be written to at once).',
          'org.opencontainers.image.vendor': 'tyk.io',
          'org.opencontainers.image.version': `v${ref.version}`,
        },
      };
    default:
      throw new Error(`no image facts for ${key}`);
  }
}
