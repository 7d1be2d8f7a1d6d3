// Writes a plan file for people to read and edit: every setting present, each with a comment saying what it does.
import { stringify } from 'yaml';
import { DEFAULTS } from './load';

export interface PlanDraft {
  stack: string;
  gatewayVersion: string;
  gateways: { container: string; url: string; helloPath: string; current?: string; host?: string; apiUrl?: string }[];
  pumpVersion?: string;
  pumps: { container: string; healthUrl: string; current?: string; host?: string }[];
  /** Shown as a comment at the top: where the containers were found. */
  source: string;
  /** `init --backup-subfolder`: a folder inside each host worker's backup folder. */
  backupSubfolder?: string;
  /** One smoke request per keyless API found, with what it answers today; `today` absent or 5xx: written commented out. */
  smoke?: { name: string; path: string; today?: number; error?: string }[];
  /** From `init --haproxy-*`: HAProxy's Runtime API, the backend and each gateway's server (haproxySectionFor). */
  loadBalancer?: {
    haproxy: { socket?: string; address?: string; backend: string };
    drainTimeout: string;
    readyTimeout: string;
    servers: Record<string, string>;
  };
}

/** A YAML scalar, quoted only when YAML needs it. */
const v = (value: string | number | boolean) => stringify(value).trim();
const seconds = (ms: number) => `${ms / 1000}s`;

/** A line with its comment lined up in one column. */
const c = (content: string, comment?: string) => (comment ? `${content.padEnd(38)} # ${comment}` : content);

export function renderPlan(d: PlanDraft): string {
  const out = [
    `# Tyk upgrade plan, written by \`tyk-upgrade init\` (${d.source}).`,
    '# Check it with `tyk-upgrade plan -f <this file>`; reference: docs/cli.md.',
    c(`stack: ${v(d.stack)}`, `names the workflow: tyk-upgrade-${d.stack}`),
    'gateway:',
    c(`  version: ${v(d.gatewayVersion)}`, 'target: an exact release (v5.3.0 or 5.3.0)'),
    c('  # repository: docker.tyk.io/tyk-gateway/tyk-gateway', 'default: the repository each container runs now'),
    '  instances:',
  ];
  const hostLine = (indent: string, h?: string) => (h ? [c(`${indent}host: ${v(h)}`, `its worker: tyk-upgrade worker --host ${h}`)] : []);
  for (const g of d.gateways) {
    out.push(
      c(`    - container: ${v(g.container)}`, g.current && `runs ${g.current} now`),
      ...hostLine('      ', g.host),
      c(`      url: ${v(g.url)}`, `where /${g.helloPath} answers (listen_port, or control_api_port)`),
      c(`      helloPath: ${v(g.helloPath)}`, 'health_check_endpoint_name'),
      ...(g.apiUrl ? [c(`      apiUrl: ${v(g.apiUrl)}`, 'where its APIs answer (listen_port); smoke requests go here')] : []),
      ...(d.gateways.some((x) => x.host) ? [c('      # pool: default', 'gateways behind the same load balancer; maxUnavailable is per pool')] : []),
    );
  }
  if (d.pumps.length && d.pumpVersion) {
    out.push(
      'pump:',
      c(`  version: ${v(d.pumpVersion)}`, 'target: an exact release'),
      c('  # repository: tykio/tyk-pump-docker-pub', 'default: the repository each container runs now'),
    );
    if (d.pumps.length === 1 && !d.pumps[0].host) {
      const p = d.pumps[0];
      out.push(
        c(`  container: ${v(p.container)}`, p.current && `runs ${p.current} now`),
        c(`  healthUrl: ${v(p.healthUrl)}`, 'health_check_endpoint_port and _name'),
      );
    } else {
      out.push('  instances:');
      for (const p of d.pumps) {
        out.push(
          c(`    - container: ${v(p.container)}`, p.current && `runs ${p.current} now`),
          ...hostLine('      ', p.host),
          c(`      healthUrl: ${v(p.healthUrl)}`, 'health_check_endpoint_port and _name'),
        );
      }
    }
  } else {
    out.push('# pump:                                # no Tyk Pump container was found');
  }
  const fleet = d.gateways.length > 1;
  out.push(
    c(`gates: [${DEFAULTS.gates.join(', ')}]`, 'approval gates (also after-canary); [] for none'),
    c('# approvalTimeout: 24h', 'an undecided gate aborts after this (default: wait)'),
    c(`drainTimeout: ${seconds(DEFAULTS.drainTimeoutMs)}`, 'stop timeout for an old gateway (Tyk drains up to 30s)'),
    c(`healthTimeout: ${seconds(DEFAULTS.healthTimeoutMs)}`, 'how long a new container may take to become healthy'),
    c(`batchSize: ${DEFAULTS.batchSize}`, 'gateways at once: a number, "25%", or a ramp [1, 2, "25%"]'),
    ...(fleet
      ? [
          c('# maxUnavailable: 1', 'most gateways of one pool out at once (default: all but one)'),
          c('maxFailures: 0', 'failed instances tolerated (each is rolled back) before onFailure'),
          c('onFailure: rollback', 'rollback: everything this run changed; pause: ask a person'),
        ]
      : []),
    c(`soak: ${seconds(DEFAULTS.soakMs)}`, 'keep watching each healthy batch this long before the next one goes (0s: none)'),
    d.backupSubfolder
      ? c(`backupSubfolder: ${v(d.backupSubfolder)}`, "backups go in this folder inside each host worker's --backup-dir")
      : c('# backupSubfolder: prod', "backups go in each host worker's own --backup-dir; this names a folder inside it"),
    c('keepOldContainers: false', 'true: keep old containers, stopped, as <name>-pre-<tag>'),
    c('allowDowngrade: false', 'true: allow a target older than what runs'),
    c('allowPrerelease: false', 'true: allow targets such as v5.3.0-rc1'),
    c('compose: update', 'compose projects: set the new version in their compose file or .env (warn: only say so; ignore)'),
    ...loadBalancerLines(d.loadBalancer),
    c('# inventory: false', "each gateway's APIs and policies must be there on the new version (default: checked)"),
    ...smokeLines(d.smoke ?? []),
    c('# analysis: { window: 30s, max5xxRate: 1%, minRequests: 20 }', 'with haproxy: watch real traffic once back in rotation'),
    c('# unsupportedRedis: refuse', "a Redis Tyk's docs do not list for the target: refuse (default: warn)"),
    '',
  );
  return out.join('\n');
}

