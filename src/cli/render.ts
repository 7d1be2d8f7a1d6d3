// What the CLI prints about plans and upgrades. Pure: data in, text out. Nothing here may see a config value:
// the inputs are the plan, the dry-run report and the workflow status, none of which hold secrets.
import { approvalCount } from '../shared/approvals';
import { isAbsolute } from 'node:path';
import type { UpgradeExecution, UpgradeSummary } from '../client-lib/upgrades';
import { formatDuration } from '../shared/duration';
import type { DryRunReport } from '../activities/dry-run';
import { planBatches, failureBudget } from '../shared/batches';
import { instanceKey, workflowIdFor } from '../shared/names';
import { approverRows, signaturePolicy, signedBy, signedDecision } from '../shared/signed-decisions';
import { smokeName } from '../shared/serving';
import type { GateName, GateStatus, UpgradeInput, UpgradeStatus } from '../shared/types';
import { clock, dateTime, table } from './table';

const GATE_MEANING: Record<GateName, string> = {
  'before-gateways': 'after backup and pull, before the first gateway is replaced',
  'after-canary': 'after the first batch (the canary) is healthy, before the rest',
  'before-pump': 'after all gateways are healthy, before the pumps are replaced',
};

/** Where a run's backups go, from its plan: each host worker's folder, a subfolder of it, or (0.3) a path as given. */
export function backupWhere(input: UpgradeInput): string {
  const each = input.gateways.some((g) => g.host) ? "each host worker's" : "the worker's";
  if (!input.backupDir) return `in ${each} own folder (\`worker --backup-dir\`)`;
  if (isAbsolute(input.backupDir)) return `\`${input.backupDir}\`, as a 0.3 plan named it`;
  return `in \`${input.backupDir}\` inside ${each} own folder (\`worker --backup-dir\`)`;
}

/** Every host's dry run as one report; `backupDirs`: the folder each host's worker will write to. */
export function mergeReports(reports: DryRunReport[]): DryRunReport & { hosts: (string | undefined)[]; backupDirs: { host?: string; dir: string }[] } {
  return {
    hosts: reports.map((r) => r.host),
    backupDirs: reports.flatMap((r) => (r.backupDir ? [{ ...(r.host ? { host: r.host } : {}), dir: r.backupDir }] : [])),
    instances: reports.flatMap((r) => r.instances.map((i) => ({ ...i, ...(r.host ? { container: `${r.host}/${i.container}` } : {}) }))),
    images: reports.flatMap((r) =>
      r.images.map((i) => ({ ...i, ...(r.host ? { where: i.where && `${i.where} of ${r.host}`, problem: i.problem && `host ${r.host}: ${i.problem}` } : {}) })),
    ),
    redis:
      reports
        .map((r) => r.redis && (r.host ? `${r.host}: ${r.redis}` : r.redis))
        .filter(Boolean)
        .join('; ') || undefined,
    problems: reports.flatMap((r) => r.problems.map((p) => (r.host ? `host ${r.host}: ${p}` : p))),
    warnings: reports.flatMap((r) => r.warnings.map((w) => (r.host ? `host ${r.host}: ${w}` : w))),
    ...(reports.some((r) => r.compose)
      ? {
          compose: {
            files: reports.flatMap((r) => (r.compose?.files ?? []).map((f) => ({ ...f, ...(r.host ? { host: r.host } : {}) }))),
            notes: reports.flatMap((r) => (r.compose?.notes ?? []).map((n) => (r.host ? `${r.host}: ${n}` : n))),
          },
        }
      : {}),
    ...(reports.some((r) => r.loadBalancer)
      ? { loadBalancer: reports.flatMap((r) => (r.loadBalancer ?? []).map((s) => ({ ...s, ...(r.host ? { container: `${r.host}/${s.container}` } : {}) }))) }
      : {}),
  };
}

/** The compose files the upgrade will change, with the diff of each (changed lines only), per host. */
function composeLines(r: DryRunReport): string[] {
  if (!r.compose) return [];
  const out = ['Compose files changed once their services run the target (put back byte for byte on a rollback; docs/compose.md):'];
  for (const f of r.compose.files) {
    out.push(`  ${f.host ? `${f.host}: ` : ''}${f.path} (project ${f.project}; ${f.services.join(', ')})${f.detail ? `: ${f.detail}` : ''}`);
    out.push(...f.diff.split('\n').map((l) => `    ${l}`));
  }
  for (const n of r.compose.notes) out.push(`  ${n}`);
  return [...out, ''];
}

