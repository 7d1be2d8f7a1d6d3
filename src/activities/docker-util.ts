// Small dockerode helpers shared by the activities.
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';

export function isNotFound(err: unknown): boolean {
  return (err as { statusCode?: number })?.statusCode === 404;
}

/** Inspect a container by name or id; undefined when it does not exist. */
export async function inspectContainer(docker: Docker, name: string): Promise<ContainerInspectInfo | undefined> {
  try {
    return await docker.getContainer(name).inspect();
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** Container names come back from the engine with a leading slash. */
export function nameOf(info: ContainerInspectInfo): string {
  return info.Name.replace(/^\//, '');
}

export async function renameContainer(docker: Docker, id: string, name: string): Promise<void> {
  await docker.getContainer(id).rename({ name });
}

/** Stop, tolerating a container that is already stopped (304). */
export async function stopContainer(docker: Docker, id: string, timeoutSec: number): Promise<void> {
  try {
    await docker.getContainer(id).stop({ t: timeoutSec });
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 304) throw err;
  }
}

/** Start, tolerating a container that already runs (304). */
export async function startContainer(docker: Docker, id: string): Promise<void> {
  try {
    await docker.getContainer(id).start();
  } catch (err) {
    if ((err as { statusCode?: number }).statusCode !== 304) throw err;
  }
}

/** The last lines a container wrote to stdout and stderr, as text. */
export async function containerLogs(docker: Docker, id: string, tail = 200, since?: number): Promise<string> {
  const buf = (await docker.getContainer(id).logs({
    stdout: true,
    stderr: true,
    tail,
    ...(since ? { since } : {}),
    follow: false,
  })) as unknown as Buffer;
  return demuxLogs(buf);
}

/** How long after its start a container's start-up lines are looked for. */
const STARTUP_WINDOW_MS = 60_000;
/** How far ahead of the StartedAt the engine records a process may already have logged. */
const STARTED_AT_LAG_MS = 5_000;

/**
 * What a container wrote in the first minute of its current run: its start-up lines, however much it has logged
 * since (a real pump's stdout pump writes every analytics record to its log, which pushes the start line out of
 * any tail within seconds under load), and nothing from an earlier run.
 */
export async function startupLog(docker: Docker, info: ContainerInspectInfo): Promise<string> {
  const started = Date.parse(info.State.StartedAt);
  if (!Number.isFinite(started) || started <= 0) return '';
  // A fast binary logs before the engine records StartedAt (seen: a real pump's "## Tyk Pump" line 1 ms ahead of
  // it), so look a little earlier, but never before the previous run ended (FinishedAt, while running, is that).
  const finished = Date.parse(info.State.FinishedAt);
  const since = Math.max(started - STARTED_AT_LAG_MS, Number.isFinite(finished) && finished > 0 && finished < started ? finished + 1 : 0);
  // Unix seconds with a fraction: the engine reads the digits after the point as parts of a second.
  const until = Math.min(started + STARTUP_WINDOW_MS, Date.now() + 1000);
  const buf = (await docker
    .getContainer(info.Id)
    .logs({ stdout: true, stderr: true, follow: false, since: since / 1000, until: until / 1000 })) as unknown as Buffer;
  return demuxLogs(buf);
}

/** Non-TTY container logs are framed: 8-byte header (stream, 0, 0, 0, size32) then the payload. */
export function demuxLogs(buf: Buffer): string {
  const out: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length && (buf[i] === 1 || buf[i] === 2 || buf[i] === 0) && buf[i + 1] === 0) {
    const size = buf.readUInt32BE(i + 4);
    out.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  if (i === 0) return buf.toString('utf8'); // a TTY container: raw text
  return Buffer.concat(out).toString('utf8');
}
