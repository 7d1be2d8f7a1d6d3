// `tyk-upgrade init`: asks each host's worker (through Temporal) for the Tyk gateways and pumps on its engine and
// writes one plan file for them all.
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { parsePlanText } from '../../plan/parse';
import { PlanError } from '../../plan/problems';
import { renderPlan } from '../../plan/render';
import type { FoundContainer } from '../../activities/discover';
import { discover, discoverHaproxy, fleetWorkers } from '../../client-lib/fleet';
import { haproxySectionFor, loadBalancerSection } from '../../plan/load-balancer';
import { HOST_NAME } from '../../shared/names';
import { CliError, Exit } from '../exit-codes';
import { versionOption } from '../options';
import { note, print } from '../output';
import { table } from '../table';
import { explainTemporalError, withTemporal, type TemporalOptions } from '../temporal';
import { refuseSilentHosts, requireWorkers } from '../workers';

export interface InitFlags {
  label: string[];
  /** Hosts to ask; default: every host whose worker polls the task queue. */
  host: string[];
  taskQueue: string;
  stack?: string;
  gatewayVersion: string;
  pumpVersion?: string;
  allowPrerelease?: boolean;
  output: string;
  force?: boolean;
  backupSubfolder?: string;
  /** 0.3's option: refused with what to do instead. */
  backupDir?: string;
  haproxySocket?: string;
  haproxyAddress?: string;
  haproxyBackend?: string;
}

interface Found extends FoundContainer {
  host?: string;
}

export async function initCommand(f: InitFlags, g: TemporalOptions): Promise<void> {
  const gatewayVersion = versionOption('--gateway-version', f.gatewayVersion, !!f.allowPrerelease, 'v5.3.0') as string;
  const pumpVersion = versionOption('--pump-version', f.pumpVersion, !!f.allowPrerelease, 'v1.10.0');
  const badHost = f.host.find((h) => !HOST_NAME.test(h));
  if (badHost !== undefined) throw new CliError(`--host "${badHost}" is not a host name: 1–63 letters, digits, "_", "." or "-"`, Exit.Usage);
  if (f.backupDir !== undefined) {
    throw new CliError(
      "--backup-dir: the backup folder belongs to each host's worker now (`tyk-upgrade worker --backup-dir DIR`, on that host); " +
        "to keep this stack's backups in a folder of their own inside it, give --backup-subfolder NAME",
      Exit.Usage,
    );
  }
  const haproxy = haproxyTarget(f);
  if (existsSync(f.output) && !f.force) {
    throw new CliError(`${f.output} already exists; write elsewhere with -o FILE, or replace it with --force`, Exit.Usage);
  }
  const { found, loadBalancer } = await withTemporal(g, async (session) => {
    const workers = await fleetWorkers(session.client, f.taskQueue).catch((err) => {
      throw explainTemporalError(err, 'cannot look up the workers');
    });
    // Asked hosts, else every host worker that polls, else the local worker (a single-host setup such as `dev`).
    const hosts: (string | undefined)[] = f.host.length ? f.host : workers.hosts.length ? workers.hosts : [undefined];
    await requireWorkers(session, hosts, f.taskQueue);
    const answers = await discover(session.client, hosts, f.label, f.taskQueue, session.workerTimeoutMs).catch((err) => {
      throw explainTemporalError(err, 'discovery failed', f.taskQueue);
    });
    refuseSilentHosts(answers);
    const failed = answers.filter((a) => a.error);
    if (failed.length) {
      const docker = failed.some((a) => /cannot reach its Docker engine/.test(a.error ?? ''));
      throw new CliError(
        `cannot look for Tyk containers: ${failed.map((a) => `${a.host ? `host ${a.host}: ` : ''}${a.error}`).join('; ')}`,
        docker ? Exit.DockerUnreachable : Exit.StackNotReady,
      );
    }
    const all = answers.flatMap((a) => (a.result ?? []).map((c): Found => ({ ...c, ...(a.host ? { host: a.host } : {}) })));
    const gateways = all.filter((c) => c.role === 'gateway');
    if (!haproxy || !gateways.length) return { found: all, loadBalancer: undefined };
    // Asked on the first gateway's host, where the load-balancer activities of the upgrade run too.
    const asked = await discoverHaproxy(
      session.client,
      {
        host: gateways[0].host ?? null,
        haproxy,
        gateways: gateways.map((c) => ({ container: c.container, url: c.url })),
        ...(f.haproxyBackend ? { backend: f.haproxyBackend } : {}),
      },
      f.taskQueue,
      session.workerTimeoutMs,
    ).catch((err) => {
      throw explainTemporalError(err, 'HAProxy discovery failed', f.taskQueue);
    });
    refuseSilentHosts([asked]);
    const where = haproxy.socket ?? haproxy.address;
    if (asked.error || !asked.result) throw new CliError(`cannot read HAProxy's servers at ${where}: ${asked.error}`, Exit.StackNotReady);
    const match = asked.result.match;
    if ('problem' in match) throw new CliError(`cannot match the gateways to HAProxy's servers at ${where}: ${match.problem}`, Exit.StackNotReady);
    return { found: all, loadBalancer: haproxySectionFor(haproxy, match) };
  });
  const hostNames = [...new Set(found.map((c) => c.host).filter((h): h is string => !!h))];
  const where = `${hostNames.length ? `on host${hostNames.length === 1 ? '' : 's'} ${hostNames.join(', ')}` : "on the worker's Docker engine"}${f.label.length ? ` with label ${f.label.join(', ')}` : ''}`;
  const gateways = found.filter((c) => c.role === 'gateway');
  const pumps = found.filter((c) => c.role === 'pump');
  if (!gateways.length) {
    throw new CliError(
      `no running Tyk gateway container found ${where}. Tyk containers are recognised by an image named *tyk-gateway* or *tyk-pump*, ` +
        'the entrypoint /opt/tyk-gateway/tyk, or the label io.tyk-upgrade.role=gateway|pump; start them, or change --label',
      Exit.StackNotReady,
    );
  }
  const groups = [...new Set(found.map((c) => c.group ?? '(no project label)'))];
  if (groups.length > 1) {
    throw new CliError(
      `found Tyk containers of ${groups.length} stacks ${where} (${groups.join(', ')}); a plan covers one: ` +
        'choose with --label io.tyk-upgrade.sandbox=NAME or --label com.docker.compose.project=NAME',
      Exit.StackNotReady,
    );
  }
  const perHost = new Map<string, number>();
  for (const p of pumps) perHost.set(p.host ?? '', (perHost.get(p.host ?? '') ?? 0) + 1);
  const crowded = [...perHost].find(([, n]) => n > 1);
  if (crowded) {
    throw new CliError(
      `found ${crowded[1]} Tyk Pump containers${crowded[0] ? ` on host ${crowded[0]}` : ''} (${pumps.map((p) => p.container).join(', ')}); a plan has one pump per host: narrow the search with --label`,
      Exit.StackNotReady,
    );
  }
  if (pumps.length && !pumpVersion)
    throw new CliError(
      `found the pump${pumps.length > 1 ? 's' : ''} ${pumps.map(nameOf).join(', ')}; give the target version with --pump-version (e.g. v1.10.0)`,
      Exit.Usage,
    );
  if (!pumps.length && pumpVersion) note(`note: no Tyk Pump container found ${where}; --pump-version is ignored`);

  const stack = f.stack ?? found[0].group ?? 'tyk';
  const text = renderPlan({
    stack,
    gatewayVersion,
    gateways: gateways.map((c) => ({
      container: c.container,
      url: c.url,
      helloPath: c.helloPath,
      current: c.version,
      ...(c.host ? { host: c.host } : {}),
      ...(c.apiUrl ? { apiUrl: c.apiUrl } : {}),
    })),
    smoke: smokeProposals(gateways),
    pumpVersion,
    pumps: pumps.map((c) => ({ container: c.container, healthUrl: c.url, current: c.version, ...(c.host ? { host: c.host } : {}) })),
    source: `found ${where}`,
    ...(f.backupSubfolder ? { backupSubfolder: f.backupSubfolder } : {}),
    loadBalancer,
  });
  try {
    parsePlanText(text, f.output); // never write a plan that `plan` would refuse
  } catch (err) {
    if (err instanceof PlanError) throw new CliError(`cannot write a valid plan from what was found:\n${err.message}`, Exit.Usage);
    throw err;
  }
  await writeFile(f.output, text, { flag: f.force ? 'w' : 'wx' });
  print(`Found ${where}:`);
  const fleet = hostNames.length > 0;
  print(
    table([[...(fleet ? ['HOST'] : []), 'CONTAINER', 'ROLE', 'VERSION', 'HEALTH URL'], ...found.map((c) => [...(fleet ? [c.host ?? ''] : []), ...row(c)])]),
  );
  for (const c of found) if (c.note) note(`note: ${nameOf(c)}: ${c.note}`);
  if (loadBalancer) {
    print(
      `HAProxy backend "${loadBalancer.haproxy.backend}": ${Object.entries(loadBalancer.servers)
        .map(([c, s]) => `${c} is server ${s}`)
        .join(', ')}.`,
    );
  }
  print(`Wrote ${f.output} (stack "${stack}"). Next: tyk-upgrade plan -f ${f.output}`);
}