/** Four-eyes and signed approvals: who may decide, and how that is proven. */
function approverLines(input: UpgradeInput): string[] {
  const eyes = [
    ...((input.approvals ?? 1) > 1 ? [`${input.approvals} different approvers per gate`] : []),
    ...(input.approverMustDifferFromStarter ? ['the starter may not approve'] : []),
  ];
  if (!input.approvers?.length) return eyes.length ? [`Four-eyes: ${eyes.join('; ')} (by name: a claim; approvers: with SSH keys prove it).`] : [];
  return [`Signed decisions: ${signaturePolicy(input)}.`, table([['APPROVER', 'KEY TYPE', 'FINGERPRINT'], ...approverRows(input.approvers)], '  ')];
}

/** Who protects the requests in flight when each gateway stops: Tyk itself (5.8.3+), the load balancer, or nobody. */
function drainLines(input: UpgradeInput, r: DryRunReport): string[] {
  const gateways = r.instances.filter((i) => i.role === 'gateway' && i.drainsItself !== undefined);
  const itself = gateways.filter((i) => i.drainsItself).map((i) => i.container);
  const cut = gateways.filter((i) => !i.drainsItself).map((i) => i.container);
  const lb = input.loadBalancer;
  const out: string[] = [];
  if (lb) {
    const where = lb.type === 'haproxy' ? `HAProxy backend ${lb.backend} at ${lb.socket ?? lb.address}` : `hooks ${lb.beforeStop} / ${lb.afterHealthy}`;
    const waits =
      lb.type === 'haproxy'
        ? `drain up to ${formatDuration(lb.drainTimeoutMs)}, back UP within ${formatDuration(lb.readyTimeoutMs)}`
        : `each hook within ${formatDuration(lb.timeoutMs)}`;
    out.push(`Load balancer: ${where}; each gateway leaves it before its stop and comes back once healthy (${waits}):`);
    if (r.loadBalancer) out.push(table([['GATEWAY', 'SERVER', 'NOW'], ...r.loadBalancer.map((s) => [s.container, s.server, s.state])], '  '));
  }
  if (itself.length) {
    out.push(`Drain on stop by Tyk itself (5.8.3+ / 5.9+, within drainTimeout ${input.drainTimeoutSec} s): ${itself.join(', ')}.`);
    // Docker kills the gateway when its stop timeout ends, whatever Tyk is still draining.
    if (input.drainTimeoutSec < 30)
      out.push(
        `  drainTimeout ${input.drainTimeoutSec} s is shorter than Tyk's default graceful_shutdown_timeout_duration (30 s): requests still draining are cut; set drainTimeout: 40s.`,
      );
  }
  if (cut.length) {
    out.push(
      lb
        ? `Drain on stop by the load balancer only (Tyk before 5.8.3 cuts its requests in flight on stop): ${cut.join(', ')}.`
        : `No drain on stop for ${cut.join(', ')}: Tyk before 5.8.3 cuts its requests in flight, and the plan has no loadBalancer: to take ${cut.length === 1 ? 'it' : 'them'} out of rotation first (docs/load-balancers.md).`,
    );
  }
  return out.length ? [...out, ''] : [];
}

/** What each new gateway must serve before it goes back into rotation, and what the gateways serve today. */
export function servingLines(input: UpgradeInput, r: DryRunReport): string[] {
  const out = ['Serving checks on each new gateway, after its health check and before it goes back into rotation:'];
  const tolerate = input.inventory ? input.inventory.tolerate : undefined;
  const tolerated = [...(tolerate?.apis ?? []).map((a) => `api ${a}`), ...(tolerate?.policies ?? []).map((p) => `policy ${p}`)];
  out.push(
    input.inventory === false
      ? '  APIs and policies: not compared (inventory: false).'
      : `  APIs and policies: the same ids, listen paths and active flags as its old version served (read through the Gateway API before its stop)${tolerated.length ? `; may differ: ${tolerated.join(', ')}` : ''}.`,
  );
  if (input.smoke?.length) {
    out.push(`  Smoke requests, straight to each gateway, after its health check${input.soakMs ? ' and during the soak' : ''}:`);
    for (const q of input.smoke) {
      const headers = Object.entries(q.headersFromEnv ?? {}).map(([h, v]) => `${h} from $${v}`);
      out.push(
        `    ${smokeName(q)}: ${q.method} ${q.path} → ${q.expectStatus}${q.bodyContains !== undefined ? ` with "${q.bodyContains}" in the body` : ''}${headers.length ? ` (${headers.join(', ')} on the worker)` : ''}`,
      );
    }
  }
  if (input.analysis) {
    const a = input.analysis;
    out.push(
      `  Traffic analysis: ${formatDuration(a.windowMs)} of real traffic once back in HAProxy; more than ${Number((a.max5xxRate * 100).toFixed(2))}% 5xx or failed requests takes it out and rolls it back; fewer than ${a.minRequests} requests ${a.tooFewRequests === 'pass' ? 'is accepted' : 'fails it'}.`,
    );
  }
  const today = r.instances.filter((i) => i.serving);
  if (today.length) out.push('  Today:', ...today.map((i) => `    ${i.container}: ${i.serving}`));
  return [...out, ''];
}

