// `tyk-upgrade doctor`: checks what an upgrade needs, before one is started or after one went wrong, and says
// for each problem what is wrong and how to fix it. It changes nothing.
import { access, constants } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import Docker from 'dockerode';
import { freeBytes, MIN_FREE_BYTES, mib } from '../../activities/backup-folder';
import { orphanedDevServers, serverState } from '../../devserver/pid-file';
import { fleetWorkers, hostsWithoutWorker, workflowWorkerPolling } from '../../client-lib/fleet';
import { failedContainerName, hostTaskQueue, newContainerName, oldContainerName, SEARCH_ATTRIBUTES } from '../../shared/names';
import { dockerAddress } from '../docker';
import { CliError, Exit, type ExitCode } from '../exit-codes';
import { print } from '../output';
import { connectTemporal, type TemporalOptions, type TemporalSession } from '../temporal';

export interface DoctorFlags {
  taskQueue: string[];
  /** Hosts of a fleet whose workers must poll (besides those seen on the task queue). */
  host: string[];
  backupDir: string;
  dbFile: string;
}

interface Finding {
  check: string;
  /** ok; warn (worth knowing, does not stop an upgrade); fail (an upgrade would fail or wait forever). */
  level: 'ok' | 'warn' | 'fail';
  text: string;
  fix?: string;
  /** Exit code when this fails (docs/cli.md). */
  code?: ExitCode;
}

export async function doctorCommand(f: DoctorFlags, g: TemporalOptions): Promise<void> {
  const findings: Finding[] = [];
  const add = (x: Finding) => findings.push(x);

  await checkTemporal(g, f.taskQueue, f.host, add);
  await checkDocker(add);
  checkDevServers(resolve(f.dbFile), add);
  await checkBackupDir(resolve(f.backupDir), add);

  const width = Math.max(...findings.map((x) => x.check.length));
  for (const x of findings) {
    print(`${x.level === 'ok' ? 'ok  ' : x.level.toUpperCase()}  ${x.check.padEnd(width)}  ${x.text}`);
    if (x.fix && x.level !== 'ok') print(`${' '.repeat(width + 8)}fix: ${x.fix}`);
  }
  const failed = findings.filter((x) => x.level === 'fail');
  const warned = findings.filter((x) => x.level === 'warn').length;
  if (failed.length) {
    throw new CliError(
      `doctor: ${failed.length} problem${failed.length > 1 ? 's' : ''} (${[...new Set(failed.map((x) => x.check))].join(', ')})${warned ? ` and ${warned} warning${warned > 1 ? 's' : ''}` : ''}; see the fixes above`,
      failed[0].code ?? Exit.StackNotReady,
    );
  }
  print(warned ? `\nReady, with ${warned} warning${warned > 1 ? 's' : ''}.` : '\nReady for an upgrade.');
}

async function checkTemporal(g: TemporalOptions, queues: string[], named: string[], add: (f: Finding) => void): Promise<void> {
  let s: TemporalSession;
  try {
    s = await connectTemporal(g);
  } catch (err) {
    // connectTemporal's message already says what to do.
    add({ check: 'Temporal', level: 'fail', text: (err as Error).message, code: Exit.TemporalUnreachable });
    return;
  }
  try {
    add({ check: 'Temporal', level: 'ok', text: `${s.address} answers; namespace "${s.namespace}" exists` });
    const res = await s.client.connection.operatorService.listSearchAttributes({ namespace: s.namespace });
    const have = new Set(Object.keys(res.customAttributes ?? {}));
    const missing = SEARCH_ATTRIBUTES.filter((k) => !have.has(k.name));
    add(
      missing.length
        ? {
            check: 'Search attributes',
            level: 'fail',
            text: `not registered in namespace "${s.namespace}": ${missing.map((k) => k.name).join(', ')} (an upgrade cannot start without them)`,
            fix: missing.map((k) => `temporal operator search-attribute create --namespace ${s.namespace} --name ${k.name} --type Keyword`).join('; '),
            code: Exit.TemporalUnreachable,
          }
        : { check: 'Search attributes', level: 'ok', text: SEARCH_ATTRIBUTES.map((k) => k.name).join(', ') },
    );
    for (const q of queues) {
      // Workflows run on the main queue; Docker work on it (one machine) or on each host's own queue (a fleet).
      const fleet = await fleetWorkers(s.client, q);
      const hosts = [...new Set([...fleet.hosts, ...named])].sort();
      add(
        (await workflowWorkerPolling(s.client, q))
          ? {
              check: 'Workers',
              level: 'ok',
              text: `a worker runs the workflows of task queue "${q}"${fleet.hosts.length ? ` (hosts: ${fleet.hosts.join(', ')})` : ''}`,
            }
          : {
              check: 'Workers',
              level: 'fail',
              text: `no worker polls task queue "${q}": an upgrade started there would wait`,
              fix: `run \`tyk-upgrade worker --task-queue ${q}\` on the machine with the stack's Docker engine (or \`tyk-upgrade dev\`; for a fleet, \`tyk-upgrade worker --host NAME\` on each host)`,
              code: Exit.TemporalUnreachable,
            },
      );
      const missing = new Set(await hostsWithoutWorker(s.client, hosts, q));
      for (const h of hosts) {
        add(
          missing.has(h)
            ? {
                check: 'Workers',
                level: 'fail',
                text: `no worker polls host "${h}" (task queue ${hostTaskQueue(h)}): its containers cannot be upgraded`,
                fix: `run \`tyk-upgrade worker --host ${h}\` on that machine`,
                code: Exit.TemporalUnreachable,
              }
            : { check: 'Workers', level: 'ok', text: `host "${h}" has a worker` },
        );
      }
    }
  } finally {
    await s.close();
  }
}

