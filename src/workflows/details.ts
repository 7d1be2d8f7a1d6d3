// The Markdown the Web UI shows as the workflow's current details. Pure.
import { approvalCount } from '../shared/approvals';
import { workflowIdFor } from '../shared/names';
import { signedBy, signedDecision } from '../shared/signed-decisions';
import type { GateStatus, UpgradeStatus } from '../shared/types';

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
  if (s.startSigner) lines.push(`Started by ${signedBy(s.startSigner)}.`, '');
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
  if (s.compose?.length) {
    lines.push('', '| host | compose file | services | state | sha256 before → after |', '|---|---|---|---|---|');
    for (const f of s.compose) {
      const after = f.state === 'updated' || f.state === 'pending' ? f.sha256After : f.sha256Before;
      lines.push(
        `| ${f.host ?? ''} | ${f.path} | ${f.services.join(', ')} | ${f.state}${f.detail ? `: ${escape(f.detail)}` : ''} | ${f.sha256Before.slice(0, 12)} → ${after.slice(0, 12)} |`,
      );
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
      `**Waiting for approval at \`${waiting.gate}\`** since ${waiting.waitingSince}${waiting.required ? ` — ${approvalCount(waiting)}` : ''}.`,
      '',
    );
    if (s.signaturesRequired) {
      lines.push(
        `Decisions must be signed with an approver's SSH key: \`tyk-upgrade approve ${id} --gate ${waiting.gate} --sign-key ~/.ssh/id_ed25519\` (or \`reject ... --reason "..."\`).`,
        '',
        `From the Web UI: run \`tyk-upgrade sign approve ${id} --gate ${waiting.gate} --sign-key ~/.ssh/id_ed25519\` and paste the JSON it prints into More Actions → Send an Update → \`approveGate\` (\`sign reject\` → \`rejectGate\`). An unsigned update is refused.`,
      );
    } else {
      lines.push(
        `Approve: \`tyk-upgrade approve ${id} --gate ${waiting.gate}\``,
        '',
        `Reject: \`tyk-upgrade reject ${id} --gate ${waiting.gate} --reason "..."\``,
        '',
        `From the Web UI: More Actions → Send an Update → \`approveGate\` with \`{"gate": "${waiting.gate}", "by": "<your name>", "comment": "<ticket>"}\`${waiting.required ? ` (\`"by"\` is required: ${waiting.required} different people must approve)` : ''}; \`rejectGate\` likewise, with \`"rollback": true\` to also roll back what this run changed.`,
      );
    }
  }
  const decided = s.gates.filter((g) => g.by);
  if (decided.length) {
    const signed = decided.some((g) => signersOf(g).length);
    lines.push('', `| gate | decision | by | at | comment |${signed ? ' signature |' : ''}`, `|---|---|---|---|---|${signed ? '---|' : ''}`);
    for (const g of decided) {
      const sig = signersOf(g)
        .map((x) => escapeCell(signedBy(x)))
        .join('; ');
      lines.push(`| ${g.gate} | ${g.state} | ${g.by} | ${g.at} | ${escapeCell(g.comment ?? '')} |${signed ? ` ${sig || 'unsigned'} |` : ''}`);
    }
  }
  if (s.pause?.state === 'decided' && s.pause.signer) lines.push('', `Pause ${s.pause.number}: ${s.pause.choice}, signed by ${signedBy(s.pause.signer)}.`);
  if (s.abort?.signer) lines.push('', `Cancel with rollback asked by ${signedBy(s.abort.signer)}.`);
  if (s.refused?.length) {
    lines.push('', '**Refused, not acted on** (signals):', '');
    for (const r of s.refused) lines.push(`- ${r.at}: ${escapeCell(r.asked)} — ${r.type}: ${escapeCell(r.message)}`);
  }
  if (s.signatures?.length)
    lines.push('', `Signed decisions, each verified by the workflow: ${s.signatures.map((x) => `${signedDecision(x)} by ${x.name}`).join('; ')}.`);
  if (s.reason) lines.push('', `**Reason:** ${escapeCell(s.reason)}`);
  return lines.join('\n');
}

/** The verified signatures that decided a gate: each four-eyes approval's, or the one decision's. */
function signersOf(g: GateStatus) {
  return [...(g.approvals ?? []).map((a) => a.signer), g.signer].filter((x) => x !== undefined);
}

function escapeCell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}