export function renderDryRun(input: UpgradeInput, r: DryRunReport & { backupDirs?: { host?: string; dir: string }[] }, planFile: string): string {
  const out = [`Plan for stack "${input.stack}" (workflow ${workflowIdFor(input.stack)}). Dry run: nothing was changed.`, ''];
  out.push(
    table([
      ['CONTAINER', 'ROLE', 'STATE', 'NOW', 'TARGET', 'IMAGE AFTER'],
      ...r.instances.map((i) => [i.container, i.role, i.state, i.current ?? '?', i.target, i.targetImage ?? '?']),
    ]),
    '',
  );
  if (r.images.length) {
    out.push('Images pulled before any container is touched:');
    out.push(table([['IMAGE', 'AVAILABLE'], ...r.images.map((i) => [i.image, i.where ?? 'NO'])]), '');
  }
  const batches = planBatches(
    input.gateways.map((g) => ({ key: instanceKey(g), pool: g.pool, host: g.host })),
    input.batchSize,
    input.maxUnavailable,
  );
  out.push(
    `Gateway batches (${batches.length}; each one finishes healthy${input.soakMs ? ` and soaks ${formatDuration(input.soakMs)}` : ''} before the next):`,
  );
  for (const [i, b] of batches.entries()) out.push(`  ${i + 1}${i === 0 && batches.length > 1 ? ' (canary)' : ''}: ${b.join(', ')}`);
  const all = input.gateways.length + input.pumps.length;
  out.push(
    `Failure budget: ${failureBudget(input.maxFailures, all)} of ${all} instances (each failed one is rolled back on its own); past it: ${input.onFailure === 'pause' ? `pause for a person (retry, continue or roll back${input.pauseTimeoutMs ? `; roll back after ${formatDuration(input.pauseTimeoutMs)}` : ''})` : 'roll back everything this run changed, on every host'}.`,
    '',
  );
  out.push(
    input.gates.length
      ? `Approval gates: ${input.gates.map((g) => `${g} (${GATE_MEANING[g]})`).join('; ')}${input.approvalTimeoutMs ? `; an undecided gate aborts after ${formatDuration(input.approvalTimeoutMs)}` : ''}.`
      : 'Approval gates: none; the upgrade runs through without stopping.',
  );
  out.push(...approverLines(input));
  const folders = r.backupDirs ?? [];
  out.push(
    folders.length === 1 && !folders[0].host
      ? `Backup, before anything changes, to ${folders[0].dir} (folders 0700, files 0600, sha256 manifest):`
      : `Backup, before anything changes, on each host to its worker's folder (folders 0700, files 0600, sha256 manifest):`,
  );
  if (folders.length !== 1 || folders[0].host) for (const f of folders) out.push(`  ${f.host ?? 'local worker'}: ${f.dir}`);
  for (const i of r.instances) if (i.backup.length) out.push(`  ${i.container}: ${i.backup.join(', ')} and its inspect JSON`);
  if (r.redis) out.push(`  ${r.redis}`);
  out.push(
    `Order: gateways by batch (drain ${input.drainTimeoutSec} s, health timeout ${formatDuration(input.healthTimeoutMs)}, soak ${formatDuration(input.soakMs ?? 0)})` +
      `${input.pumps.length ? `, then the pump${input.pumps.length > 1 ? 's' : ''}` : ''}. Old containers are ${input.keepOldContainers ? 'kept, stopped' : 'removed once the new ones are verified'}.`,
    '',
  );
  out.push(...drainLines(input, r));
  out.push(...composeLines(r));
  out.push(...servingLines(input, r));
  for (const w of r.warnings) out.push(`Note: ${w}`, '');
  if (r.problems.length) {
    out.push(`${r.problems.length} problem${r.problems.length === 1 ? '' : 's'} would stop this upgrade at preflight:`);
    for (const p of r.problems) out.push(`  - ${p}`);
  } else {
    out.push(`Ready. Start it with: tyk-upgrade start -f ${planFile}`);
  }
  return out.join('\n');
}