async function checkDocker(add: (f: Finding) => void): Promise<void> {
  const docker = new Docker();
  let version: string;
  try {
    version = (await withTimeout(docker.version(), 5000)).Version;
  } catch (err) {
    add({
      check: 'Docker',
      level: 'fail',
      text: `cannot reach the engine at ${dockerAddress()}: ${(err as Error).message}`,
      fix: 'start dockerd, or set DOCKER_HOST to the engine that runs Tyk',
      code: Exit.DockerUnreachable,
    });
    return;
  }
  add({ check: 'Docker', level: 'ok', text: `engine ${version} at ${dockerAddress()}` });

  const images = (await docker.listImages()).flatMap((i) => i.RepoTags ?? []).filter((t) => /tyk-(gateway|pump)/.test(t));
  const gateways = images.filter((t) => t.includes('tyk-gateway'));
  const pumps = images.filter((t) => t.includes('tyk-pump'));
  add(
    gateways.length
      ? {
          check: 'Images',
          level: 'ok',
          text: `${gateways.length} gateway and ${pumps.length} pump image${pumps.length === 1 ? '' : 's'} on the engine (${[...gateways, ...pumps].slice(0, 4).join(', ')}${images.length > 4 ? ', ...' : ''})`,
        }
      : {
          check: 'Images',
          level: 'warn',
          text: 'no Tyk gateway image on the engine (an upgrade pulls its target, but the stack itself needs one)',
          fix: 'docker pull docker.tyk.io/tyk-gateway/tyk-gateway:vX.Y.Z, or build the stand-ins with `bash rig/standins.sh`',
        },
  );

  // Names an upgrade gives containers while it holds them (src/shared/names.ts): left over when one did not finish.
  const suffixes = [oldContainerName(''), newContainerName(''), failedContainerName('')];
  const leftovers = (await docker.listContainers({ all: true }))
    .flatMap((c) => c.Names.map((n) => ({ name: n.replace(/^\//, ''), state: c.State })))
    .filter((c) => suffixes.some((s) => c.name.endsWith(s)));
  if (leftovers.length === 0) add({ check: 'Leftovers', level: 'ok', text: 'no container renamed by an unfinished upgrade' });
  for (const c of leftovers) {
    const original = suffixes.reduce((n, s) => (n.endsWith(s) ? n.slice(0, -s.length) : n), c.name);
    add({
      check: 'Leftovers',
      level: 'warn',
      text: `${c.name} (${c.state}) belongs to ${original}: a running upgrade holds it, or one did not finish (then a new upgrade of ${original} is refused)`,
      fix: `\`tyk-upgrade list\`: if an upgrade of it still runs, let it finish; if not, check that ${original} serves, inspect ${c.name} and \`docker rm ${c.name}\``,
    });
  }
}

function checkDevServers(dbFile: string, add: (f: Finding) => void): void {
  const state = serverState(dbFile);
  const orphans = orphanedDevServers();
  if (state.kind === 'owned')
    add({
      check: 'Dev server',
      level: 'ok',
      text: `pid ${state.record.pid} serves ${dbFile} on ${state.record.address} (started by process ${state.record.parentPid})`,
    });
  for (const o of orphans) {
    add({
      check: 'Dev server',
      level: 'warn',
      text: `orphaned Temporal dev server pid ${o.pid}${o.dbFile ? ` for ${o.dbFile}` : ''}: the process that started it is gone; it holds its port and db file`,
      fix: o.dbFile ? `\`tyk-upgrade dev --db-file ${o.dbFile}\` stops it and starts a fresh one (or: kill ${o.pid})` : `kill ${o.pid}`,
    });
  }
  if (state.kind !== 'owned' && orphans.length === 0) add({ check: 'Dev server', level: 'ok', text: 'no orphaned Temporal dev server' });
}

async function checkBackupDir(dir: string, add: (f: Finding) => void): Promise<void> {
  // The folder may not exist yet (the worker makes it at start): check the nearest one that does.
  let existing = dir;
  for (;;) {
    try {
      await access(existing, constants.F_OK);
      break;
    } catch {
      if (dirname(existing) === existing) break;
      existing = dirname(existing);
    }
  }
  try {
    await access(existing, constants.W_OK);
  } catch {
    add({
      check: 'Backup folder',
      level: 'fail',
      text: `${existing} is not writable (backups go to ${dir})`,
      fix: "give the worker's user write access, or start the worker with --backup-dir DIR (a folder it can write)",
      code: Exit.StackNotReady,
    });
    return;
  }
  const { free } = await freeBytes(existing);
  add(
    free < MIN_FREE_BYTES
      ? {
          check: 'Backup folder',
          level: 'fail',
          text: `${dir}: ${mib(free)} free (at least ${mib(MIN_FREE_BYTES)} needed)`,
          fix: 'free some space there, or start the worker with --backup-dir DIR on a file system with room',
          code: Exit.StackNotReady,
        }
      : { check: 'Backup folder', level: 'ok', text: `${dir} writable, ${mib(free)} free` },
  );
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([p, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${ms / 1000} s`)), ms)))]).finally(
    () => clearTimeout(timer),
  );
}