function smokeLines(smoke: NonNullable<PlanDraft['smoke']>): string[] {
  if (!smoke.length) return [c('# smoke: [{ path: /orders/status, expect: 200 }]', 'requests each new gateway must answer before it serves again')];
  const fine = smoke.filter((q) => q.today !== undefined && q.today < 500);
  const lines = fine.length
    ? [c('smoke:', 'one per keyless API found, expecting what it answered today')]
    : [c('# smoke:', 'no keyless API answered below 500 today')];
  for (const q of smoke) {
    const entry = `{ name: ${v(q.name)}, path: ${v(q.path)}, expect: ${q.today !== undefined && q.today < 500 ? q.today : 200} }`;
    if (fine.includes(q)) lines.push(`  - ${entry}`);
    else lines.push(c(`  # - ${entry}`, `answered ${q.today !== undefined ? `HTTP ${q.today}` : (q.error ?? 'nothing')} today: fix it, or leave it out`));
  }
  return lines;
}

function loadBalancerLines(lb: PlanDraft['loadBalancer']): string[] {
  if (!lb) return [c('# loadBalancer: none', 'or haproxy: / hooks: to take each gateway out of rotation before its stop (docs/load-balancers.md)')];
  const api = lb.haproxy.socket ? `socket: ${v(lb.haproxy.socket)}` : `address: ${v(lb.haproxy.address as string)}`;
  return [
    c('loadBalancer:', 'each gateway leaves HAProxy before its stop, returns once healthy (docs/load-balancers.md)'),
    c(`  haproxy: { ${api}, backend: ${v(lb.haproxy.backend)} }`, 'Runtime API at level admin'),
    c(`  drainTimeout: ${lb.drainTimeout}`, 'how long requests in flight may take to finish'),
    c(`  readyTimeout: ${lb.readyTimeout}`, 'how long HAProxy may take to see the new gateway UP'),
    c('  servers:', 'gateway container: HAProxy server (matched by address and port)'),
    ...Object.entries(lb.servers).map(([container, server]) => `    ${v(container)}: ${v(server)}`),
  ];
}