const STAGE_MARK: Record<string, string> = { pending: '·', running: '▶', done: '✔', failed: '✖', skipped: '–' };

export function renderStatus(exec: UpgradeExecution, s: UpgradeStatus | undefined, link: string): string {
  const out = [
    `Upgrade ${exec.workflowId}${s ? ` of stack "${s.stack}"` : ''}: ${s ? s.outcome : exec.temporalStatus.toLowerCase()}${s?.outcome === 'running' ? ` (stage ${s.stage})` : ''}`,
    `  Temporal: ${exec.temporalStatus}, started ${dateTime(exec.startTime)}${exec.closeTime ? `, closed ${dateTime(exec.closeTime)}` : ''}, task queue ${exec.taskQueue}`,
    `  Web UI:   ${link}`,
  ];
  if (exec.scheduledFor) {
    out.push(
      '',
      `Scheduled: starts at ${dateTime(exec.scheduledFor)} (in ${formatDuration(Math.max(0, exec.scheduledFor.getTime() - Date.now()))}; start --at). Nothing has run yet; cancel it with \`tyk-upgrade cancel ${exec.workflowId}\`.`,
    );
    return out.join('\n');
  }
  if (!s) {
    out.push('', 'No status is available (the run was cancelled or terminated before it could report one).');
    return out.join('\n');
  }
  out.push(
    '',
    table([
      ['STAGE', 'STATE', 'STARTED', 'ENDED'],
      ...s.stages.map((st) => [st.name, `${STAGE_MARK[st.state]} ${st.state}`, clock(st.startedAt), clock(st.endedAt)]),
    ]),
  );
  const fleet = s.hosts.length > 0;
  if (s.instances.length) {
    out.push(
      '',
      table([
        [...(fleet ? ['HOST'] : []), 'CONTAINER', 'ROLE', 'BATCH', 'FROM', 'TO', 'STATE'],
        ...s.instances.map((i) => [
          ...(fleet ? [i.host ?? ''] : []),
          i.container,
          i.role,
          i.batch === undefined ? '' : i.batch === 0 ? 'pumps' : String(i.batch),
          i.fromVersion ?? '',
          i.toVersion,
          `${i.state}${i.detail ? `: ${i.detail}` : ''}`,
        ]),
      ]),
    );
    const serving = s.instances.filter((i) => i.serving);
    if (serving.length) out.push('', 'Serving:', ...serving.map((i) => `  ${instanceKey(i)}: ${i.serving}`));
  }
  if (s.batches.length) {
    const current = s.batches.find((b) => b.state === 'running' || b.state === 'rolling-back');
    const done = s.batches.filter((b) => b.state === 'done').length;
    out.push(
      '',
      `Batches: ${done} of ${s.batches.length} done${current ? `; batch ${current.name} ${current.state} (${current.workflowId})` : ''}. ` +
        `Failures: ${s.failures.count} (budget ${s.failures.budget}).`,
    );
  }
  if (s.pause) {
    const p = s.pause;
    out.push(
      '',
      p.state === 'waiting'
        ? `${p.kind === 'window' ? 'WAITING FOR THE MAINTENANCE WINDOW' : 'PAUSED'} since ${clock(p.since)}: ${p.reason}\n  Decide: tyk-upgrade resume ${exec.workflowId} ${p.kind === 'window' ? 'continue|rollback (continue: go on now, outside the window)' : 'retry|continue|rollback'}`
        : `Pause ${p.number}${p.kind === 'window' ? ' (maintenance window)' : ''}: ${p.state}${p.choice ? ` (${p.choice} by ${p.by} at ${clock(p.at)}${p.comment ? `: ${p.comment}` : ''})` : ''}`,
    );
  }
  if (s.window) out.push('', windowLine(s.window));
  const gates = s.gates.filter((g) => g.state !== 'skipped');
  if (gates.length) {
    out.push(
      '',
      table([
        ['GATE', 'STATE', 'BY', 'AT', 'COMMENT'],
        ...gates.map((g) => [g.gate, gateState(g), g.by ?? (g.approvals ?? []).map((a) => a.by).join(', '), clock(g.at ?? g.waitingSince), g.comment ?? '']),
      ]),
    );
  }
  if (s.signatures?.length) {
    out.push('', 'Signed decisions (each verified by the workflow; `tyk-upgrade report` lists the statements to re-check):');
    for (const x of s.signatures) out.push(`  ${signedDecision(x)}: ${signedBy(x)}, signed ${dateTime(x.signedAt)}`);
  }
  for (const r of s.refused ?? []) out.push(`${r === s.refused?.[0] ? '\n' : ''}Refused at ${clock(r.at)} (not acted on): ${r.asked}: ${r.type}: ${r.message}`);
  const waiting = s.gates.find((g) => g.state === 'waiting');
  if (waiting)
    out.push(
      '',
      `Waiting for approval at ${waiting.gate}: ${approveCommand(exec.workflowId, waiting.gate)}${s.signaturesRequired ? ' --sign-key KEY (signed decisions only)' : ''}`,
    );
  for (const b of s.backups) {
    out.push(
      `${b === s.backups[0] ? '\n' : ''}Backup: ${b.host ? `${b.host}:` : ''}${b.dir} (${b.files} files; ${b.redis})${b.manifestSha256 ? `\n  manifest sha256 ${b.manifestSha256}` : ''}`,
    );
  }
  if (s.notifications?.length) {
    const failed = s.notifications.filter((n) => n.failed.length).length;
    out.push(
      `Notifications: ${s.notifications.length} sent${failed ? `, ${failed} not delivered everywhere (see the warnings)` : ''}; \`tyk-upgrade report\` lists them.`,
    );
  }
  if (s.pull) out.push(`Pull:   ${s.pull}`);
  if (s.compose?.length) {
    out.push(
      '',
      table([
        [...(fleet ? ['HOST'] : []), 'COMPOSE FILE', 'SERVICES', 'STATE', 'SHA256 BEFORE → AFTER'],
        ...s.compose.map((f) => [
          ...(fleet ? [f.host ?? ''] : []),
          f.path,
          f.services.join(', '),
          `${f.state}${f.detail ? `: ${f.detail}` : ''}`,
          `${f.sha256Before.slice(0, 12)} → ${(f.state === 'updated' || f.state === 'pending' ? f.sha256After : f.sha256Before).slice(0, 12)}`,
        ]),
      ]),
    );
  }
  if (s.reason) out.push('', `Reason: ${s.reason}`);
  const notes = s.errors.filter((e) => e !== s.reason);
  if (notes.length) out.push('', ...notes.map((e) => `  ${e}`));
  return out.join('\n');
}

