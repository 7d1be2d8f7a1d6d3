// The Markdown the Web UI shows as the workflow's current details. Pure.
import { workflowIdFor } from '../shared/names';
import type { UpgradeStatus } from '../shared/types';

const MARK: Record<string, string> = {
  pending: '·',
  running: '▶',
  done: '✔',
  failed: '✖',
  skipped: '–',
};

const MARK_BATCH: Record<string, string> = { pending: '·', running: '▶', done: '✔', failed: '✖', 'rolling-back': '↩', 'rolled-back': '↩' };

/** `namespace` makes each batch's child workflow a link in the Web UI (root-relative, so any UI address works). */
export function renderDetails(s: UpgradeStatus, namespace = 'default'): string {
  const lines = [`**Tyk upgrade of \`${s.stack}\`** — ${s.outcome === 'running' ? `stage **${s.stage}**` : `**${s.outcome}**`}`, ''];
  lines.push('| stage | state | started | ended |', '|---|---|---|---|');
  for (const st of s.stages) {
    lines.push(`| ${st.name} | ${MARK[st.state]} ${st.state} | ${st.startedAt ?? ''} | ${st.endedAt ?? ''} |`);
  }
  if (s.instances.length) {
    lines.push('', '| host | container | role | batch | from | to | state |', '|---|---|---|---|---|---|---|');
    for (const i of s.instances) {
      const batch = i.batch === undefined ? '' : i.batch === 0 ? 'pumps' : String(i.batch);
      lines.push(
        `| ${i.host ?? ''} | ${i.container} | ${i.role} | ${batch} | ${i.fromVersion ?? ''} | ${i.toVersion} | ${i.state}${i.detail ? `: ${escapeCell(i.detail)}` : ''}${i.serving ? ` — ${escapeCell(i.serving)}` : ''} |`,
      );
    }
  }
  if (s.batches.length) {
    const done = s.batches.filter((b) => b.state === 'done').length;
    lines.push('', `**Batches:** ${done} of ${s.batches.length} done. **Failures:** ${s.failures.count} (budget ${s.failures.budget}).`, '');
    lines.push('| batch | instances | state | workflow |', '|---|---|---|---|');
    for (const b of s.batches) {
      const link = b.workflowId ? `[${b.workflowId}](/namespaces/${encodeURIComponent(namespace)}/workflows/${encodeURIComponent(b.workflowId)})` : '';
      lines.push(`| ${b.name} | ${b.instances.join(', ')} | ${MARK_BATCH[b.state] ?? ''} ${b.state} | ${link} |`);
    }
  }
  if (s.pause?.state === 'waiting' && s.pause.kind === 'window') {
    const id = workflowIdFor(s.stack);
    lines.push(
      '',
      `**Waiting for the maintenance window** since ${s.pause.since}: ${escapeCell(s.pause.reason)}. It goes on by itself when the window opens.`,
      '',
      `Decide now: \`tyk-upgrade resume ${id} continue\` (go on outside the window) or \`rollback\` (stop, and roll back what this run changed).`,
      '',
      `From the Web UI: More Actions → Send an Update → \`resolvePause\` with \`{"choice": "continue", "by": "<your name>"}\` (or \`"rollback"\`).`,
    );
  } else if (s.pause?.state === 'waiting') {
    const id = workflowIdFor(s.stack);
    lines.push(
      '',
      `**Paused** since ${s.pause.since}: ${escapeCell(s.pause.reason)}`,
      '',
      `Decide: \`tyk-upgrade resume ${id} retry\` (the failed instances again), \`continue\` (without them) or \`rollback\` (everything this run changed).`,
      '',
      `From the Web UI: More Actions → Send an Update → \`resolvePause\` with \`{"choice": "retry", "by": "<your name>"}\` (or \`"continue"\`, \`"rollback"\`).`,
    );
  }
  if (s.window && !(s.pause?.state === 'waiting' && s.pause.kind === 'window')) {
    const w = s.window;
    const now =
      w.state === 'open'
        ? `open until ${w.closesAt}`
        : w.state === 'overridden'
          ? `overridden by ${w.overriddenBy} at ${w.overriddenAt}`
          : `closed; next opens ${w.opensAt ?? 'not within a week'}`;
    lines.push('', `**Maintenance window** ${escapeCell(w.windows.join('; '))}: ${now}.`);
  }
  const waiting = s.gates.find((g) => g.state === 'waiting');
  if (waiting) {
    const id = workflowIdFor(s.stack);
    lines.push(
      '',
      `**Waiting for approval at \`${waiting.gate}\`** since ${waiting.waitingSince}${waiting.required ? ` — ${waiting.approvals?.length ?? 0} of ${waiting.required} approvals${waiting.approvals?.length ? ` (${waiting.approvals.map((a) => a.by).join(', ')})` : ''}` : ''}.`,
      '',
      `Approve: \`tyk-upgrade approve ${id} --gate ${waiting.gate}\``,
      '',
      `Reject: \`tyk-upgrade reject ${id} --gate ${waiting.gate} --reason "..."\``,
      '',
      `From the Web UI: More Actions → Send an Update → \`approveGate\` with \`{"gate": "${waiting.gate}", "by": "<your name>", "comment": "<ticket>"}\`${waiting.required ? ` (\`"by"\` is required: ${waiting.required} different people must approve)` : ''}; \`rejectGate\` likewise, with \`"rollback": true\` to also roll back what this run changed.`,
    );
  }
  const decided = s.gates.filter((g) => g.by);
  if (decided.length) {
    lines.push('', '| gate | decision | by | at | comment |', '|---|---|---|---|---|');
    for (const g of decided) lines.push(`| ${g.gate} | ${g.state} | ${g.by} | ${g.at} | ${escapeCell(g.comment ?? '')} |`);
  }
  if (s.reason) lines.push('', `**Reason:** ${escapeCell(s.reason)}`);
  return lines.join('\n');
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