/** --haproxy-socket or --haproxy-address, checked as the plan will check them. */
function haproxyTarget(f: InitFlags): { socket?: string; address?: string } | undefined {
  if (f.haproxySocket === undefined && f.haproxyAddress === undefined) {
    if (f.haproxyBackend !== undefined) throw new CliError('--haproxy-backend needs --haproxy-socket or --haproxy-address', Exit.Usage);
    return undefined;
  }
  if (f.haproxySocket !== undefined && f.haproxyAddress !== undefined) throw new CliError('give --haproxy-socket or --haproxy-address, not both', Exit.Usage);
  const target = f.haproxySocket !== undefined ? { socket: f.haproxySocket } : { address: f.haproxyAddress };
  const checked = loadBalancerSection.safeParse({ haproxy: { ...target, backend: f.haproxyBackend ?? 'tyk' } });
  if (!checked.success) {
    const flag = (path: PropertyKey[]) =>
      path.includes('backend') ? '--haproxy-backend' : f.haproxySocket !== undefined ? '--haproxy-socket' : '--haproxy-address';
    throw new CliError(checked.error.issues.map((i) => `${flag(i.path)}: ${i.message}`).join('; '), Exit.Usage);
  }
  return target;
}

/** One request per keyless API (gateways of a stack share their APIs: the first answer found counts). */
function smokeProposals(gateways: Found[]): { name: string; path: string; today?: number; error?: string }[] {
  const byId = new Map<string, { name: string; path: string; today?: number; error?: string }>();
  for (const api of gateways.flatMap((g) => g.keyless ?? [])) {
    if (!byId.has(api.id))
      byId.set(api.id, { name: api.id, path: api.listenPath, ...(api.status !== undefined ? { today: api.status } : { error: api.error }) });
  }
  return [...byId.values()];
}

const nameOf = (c: Found) => (c.host ? `${c.host}/${c.container}` : c.container);

function row(c: FoundContainer): string[] {
  return [c.container, c.role, c.version ?? '?', c.role === 'gateway' ? `${c.url}/${c.helloPath}` : c.url];
}
