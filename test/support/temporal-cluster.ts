// A production-like Temporal for tests, run the way docs/temporal-server.md tells a team to run it without
// Docker: a private PostgreSQL 15 cluster, the schema and setup scripts of temporal/ (the same ones
// docker-compose.temporal.yml runs), two Temporal server nodes with every service on each, HAProxy in front of
// their frontends, and the Web UI server behind that one address. Every process is ours, killed by PID, and the
// whole folder goes at the end.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { Connection } from '@temporalio/client';
import { request } from 'undici';
import { answers } from '../../src/devserver/dev-server';
import { requireTemporalBinaries, type TemporalBinaries } from '../../src/devserver/temporal-binaries';
import { cachedCliPath } from '../../src/devserver/temporal-cli';
import { SEARCH_ATTRIBUTES } from '../../src/shared/names';
import { waitFor } from './services';

const REPO = join(__dirname, '..', '..', '..');
const TEMPORAL_DIR = join(REPO, 'temporal');
const PG_BIN = '/usr/lib/postgresql/15/bin';
/** Ports for our processes come from this range (other agents' test servers live elsewhere). */
const PORT_RANGE = [27000, 27999] as const;
/** Per node: frontend gRPC, frontend HTTP, history, matching, worker, and a membership port for each service. */
const PORTS_PER_NODE = 9;

export interface ClusterNode {
  name: string;
  /** host:port of this node's own frontend (the tests' clients use the load balancer, not this). */
  frontend: string;
  /** This node's history service, as it names itself when it owns a shard. */
  historyAddress: string;
  pid(): number | undefined;
  running(): boolean;
  /** SIGKILL: the node dies the way a crashed host does, without leaving the membership ring politely. */
  kill(): Promise<void>;
}

export interface TemporalCluster {
  dir: string;
  /** The load balancer in front of every frontend: what TEMPORAL_ADDRESS is set to. */
  address: string;
  uiUrl: string;
  nodes: ClusterNode[];
  /** Runs SQL on the temporal database (as its user, over TCP) and returns psql's unaligned output. */
  sql(query: string): string;
  /** The node whose history service owns the shard of this workflow now. */
  historyOwner(workflowId: string): ClusterNode;
  /** Temporal nodes, UI and PostgreSQL down (data kept). The load balancer stays: it is the team's, not Temporal's. */
  stop(): Promise<void>;
  /** Starts whatever is not running, on the same ports and data. */
  start(): Promise<void>;
  /** Everything down and the folder removed. */
  remove(): Promise<void>;
  /** The last lines of every log, for failure messages. */
  logs(): string;
}