/** "Maintenance window Sat 02:00-04:00 Europe/Berlin: open until …", or closed until when, or overridden by whom. */
export function windowLine(w: NonNullable<UpgradeStatus['window']>): string {
  const now =
    w.state === 'open'
      ? `open until ${dateTime(w.closesAt)}`
      : w.state === 'overridden'
        ? `overridden by ${w.overriddenBy} at ${dateTime(w.overriddenAt)}: the upgrade goes on outside it`
        : `closed; ${w.opensAt ? `the next opens at ${dateTime(w.opensAt)}` : 'none opens in the coming week'}`;
  return `Maintenance window${w.windows.length > 1 ? 's' : ''} ${w.windows.join('; ')}: ${now}. No container is stopped outside ${w.windows.length > 1 ? 'them' : 'it'}.`;
}

/** "waiting (1 of 2 approvals)" under four-eyes. */
export function gateState(g: GateStatus): string {
  return g.required && g.state === 'waiting' ? `waiting (${approvalCount(g, { names: false })})` : g.state;
}

export function renderList(items: UpgradeSummary[]): string {
  if (!items.length) return 'No upgrades yet. Start one with `tyk-upgrade start -f plan.yaml`.';
  return table(
    [
      ['WORKFLOW ID', 'STACK', 'HOSTS', 'TARGET', 'STATUS', 'STAGE', 'STARTED', 'CLOSED'],
      ...items.map((u) => [
        u.workflowId,
        u.stack ?? '',
        u.hosts.length ? String(u.hosts.length) : '-',
        u.targetVersion ?? '',
        u.temporalStatus,
        u.scheduledFor ? `scheduled for ${dateTime(u.scheduledFor)}` : (u.stage ?? ''),
        dateTime(u.startTime),
        dateTime(u.closeTime),
      ]),
    ],
    '',
  );
}

export function approveCommand(workflowId: string, gate: GateName): string {
  return `tyk-upgrade approve ${workflowId} --gate ${gate}`;
}

export function rejectCommand(workflowId: string, gate: GateName): string {
  return `tyk-upgrade reject ${workflowId} --gate ${gate} --reason "..."`;
}
