// The create options for a container's replacement: everything the old container was given, nothing the old
// image gave it. Peers' bugs are the checklist: anonymous volumes replaced by empty ones (Watchtower #410),
// the old image's ENV/labels/HEALTHCHECK carried into the new one (#1601, #1342), network aliases lost or
// multiplied (#521, #1723), `network_mode: container:X` broken (#1013).
import type { ContainerCreateOptions, ContainerInspectInfo, ImageInspectInfo } from 'dockerode';
import { isDeepStrictEqual } from 'node:util';

type Config = ContainerInspectInfo['Config'] & { Healthcheck?: unknown; StopSignal?: string; Shell?: string[]; StopTimeout?: number };
type ImageConfig = ImageInspectInfo['Config'] & { Healthcheck?: unknown; StopSignal?: string; Shell?: string[] };

/** Keep a value only when the container set it, not when it equals what the old image supplied. */
function own<T>(value: T, fromImage: unknown): T | undefined {
  if (value === undefined || value === null) return undefined;
  return isDeepStrictEqual(value, fromImage) ? undefined : value;
}

function withoutImage<T>(entries: Record<string, T> | null | undefined, image: Record<string, T> | null | undefined): Record<string, T> {
  const out: Record<string, T> = {};
  for (const [k, v] of Object.entries(entries ?? {})) {
    if (!image || !(k in image) || !isDeepStrictEqual(image[k], v)) out[k] = v;
  }
  return out;
}

export interface ReplacementSpec {
  create: ContainerCreateOptions;
  /** Networks to connect before start: the create call takes one endpoint on older engines. */
  extraNetworks: { name: string; config: Record<string, unknown> }[];
}

export function replacementSpec(
  old: ContainerInspectInfo,
  oldImage: ImageInspectInfo,
  newImage: string,
  name: string,
  labels: Record<string, string> = {},
): ReplacementSpec {
  const c = old.Config as Config;
  const img = (oldImage.Config ?? {}) as ImageConfig;
  const host = { ...(old.HostConfig as Record<string, unknown>) };
  const networkMode = String(host.NetworkMode ?? 'default');
  const sharesNetwork = networkMode === 'host' || networkMode.startsWith('container:');

  const imageEnv = new Set(img.Env ?? []);
  const env = (c.Env ?? []).filter((e) => !imageEnv.has(e));

  // Anonymous volumes (image VOLUME or `-v /path`) get random names; bind them by name so data carries over.
  const binds = [...((host.Binds as string[] | null) ?? [])];
  const explicitTargets = new Set([...binds.map((b) => b.split(':')[1]), ...((host.Mounts as { Target: string }[] | null) ?? []).map((m) => m.Target)]);
  for (const m of old.Mounts ?? []) {
    if (m.Type === 'volume' && m.Name && !explicitTargets.has(m.Destination)) {
      binds.push(`${m.Name}:${m.Destination}${m.RW ? '' : ':ro'}`);
    }
  }
  host.Binds = binds.length ? binds : null;

  // Inspect shows links as "/target:/this/alias"; create wants "target:alias".
  if (Array.isArray(host.Links)) {
    host.Links = (host.Links as string[]).map((l) => {
      const [target, alias] = l.split(':');
      return `${target.replace(/^\//, '')}:${alias.split('/').pop()}`;
    });
  }

  const shortId = old.Id.slice(0, 12);
  const endpoints = Object.entries(old.NetworkSettings?.Networks ?? {}).map(([net, ep]) => {
    const e = ep as { Aliases?: string[] | null; IPAMConfig?: Record<string, string>; Links?: string[] | null; DriverOpts?: Record<string, string> };
    // The engine adds the short id as an alias itself; copying it would multiply aliases on every upgrade.
    const aliases = (e.Aliases ?? []).filter((a) => a !== shortId && a !== old.Config.Hostname);
    return {
      name: net,
      config: {
        Aliases: aliases.length ? aliases : undefined,
        IPAMConfig: e.IPAMConfig ?? undefined,
        Links: e.Links ?? undefined,
        DriverOpts: e.DriverOpts ?? undefined,
      },
    };
  });
  const primary = sharesNetwork ? undefined : (endpoints.find((e) => e.name === networkMode) ?? endpoints[0]);

  const create: ContainerCreateOptions = {
    name,
    Image: newImage,
    // With host or container networking the hostname comes from there; a generated one is the old id.
    Hostname: sharesNetwork || c.Hostname === shortId ? undefined : c.Hostname,
    Domainname: c.Domainname || undefined,
    User: own(c.User, img.User) || undefined,
    AttachStdin: c.AttachStdin,
    AttachStdout: c.AttachStdout,
    AttachStderr: c.AttachStderr,
    ExposedPorts: sharesNetwork ? undefined : nonEmpty(withoutImage(c.ExposedPorts, img.ExposedPorts)),
    Tty: c.Tty,
    OpenStdin: c.OpenStdin,
    StdinOnce: c.StdinOnce,
    Env: env,
    Cmd: own(c.Cmd, img.Cmd) as string[] | undefined,
    Entrypoint: own(c.Entrypoint, img.Entrypoint) as string[] | undefined,
    Healthcheck: own(c.Healthcheck, img.Healthcheck) as ContainerCreateOptions['Healthcheck'],
    Volumes: nonEmpty(withoutImage(c.Volumes, img.Volumes)),
    WorkingDir: own(c.WorkingDir, img.WorkingDir) || undefined,
    Labels: { ...withoutImage(c.Labels, img.Labels), ...labels },
    StopSignal: own(c.StopSignal, img.StopSignal),
    StopTimeout: c.StopTimeout,
    Shell: own(c.Shell, img.Shell),
    HostConfig: host as ContainerCreateOptions['HostConfig'],
    NetworkingConfig: primary ? { EndpointsConfig: { [primary.name]: primary.config } } : undefined,
  };
  return { create, extraNetworks: primary ? endpoints.filter((e) => e !== primary) : [] };
}

function nonEmpty<T>(o: Record<string, T>): Record<string, T> | undefined {
  return Object.keys(o).length ? o : undefined;
}