interface Proc {
  child: ChildProcess;
  exited: Promise<void>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

/** `count` consecutive free ports in PORT_RANGE, from a random start so parallel runs rarely meet. */
async function portBlock(count: number): Promise<number> {
  const [lo, hi] = PORT_RANGE;
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = lo + Math.floor(Math.random() * (hi - lo - count));
    let ok = true;
    for (let p = base; p < base + count && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
  throw new Error(`no ${count} consecutive free ports in ${lo}-${hi}`);
}

/** uid/gid of the postgres user when we are root (PostgreSQL refuses to run as root); else our own. */
function postgresIds(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string) => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error('no postgres user: install PostgreSQL with rig/packages.sh (Debian package postgresql)');
  return { uid, gid: id('-g') };
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv, what: string, cwd?: string): string {
  const r = spawnSync(cmd, args, { env, cwd, encoding: 'utf8', timeout: 180_000 });
  if (r.status !== 0) throw new Error(`${what} failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stdout}\n${r.stderr}`.trim());
  return r.stdout;
}

export async function startTemporalCluster(opts: { nodes?: number; log?: (line: string) => void } = {}): Promise<TemporalCluster> {
  const bin: TemporalBinaries = requireTemporalBinaries();
  const cli = cachedCliPath();
  if (!existsSync(cli)) throw new Error(`temporal/setup.sh needs the Temporal CLI at ${cli}; run \`bash rig/setup.sh\` once`);
  const log = opts.log ?? (() => undefined);
  const nodeCount = opts.nodes ?? 2;
  // Not under the test run's folder: that one is root's and 0700, and PostgreSQL runs as its own user.
  const dir = mkdtempSync(join(tmpdir(), 'tyk-upgrade-temporal-'));
  const pgIds = postgresIds();
  if (pgIds) chownSync(dir, pgIds.uid, pgIds.gid);
  const base = await portBlock(3 + nodeCount * PORTS_PER_NODE);
  const pgPort = base;
  const address = `127.0.0.1:${base + 1}`;
  const uiUrl = `http://127.0.0.1:${base + 2}`;
  const dbPassword = randomBytes(12).toString('hex');
  const procs = new Map<string, Proc>();

  const spawnLogged = (name: string, cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env, user: string[] = []): Proc => {
    const out = createWriteStream(join(dir, `${name}.log`), { flags: 'a' });
    // --pdeathsig: if the test process dies, its servers die with it instead of holding ports. setpriv execs
    // the server, so the PID we signal is the server's own.
    const child = spawn('setpriv', [...user, '--pdeathsig', 'KILL', '--', cmd, ...args], { env, cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out);
    child.stderr!.pipe(out);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const p = { child, exited };
    procs.set(name, p);
    return p;
  };
  const alive = (name: string) => {
    const c = procs.get(name)?.child;
    return !!c && c.exitCode === null && c.signalCode === null;
  };
  const signal = async (name: string, sig: NodeJS.Signals, graceMs = 20_000) => {
    const p = procs.get(name);
    if (!p || !alive(name)) return;
    p.child.kill(sig);
    const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs);
    await p.exited;
    clearTimeout(timer);
  };
  const tail = (name: string) => {
    try {
      return readFileSync(join(dir, `${name}.log`), 'utf8')
        .split('\n')
        .slice(-15)
        .join('\n');
    } catch {
      return '(no log)';
    }
  };
  const until = async (name: string, what: string, check: () => Promise<boolean>, timeoutMs = 90_000) => {
    await waitFor(
      what,
      async () => {
        if (procs.has(name) && !alive(name)) throw new Error(`${name} exited:\n${tail(name)}`);
        return (await check()) ? true : undefined;
      },
      timeoutMs,
      250,
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${name}.log:\n${tail(name)}`);
    });
  };

  // --- PostgreSQL: a private cluster in our folder, owned by the postgres user, on 127.0.0.1 only.
  const pgData = join(dir, 'pgdata');
  const pgSocket = join(dir, 'pgsocket');
  mkdirSync(pgSocket);
  if (pgIds) chownSync(pgSocket, pgIds.uid, pgIds.gid);
  const asPostgres = pgIds ? ['--reuid', String(pgIds.uid), '--regid', String(pgIds.gid), '--clear-groups'] : [];
  const initdb = () =>
    run(
      'setpriv',
      [
        ...asPostgres,
        '--',
        join(PG_BIN, 'initdb'),
        '-D',
        pgData,
        '-U',
        'postgres',
        '--auth-local=trust',
        '--auth-host=scram-sha-256',
        '-E',
        'UTF8',
        '--locale=C.UTF-8',
      ],
      process.env,
      'initdb',
      dir,
    );

  const startPostgres = async () => {
    spawnLogged('postgresql', join(PG_BIN, 'postgres'), ['-D', pgData, '-h', '127.0.0.1', '-p', String(pgPort), '-k', pgSocket], process.env, asPostgres);
    await until(
      'postgresql',
      `PostgreSQL on 127.0.0.1:${pgPort}`,
      async () => spawnSync(join(PG_BIN, 'pg_isready'), ['-q', '-h', '127.0.0.1', '-p', String(pgPort)]).status === 0,
    );
  };
  // The user Temporal connects as (a password over TCP, allowed to create its two databases), then the schemas.
  const createDatabases = () => {
    run(
      'psql',
      [
        '-h',
        pgSocket,
        '-p',
        String(pgPort),
        '-U',
        'postgres',
        '-d',
        'postgres',
        '-v',
        'ON_ERROR_STOP=1',
        '-qc',
        `CREATE ROLE temporal LOGIN CREATEDB PASSWORD '${dbPassword}'`,
      ],
      process.env,
      'creating the temporal role',
    );
    const t0 = Date.now();
    run(
      'sh',
      [join(TEMPORAL_DIR, 'schema.sh')],
      {
        ...process.env,
        PATH: `${dirname(bin.sqlTool)}:${process.env.PATH}`,
        SQL_PLUGIN: 'postgres12',
        SQL_HOST: '127.0.0.1',
        SQL_PORT: String(pgPort),
        SQL_USER: 'temporal',
        SQL_PASSWORD: dbPassword,
        TEMPORAL_SCHEMA_DIR: bin.postgresSchemaDir,
      },
      'temporal/schema.sh',
    );
    log(`temporal cluster: PostgreSQL on 127.0.0.1:${pgPort}, schemas set up in ${Date.now() - t0} ms`);
  };

  // --- Temporal nodes: the same config file (temporal/config/cluster.yaml), each with its own ports.
  const nodeEnv = (i: number): NodeJS.ProcessEnv => {
    const p = base + 3 + i * PORTS_PER_NODE;
    return {
      ...process.env,
      TEMPORAL_DB_HOST: '127.0.0.1',
      TEMPORAL_DB_PORT: String(pgPort),
      TEMPORAL_DB_PASSWORD: dbPassword,
      TEMPORAL_NODE_IP: '127.0.0.1',
      TEMPORAL_PUBLIC_ADDRESS: address,
      TEMPORAL_FRONTEND_PORT: String(p),
      TEMPORAL_FRONTEND_HTTP_PORT: String(p + 1),
      TEMPORAL_HISTORY_PORT: String(p + 2),
      TEMPORAL_MATCHING_PORT: String(p + 3),
      TEMPORAL_WORKER_PORT: String(p + 4),
      TEMPORAL_FRONTEND_MEMBERSHIP_PORT: String(p + 5),
      TEMPORAL_HISTORY_MEMBERSHIP_PORT: String(p + 6),
      TEMPORAL_MATCHING_MEMBERSHIP_PORT: String(p + 7),
      TEMPORAL_WORKER_MEMBERSHIP_PORT: String(p + 8),
    };
  };
  const nodes: ClusterNode[] = Array.from({ length: nodeCount }, (_, i) => {
    const name = `node${i + 1}`;
    const env = nodeEnv(i);
    return {
      name,
      frontend: `127.0.0.1:${env.TEMPORAL_FRONTEND_PORT}`,
      historyAddress: `127.0.0.1:${env.TEMPORAL_HISTORY_PORT}`,
      pid: () => procs.get(name)?.child.pid,
      running: () => alive(name),
      kill: () => signal(name, 'SIGKILL'),
    };
  });
  const startNode = async (i: number) => {
    const n = nodes[i];
    spawnLogged(n.name, bin.server, ['--root', TEMPORAL_DIR, '--config', 'config', '--env', 'cluster', '--allow-no-auth', 'start'], nodeEnv(i));
    await until(n.name, `${n.name}'s frontend on ${n.frontend}`, () => answers(n.frontend, 2000));
  };

  // --- HAProxy in front of the frontends (temporal/haproxy.cfg), and the Web UI behind it.
  const startLoadBalancer = async () => {
    spawnLogged('haproxy', 'haproxy', ['-db', '-f', join(TEMPORAL_DIR, 'haproxy.cfg')], {
      ...process.env,
      TEMPORAL_LB_ADDRESS: address,
      TEMPORAL_NODE1: nodes[0].frontend,
      TEMPORAL_NODE2: nodes[1]?.frontend ?? nodes[0].frontend,
    });
    await until('haproxy', `HAProxy on ${address}`, async () => !(await portFree(base + 1)), 20_000);
  };
  const startUi = async () => {
    spawnLogged('ui', bin.uiServer, ['--root', TEMPORAL_DIR, '--config', 'config', '--env', 'ui', 'start'], {
      ...process.env,
      TEMPORAL_ADDRESS: address,
      TEMPORAL_UI_IP: '127.0.0.1',
      TEMPORAL_UI_PORT: String(base + 2),
      TEMPORAL_NAMESPACE: 'default',
    });
    await until('ui', `Web UI on ${uiUrl}`, async () => {
      const r = await request(`${uiUrl}/api/v1/namespaces`).catch(() => undefined);
      await r?.body.text();
      return r?.statusCode === 200;
    });
  };

  /** Every frontend knows the namespace and our search attributes (each node caches them for a while). */
  const everyNodeReady = async () => {
    for (const n of nodes) {
      await until(n.name, `namespace and search attributes on ${n.name}`, async () => {
        const c = await Connection.connect({ address: n.frontend, connectTimeout: 2000 });
        try {
          const r = await c.operatorService.listSearchAttributes({ namespace: 'default' });
          return SEARCH_ATTRIBUTES.every((k) => k.name in (r.customAttributes ?? {}));
        } finally {
          await c.close();
        }
      });
    }
  };

  const startAll = async () => {
    if (!alive('postgresql')) await startPostgres();
    // The very first start must be one node alone: two nodes racing to write the cluster's metadata both
    // insert it and one exits. Later starts do the same, which costs a few seconds and nothing else.
    for (let i = 0; i < nodes.length; i++) if (!nodes[i].running()) await startNode(i);
    if (!alive('haproxy')) await startLoadBalancer();
    // HAProxy takes a node back after two good checks: clients may use the address once a frontend answers there.
    await until('haproxy', `a frontend through ${address}`, () => answers(address, 2000));
    if (!alive('ui')) await startUi();
  };

  const cluster: TemporalCluster = {
    dir,
    address,
    uiUrl,
    nodes,
    sql: (query) =>
      run(
        'psql',
        ['-h', '127.0.0.1', '-p', String(pgPort), '-U', 'temporal', '-d', 'temporal', '-v', 'ON_ERROR_STOP=1', '-Atc', query],
        { ...process.env, PGPASSWORD: dbPassword },
        `psql: ${query}`,
      ),
    historyOwner: (workflowId) => {
      const shard = cluster.sql(`SELECT shard_id FROM current_executions WHERE workflow_id = '${workflowId.replace(/'/g, "''")}'`).trim();
      if (!/^\d+$/.test(shard)) throw new Error(`no shard for workflow ${workflowId}`);
      // ShardInfo is a protobuf blob; its owner field is the history host's "ip:port" followed by "-".
      const info = cluster.sql(`SELECT encode(data, 'escape') FROM shards WHERE shard_id = ${shard}`);
      const owner = nodes.find((n) => info.includes(`${n.historyAddress}-`));
      if (!owner) throw new Error(`shard ${shard} of ${workflowId} is owned by no node we know: ${info.slice(0, 80)}`);
      return owner;
    },
    stop: async () => {
      await signal('ui', 'SIGTERM');
      for (const n of [...nodes].reverse()) await signal(n.name, 'SIGTERM');
      // SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit.
      await signal('postgresql', 'SIGINT');
    },
    start: startAll,
    remove: async () => {
      await cluster.stop();
      await signal('haproxy', 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
    logs: () => [...procs.keys()].map((n) => `--- ${n}.log\n${tail(n)}`).join('\n'),
  };

  try {
    initdb();
    await startPostgres();
    createDatabases();
    await startAll();
    const t1 = Date.now();
    run(
      'sh',
      [join(TEMPORAL_DIR, 'setup.sh')],
      { ...process.env, PATH: `${dirname(cli)}:${process.env.PATH}`, TEMPORAL_ADDRESS: address, TEMPORAL_NAMESPACE: 'default' },
      'temporal/setup.sh',
    );
    await everyNodeReady();
    log(`temporal cluster: ${nodes.length} nodes behind ${address}, Web UI ${uiUrl}, namespace and search attributes ready in ${Date.now() - t1} ms`);
  } catch (err) {
    await cluster.remove().catch(() => undefined);
    throw err;
  }
  return cluster;
}
