// The pid file a dev server keeps beside its db file (`temporal.db.pid`): which `temporal server start-dev`
// serves that file and which process started it. A new `dev` uses it to stop a server left behind by an
// earlier one that died (instead of refusing the port); `doctor` uses it to report such orphans.
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

export interface PidRecord {
  /** The `temporal server start-dev` process. */
  pid: number;
  /** The process that started it (`tyk-upgrade dev`, the demo, the test runner). */
  parentPid: number;
  address: string;
  dbFile: string;
  startedAt: string;
}

export type ServerState =
  /** No pid file, or its server is gone. */
  | { kind: 'none' }
  /** The server runs and the process that started it is still its parent: someone is using it. */
  | { kind: 'owned'; record: PidRecord }
  /** The server runs but the process that started it is gone. */
  | { kind: 'orphan'; record: PidRecord };

export const pidFileFor = (dbFile: string) => `${dbFile}.pid`;

export function writePidFile(dbFile: string, record: PidRecord): void {
  writeFileSync(pidFileFor(dbFile), `${JSON.stringify(record)}\n`, { mode: 0o600 });
}

export function removePidFile(dbFile: string, pid: number): void {
  // Only our own record: a newer server may have written the file since.
  if (readPidFile(dbFile)?.pid === pid) rmSync(pidFileFor(dbFile), { force: true });
}

export function readPidFile(dbFile: string): PidRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(pidFileFor(dbFile), 'utf8')) as PidRecord;
    return Number.isInteger(r.pid) && r.pid > 0 ? r : undefined;
  } catch {
    return undefined;
  }
}

/** Parent pid and state letter from /proc/PID/stat; undefined when the process is gone. */
function procStat(pid: number): { ppid: number; state: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (comm) state ppid ...": comm may hold spaces and parentheses, so split after the last ')'.
    const [state, ppid] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: Number(ppid), state };
  } catch {
    return undefined;
  }
}

export function alive(pid: number): boolean {
  const s = procStat(pid);
  return s !== undefined && s.state !== 'Z';
}

/** Whether the process is a dev server serving this db file (a reused pid is someone else's process). */
export function servesDbFile(pid: number, dbFile: string): boolean {
  try {
    const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    return args.includes('start-dev') && args[args.indexOf('--db-filename') + 1] === dbFile;
  } catch {
    return false;
  }
}

export function serverState(dbFile: string): ServerState {
  const record = readPidFile(dbFile);
  if (!record || !alive(record.pid) || !servesDbFile(record.pid, dbFile)) return { kind: 'none' };
  const parentAlive = procStat(record.pid)?.ppid === record.parentPid && alive(record.parentPid);
  return parentAlive ? { kind: 'owned', record } : { kind: 'orphan', record };
}

/** SIGTERM, then SIGKILL after a grace period; resolves when the process is gone. */
export async function stopProcess(pid: number, graceMs = 10_000): Promise<void> {
  const gone = async (ms: number) => {
    const deadline = Date.now() + ms;
    while (alive(pid)) {
      if (Date.now() > deadline) return false;
      await new Promise((r) => setTimeout(r, 100));
    }
    return true;
  };
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await gone(graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await gone(10_000);
}

/** Every `temporal server start-dev` on this machine whose parent is gone (reparented to init or a subreaper). */
export function orphanedDevServers(): { pid: number; dbFile?: string }[] {
  const found: { pid: number; dbFile?: string }[] = [];
  let pids: string[];
  try {
    pids = readdirSync('/proc');
  } catch {
    return found; // no /proc (not Linux): nothing to look at
  }
  for (const e of pids) {
    const pid = Number(e);
    if (!Number.isInteger(pid) || pid <= 0) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (!(args.includes('server') && args.includes('start-dev'))) continue;
    const stat = procStat(pid);
    if (!stat || stat.state === 'Z') continue;
    const i = args.indexOf('--db-filename');
    const dbFile = i >= 0 ? args[i + 1] : undefined;
    const record = dbFile ? readPidFile(dbFile) : undefined;
    const parentGone = stat.ppid === 1 || (record?.pid === pid && (stat.ppid !== record.parentPid || !alive(record.parentPid)));
    if (parentGone) found.push({ pid, dbFile });
  }
  return found;
}
