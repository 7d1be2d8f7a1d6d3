// Extra Docker engines on this machine, each standing in for one host of a fleet: its own dockerd with its own
// socket, data root, exec root, pid file and cgroup parent, no bridge and no iptables (docs/fleet.md). Its containers
// use host networking and listen on the host's own loopback address (127.0.0.2, 127.0.0.3, ...), so the same
// ports repeat across "hosts" as on real machines. Every engine pulls from the shared registry on 127.0.0.1:5000.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import Docker from 'dockerode';
import { sleep } from './services';

const RIG_STATE = process.env.RIG_STATE ?? '/var/lib/tyk-upgrade-rig';

export interface Engine {
  /** Host name, as a plan and `tyk-upgrade worker --host` name it. */
  name: string;
  /** Loopback address the host's containers listen on. */
  address: string;
  socket: string;
  /** DOCKER_HOST value for a worker on this host. */
  dockerHost: string;
  docker: Docker;
  pid(): number | undefined;
  /** SIGKILL the engine (its containers keep running under their shims, as after a real dockerd crash). */
  kill(): Promise<void>;
  /** Start it again on the same data root (after kill or stop). */
  start(): Promise<void>;
  /** Stop it and, for a throwaway engine, delete its data. */
  remove(): Promise<void>;
}

export interface EngineOptions {
  name: string;
  /** 127.0.0.N for this host's containers. */
  address: string;
  /**
   * Persistent engines keep their data root (images stay cached) under the rig's state folder and are reused by
   * later test files and runs; a throwaway engine (for tests that kill or restart it) lives in `dir` and is deleted.
   */
  dir?: string;
}

/** Starts (or reuses, when it already answers) the engine of one simulated host. */
export async function startEngine(opts: EngineOptions): Promise<Engine> {
  const root = opts.dir ?? join(RIG_STATE, 'engines', opts.name);
  // Unix socket paths are limited to 108 bytes: keep it short and out of deep temp folders.
  const runDir = join('/run/tyk-upgrade-engines', opts.name);
  mkdirSync(root, { recursive: true, mode: 0o700 });
  mkdirSync(runDir, { recursive: true, mode: 0o700 });
  const socket = join(runDir, 'docker.sock');
  const pidFile = join(runDir, 'docker.pid');
  const docker = new Docker({ socketPath: socket });

  const answers = async () => {
    try {
      await docker.ping();
      return true;
    } catch {
      return false;
    }
  };
  const pid = () => {
    try {
      const n = Number(readFileSync(pidFile, 'utf8').trim());
      return n > 0 ? n : undefined;
    } catch {
      return undefined;
    }
  };
  /**
   * This engine's dockerd is running as `p`. The pid file outlives its process (a kill, a machine restart), and
   * pids are reused (pid_max is 32768 here): a pid is only ours when its command line names our socket, or a stale
   * file would have us signal whatever runs under that number now — once, the shared engine itself.
   */
  const alive = (p: number | undefined) => {
    if (!p) return false;
    try {
      return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').includes(`--host=unix://${socket}`);
    } catch {
      return false;
    }
  };

  async function start(): Promise<void> {
    if (await answers()) return;
    const log = openSync(join(root, 'dockerd.log'), 'a');
    const child = spawn(
      'dockerd',
      [
        '--bridge=none',
        '--iptables=false',
        '--ip6tables=false',
        '--ip-masq=false',
        `--host=unix://${socket}`,
        `--data-root=${join(root, 'data')}`,
        `--exec-root=${join(runDir, 'exec')}`,
        `--pidfile=${pidFile}`,
        `--cgroup-parent=/tyk-upgrade-${opts.name}`,
      ],
      { detached: true, stdio: ['ignore', log, log] },
    );
    child.unref();
    const deadline = Date.now() + 60_000;
    while (!(await answers())) {
      if (child.exitCode !== null) throw new Error(`dockerd for host ${opts.name} exited with ${child.exitCode}; see ${join(root, 'dockerd.log')}`);
      if (Date.now() > deadline) throw new Error(`dockerd for host ${opts.name} did not answer on ${socket} within 60 s`);
      await sleep(200);
    }
  }

  /** dockerd's own containerd, whose pid file it keeps in the exec root. */
  const containerdPid = () => {
    try {
      return Number(readFileSync(join(runDir, 'exec', 'containerd', 'containerd.pid'), 'utf8').trim()) || undefined;
    } catch {
      return undefined;
    }
  };
  /** Gone for good, not a zombie: a zombie containerd makes the next dockerd wait for it and time out. */
  const gone = (p: number | undefined) => {
    if (!p) return true;
    try {
      return /^State:\s+Z/m.test(readFileSync(`/proc/${p}/status`, 'utf8'));
    } catch {
      return true; // no such process
    }
  };

  async function kill(): Promise<void> {
    const p = pid();
    if (!alive(p)) return;
    const containerd = containerdPid();
    process.kill(p as number, 'SIGKILL');
    while (alive(p)) await sleep(50);
    // The managed containerd dies with its dockerd; wait until it has, or a restart times out waiting for it.
    const deadline = Date.now() + 10_000;
    while (!gone(containerd) && Date.now() < deadline) await sleep(100);
  }

  async function stopGracefully(): Promise<void> {
    const p = pid();
    if (!alive(p)) return;
    process.kill(p as number, 'SIGTERM');
    const deadline = Date.now() + 30_000;
    while (alive(p) && Date.now() < deadline) await sleep(100);
    if (alive(p)) await kill();
  }

  await start();
  return {
    name: opts.name,
    address: opts.address,
    socket,
    dockerHost: `unix://${socket}`,
    docker,
    pid,
    kill,
    start,
    remove: async () => {
      if (opts.dir) {
        const all = await docker.listContainers({ all: true }).catch(() => []);
        for (const c of all)
          await docker
            .getContainer(c.Id)
            .remove({ force: true, v: true })
            .catch(() => undefined);
      }
      await stopGracefully();
      if (opts.dir) {
        unmountBelow(runDir);
        unmountBelow(opts.dir);
        rmSync(opts.dir, { recursive: true, force: true });
        if (existsSync(runDir)) rmSync(runDir, { recursive: true, force: true });
      }
    },
  };
}

/** dockerd leaves mounts (its network namespace file, overlay layers) that must go before the folder can. */
function unmountBelow(dir: string): void {
  const mounts = readFileSync('/proc/mounts', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[1])
    .filter((m) => m && (m === dir || m.startsWith(`${dir}/`)))
    .sort((a, b) => b.length - a.length);
  // A crashed engine can leave nested mounts that are gone by the time their turn comes: best effort.
  for (const m of mounts) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // already unmounted with its parent
    }
  }
}
