// What the CLI prints about plans and upgrades. Pure: data in, text out. Nothing here may see a config value:
// the inputs are the plan, the dry-run report and the workflow status, none of which hold secrets.
import type { UpgradeExecution, UpgradeSummary } from '../client-lib/upgrades';
import { formatDuration } from '../plan/duration';
import { workflowIdFor } from '../shared/names';
import type { GateName, UpgradeStatus } from '../shared/types';
import type { DryRunReport } from './dry-run';
import { clock, dateTime, table } from './table';

const GATE_MEANING: Record<GateName, string> = {
  'before-gateways': 'after backup and pull, before the first gateway is replaced',
  'before-pump': 'after all gateways are healthy, before the pump is replaced',
};

export function renderDryRun(r: DryRunReport, planFile: string): string {
  const { input } = r;
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
  out.push(
    input.gates.length
      ? `Approval gates: ${input.gates.map((g) => `${g} (${GATE_MEANING[g]})`).join('; ')}${input.approvalTimeoutMs ? `; an undecided gate aborts after ${formatDuration(input.approvalTimeoutMs)}` : ''}.`
      : 'Approval gates: none; the upgrade runs through without stopping.',
  );
  out.push(`Backup, before anything changes, to ${input.backupDir}/${input.stack}/<run id> (folders 0700, files 0600, sha256 manifest):`);
  for (const i of r.instances) if (i.backup.length) out.push(`  ${i.container}: ${i.backup.join(', ')} and its inspect JSON`);
  if (r.redis) out.push(`  ${r.redis}`);
  out.push(
    `Order: gateways ${input.batchSize === 1 ? 'one at a time' : `${input.batchSize} at a time`} (drain ${input.drainTimeoutSec} s, health timeout ${formatDuration(input.healthTimeoutMs)}, soak ${formatDuration(input.soakMs ?? 0)})` +
      `${input.pump ? ', then the pump' : ''}; a failed health check rolls back. Old containers are ${input.keepOldContainers ? 'kept, stopped' : 'removed once the new ones are verified'}.`,
    '',
  );
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
  if (!s) {
    out.push('', 'No status is available (the run was cancelled or terminated before it could report one).');
    return out.join('\n');
  }
  out.push('', table([['STAGE', 'STATE', 'STARTED', 'ENDED'], ...s.stages.map((st) => [st.name, `${STAGE_MARK[st.state]} ${st.state}`, clock(st.startedAt), clock(st.endedAt)])]));
  if (s.instances.length) {
    out.push(
      '',
      table([
        ['CONTAINER', 'ROLE', 'FROM', 'TO', 'STATE'],
        ...s.instances.map((i) => [i.container, i.role, i.fromVersion ?? '', i.toVersion, `${i.state}${i.detail ? `: ${i.detail}` : ''}`]),
      ]),
    );
  }
  const gates = s.gates.filter((g) => g.state !== 'skipped');
  if (gates.length) {
    out.push(
      '',
      table([
        ['GATE', 'STATE', 'BY', 'AT', 'COMMENT'],
        ...gates.map((g) => [g.gate, g.state, g.by ?? '', clock(g.at ?? g.waitingSince), g.comment ?? '']),
      ]),
    );
  }
  const waiting = s.gates.find((g) => g.state === 'waiting');
  if (waiting) out.push('', `Waiting for approval at ${waiting.gate}: ${approveCommand(exec.workflowId, waiting.gate)}`);
  if (s.backup) out.push('', `Backup: ${s.backup.dir} (${s.backup.files} files; ${s.backup.redis})`);
  if (s.pull) out.push(`Pull:   ${s.pull}`);
  if (s.reason) out.push('', `Reason: ${s.reason}`);
  const notes = s.errors.filter((e) => e !== s.reason);
  if (notes.length) out.push('', ...notes.map((e) => `  ${e}`));
  return out.join('\n');
}

export function renderList(items: UpgradeSummary[]): string {
  if (!items.length) return 'No upgrades yet. Start one with `tyk-upgrade start -f plan.yaml`.';
  return table([
    ['WORKFLOW ID', 'STACK', 'TARGET', 'STATUS', 'STAGE', 'STARTED', 'CLOSED'],
    ...items.map((u) => [u.workflowId, u.stack ?? '', u.targetVersion ?? '', u.temporalStatus, u.stage ?? '', dateTime(u.startTime), dateTime(u.closeTime)]),
  ], '');
}

export function approveCommand(workflowId: string, gate: GateName): string {
  return `tyk-upgrade approve ${workflowId} --gate ${gate}`;
}

export function rejectCommand(workflowId: string, gate: GateName): string {
  return `tyk-upgrade reject ${workflowId} --gate ${gate} --reason "..."`;
}
