// A small client for HAProxy's Runtime API (the `stats socket` of haproxy.cfg): one command per connection, the
// way HAProxy's non-interactive mode works — it answers and closes. Plus parsers for the two tables we read.
import { createConnection } from 'node:net';

/** Where the Runtime API listens: a unix socket path, or host:port of a TCP `stats socket ipv4@…`. */
export interface RuntimeTarget {
  socket?: string;
  address?: string;
}

export function describeTarget(t: RuntimeTarget): string {
  return t.socket ?? t.address ?? '(no socket or address)';
}

/** "127.0.0.1:9999" or "[::1]:9999" → host and port. */
export function splitHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address.trim());
  if (!m) return undefined;
  const port = Number(m[3]);
  return port > 0 && port < 65536 ? { host: m[1] ?? m[2], port } : undefined;
}

/** Send one command and return HAProxy's answer (trailing blank line removed). */
export function runtimeCommand(target: RuntimeTarget, command: string, timeoutMs = 5000): Promise<string> {
  let where: { path: string } | { host: string; port: number };
  if (target.socket) where = { path: target.socket };
  else {
    const hp = target.address ? splitHostPort(target.address) : undefined;
    if (!hp) return Promise.reject(new Error(`HAProxy Runtime API address "${target.address ?? ''}" is not host:port`));
    where = hp;
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const sock = createConnection(where);
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`HAProxy Runtime API at ${describeTarget(target)} did not answer "${command}" within ${timeoutMs} ms`));
    }, timeoutMs);
    sock.on('connect', () => sock.end(`${command}\n`));
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        new Error(
          `cannot reach HAProxy's Runtime API at ${describeTarget(target)}: ${err.code ?? err.message}` +
            ` (haproxy.cfg needs "stats socket ${target.socket ?? `ipv4@${target.address}`} level admin" in its global section)`,
        ),
      );
    });
    sock.on('close', () => {
      clearTimeout(timer);
      resolve(Buffer.concat(chunks).toString('utf8').replace(/\n+$/, ''));
    });
  });
}

/** A row of `show servers state`. op/admin states are HAProxy's numbers (op 2 = running; admin bits 0x08/0x10 drain). */
export interface ServerState {
  backend: string;
  server: string;
  address: string;
  port: number;
  /** The name the server was configured with when it is a host name (srv_fqdn), else undefined. */
  fqdn?: string;
  opState: number;
  adminState: number;
}

/** `show servers state [BACKEND]`: a version line, a "# name name …" header, then one row per server. */
export function parseServersState(text: string): ServerState[] {
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new Error(`unexpected answer to "show servers state": ${text.slice(0, 200)}`);
  const cols = header.slice(2).trim().split(/\s+/);
  const at = (row: string[], name: string) => row[cols.indexOf(name)];
  return lines
    .filter((l) => /^\d+ /.test(l))
    .map((l) => {
      const row = l.trim().split(/\s+/);
      const fqdn = at(row, 'srv_fqdn');
      return {
        backend: at(row, 'be_name'),
        server: at(row, 'srv_name'),
        address: at(row, 'srv_addr'),
        port: Number(at(row, 'srv_port')),
        fqdn: fqdn && fqdn !== '-' ? fqdn : undefined,
        opState: Number(at(row, 'srv_op_state')),
        adminState: Number(at(row, 'srv_admin_state')),
      };
    });
}

/** The fields of `show stat` we act on, for one server. */
export interface ServerStat {
  backend: string;
  server: string;
  /** UP, DOWN, DRAIN, MAINT, NOLB, "no check", or a transition such as "UP 1/2" / "DOWN 1/2". */
  status: string;
  /** Current sessions on the server. */
  scur: number;
  /** Requests queued for this server. */
  qcur: number;
  checkStatus?: string;
  checkDesc?: string;
  addr?: string;
  /** Responses the server gave since HAProxy started (hrsp_1xx … hrsp_5xx, hrsp_other), and of them 5xx. */
  responses: number;
  responses5xx: number;
  /** Requests it failed without a response (eresp: aborted or invalid response; econ: no connection). */
  failedResponses: number;
  failedConnections: number;
}

/** `show stat` CSV: "# pxname,svname,…" then rows; only server rows are returned. */
export function parseStat(csv: string): ServerStat[] {
  const lines = csv.split('\n').filter((l) => l.trim());
  const header = lines.find((l) => l.startsWith('# '));
  if (!header) throw new Error(`unexpected answer to "show stat": ${csv.slice(0, 200)}`);
  const cols = header.slice(2).split(',');
  const idx = (name: string) => cols.indexOf(name);
  return lines
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.split(','))
    .filter((row) => row[idx('svname')] !== 'FRONTEND' && row[idx('svname')] !== 'BACKEND' && row[idx('type')] === '2')
    .map((row) => ({
      backend: row[idx('pxname')],
      server: row[idx('svname')],
      status: row[idx('status')],
      scur: Number(row[idx('scur')]) || 0,
      qcur: Number(row[idx('qcur')]) || 0,
      checkStatus: row[idx('check_status')] || undefined,
      checkDesc: row[idx('check_desc')] || undefined,
      addr: idx('addr') >= 0 ? row[idx('addr')] || undefined : undefined,
      responses: ['hrsp_1xx', 'hrsp_2xx', 'hrsp_3xx', 'hrsp_4xx', 'hrsp_5xx', 'hrsp_other'].reduce((n, c) => n + (Number(row[idx(c)]) || 0), 0),
      responses5xx: Number(row[idx('hrsp_5xx')]) || 0,
      failedResponses: Number(row[idx('eresp')]) || 0,
      failedConnections: Number(row[idx('econ')]) || 0,
    }));
}

// Names go into command lines, where a space or ";" would start another command.
function safeName(name: string): string {
  if (!/^[A-Za-z0-9_.:-]+$/.test(name)) throw new Error(`"${name}" is not an HAProxy backend or server name (letters, digits, "_", ".", ":", "-")`);
  return name;
}

/** The servers of one backend with their addresses; undefined when HAProxy has no such backend. */
export async function serversOf(target: RuntimeTarget, backend: string): Promise<ServerState[] | undefined> {
  safeName(backend);
  const text = await runtimeCommand(target, `show servers state ${backend}`);
  if (/^Can't find backend/m.test(text)) return undefined;
  return parseServersState(text);
}

/** Every server of every backend. */
export async function allServers(target: RuntimeTarget): Promise<ServerState[]> {
  return parseServersState(await runtimeCommand(target, 'show servers state'));
}

export async function backendNames(target: RuntimeTarget): Promise<string[]> {
  const text = await runtimeCommand(target, 'show backend');
  return text
    .split('\n')
    .filter((l) => l.trim() && !l.startsWith('#'))
    .map((l) => l.trim());
}

/** Live figures of one server. */
export async function serverStat(target: RuntimeTarget, backend: string, server: string): Promise<ServerStat | undefined> {
  const rows = parseStat(await runtimeCommand(target, `show stat ${safeName(backend)} 4 -1`));
  return rows.find((r) => r.backend === backend && r.server === server);
}

/**
 * `set server B/S state drain|ready`. HAProxy answers nothing on success and a sentence when it refuses (no such
 * server, or "Permission denied" on a socket below `level admin`); that sentence is returned for the caller to judge.
 */
export async function setServerState(target: RuntimeTarget, backend: string, server: string, state: 'drain' | 'ready'): Promise<string | undefined> {
  const answer = (await runtimeCommand(target, `set server ${safeName(backend)}/${safeName(server)} state ${state}`)).trim();
  return answer || undefined;
}
