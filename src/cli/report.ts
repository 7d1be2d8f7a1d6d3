// `tyk-upgrade report`: the full record of one upgrade as Markdown, for a change ticket. Pure: the plan the
// workflow received, its final (or live) status and what Temporal knows about the run in, text out. None of these
// hold a tyk.conf value, so neither does the report.
import type { UpgradeExecution } from '../client-lib/upgrades';
import { formatDuration } from '../shared/duration';
import { failureBudget, rampOf } from '../shared/batches';
import { childWorkflowId, instanceKey } from '../shared/names';
import { approverRows, signaturePolicy, signedBy, signedDecision, type VerifiedSignature } from '../shared/signed-decisions';
import { SIGNATURE_NAMESPACE } from '../shared/statement';
import type { GateStatus, InstanceStatus, UpgradeInput, UpgradeStatus } from '../shared/types';
import { normaliseVersion } from '../shared/version';
import { backupWhere } from './render';

export interface ReportData {
  exec: UpgradeExecution;
  /** The workflow's input: the plan as it was started. */
  input: UpgradeInput;
  /** Undefined for a run cancelled or terminated before it could report one. */
  status: UpgradeStatus | undefined;
  webUi: string;
  /** When the report was made: the end of "so far" for a run still going. */
  now: Date;
}

type Stage = UpgradeStatus['stages'][number];

/** Each stage with how long it took, for `status --json` and the report. */
export function stagesWithDurations(stages: Stage[]): (Stage & { durationMs?: number })[] {
  return stages.map((s) => {
    const ms = s.startedAt && s.endedAt ? Date.parse(s.endedAt) - Date.parse(s.startedAt) : undefined;
    return ms === undefined || Number.isNaN(ms) ? { ...s } : { ...s, durationMs: ms };
  });
}

/** A `start --at` run whose time has not come: nothing has run, so there is no status yet. */
function notRunYet(exec: UpgradeExecution): string | undefined {
  return exec.scheduledFor ? `scheduled to start at ${utc(exec.scheduledFor)} (start --at); nothing has run yet` : undefined;
}

export function renderReport(d: ReportData): string {
  const { exec, input, status: s } = d;
  const out: string[] = [];
  const outcome = s ? s.outcome : exec.temporalStatus.toLowerCase();
  out.push(`# Tyk upgrade of stack \`${input.stack}\`: ${outcome}`, '');
  const end = exec.closeTime ?? d.now;
  out.push(
    ...table(
      ['Field', 'Value'],
      [
        ['Stack', code(input.stack)],
        ['Workflow id', code(exec.workflowId)],
        ['Run id', code(exec.runId)],
        ['Web UI', d.webUi],
        [
          'Started by',
          s?.startSigner
            ? `${signedBy(s.startSigner)}`
            : input.startedBy
              ? `${input.startedBy} (as given to \`start --by\` or the user name: a claim, not an authenticated identity)`
              : 'not recorded',
        ],
        ['Started', utc(exec.startTime)],
        ['Ended', exec.closeTime ? utc(exec.closeTime) : `still running at ${utc(d.now)}`],
        [exec.closeTime ? 'Duration' : 'Duration so far', formatDuration(end.getTime() - exec.startTime.getTime())],
        ['Outcome', s ? s.outcome : `no status (Temporal: ${exec.temporalStatus})`],
        [
          'Reason',
          s?.reason
            ? brief(s.reason)
            : s?.outcome === 'succeeded'
              ? 'every instance upgraded and verified'
              : s
                ? ''
                : (notRunYet(exec) ?? 'the run was cancelled or terminated before it could report one'),
        ],
        ['Temporal status', exec.temporalStatus],
        ['Task queue', code(exec.taskQueue)],
      ],
    ),
  );
  out.push('', ...planSection(input, s));
  if (!s)
    return [
      ...out,
      '',
      notRunYet(exec)
        ? `${notRunYet(exec)}: the rest of the record comes once it has run.`
        : 'No status is available for this run, so the rest of the record (versions, gates, backups) is missing.',
      '',
    ].join('\n');
  out.push('', ...versionsSection(s), '', ...stagesSection(s), '', ...gatesSection(input, s), '', ...pausesSection(s), '');
  if (input.approvers?.length) out.push(...signaturesSection(input, s), '');
  out.push(
    ...batchesSection(exec.workflowId, s),
    '',
    ...failuresSection(s),
    '',
    ...notificationsSection(s),
    '',
    ...backupsSection(s),
    '',
    ...composeSection(s),
    ...warningsSection(s),
    '',
  );
  return out.join('\n');
}

function planSection(input: UpgradeInput, s: UpgradeStatus | undefined): string[] {
  const gw = normaliseVersion(input.gatewayVersion);
  const pump = input.pumpVersion ? normaliseVersion(input.pumpVersion) : '';
  const rows = [
    ...input.gateways.map((g) => [
      g.host ?? '',
      code(g.container),
      'gateway',
      g.pool ?? '',
      `${g.url}/${g.helloPath}`,
      gw,
      input.gatewayRepository ?? 'as now',
    ]),
    ...input.pumps.map((p) => [p.host ?? '', code(p.container), 'pump', '', p.healthUrl, pump, input.pumpRepository ?? 'as now']),
  ];
  const all = input.gateways.length + input.pumps.length;
  const approvals = Math.max(1, input.approvals ?? 1);
  const lb = input.loadBalancer;
  const lbText = !lb
    ? 'none'
    : lb.type === 'haproxy'
      ? `HAProxy backend \`${lb.backend}\` at \`${lb.socket ?? lb.address}\` (drain up to ${formatDuration(lb.drainTimeoutMs)}, back UP within ${formatDuration(lb.readyTimeoutMs)}${
          lb.servers
            ? `; servers ${Object.entries(lb.servers)
                .map(([c, v]) => `${c} → ${v}`)
                .join(', ')}`
            : ''
        })`
      : `hooks \`${lb.beforeStop}\` / \`${lb.afterHealthy}\` (each within ${formatDuration(lb.timeoutMs)})`;
  const windowState = s?.window
    ? `; at the end: ${s.window.state}${s.window.overriddenBy ? ` (overridden by ${s.window.overriddenBy} at ${utc(s.window.overriddenAt)})` : ''}`
    : '';
  return [
    '## Plan (as the workflow received it)',
    '',
    ...table(['Host', 'Container', 'Role', 'Pool', 'Health', 'Target version', 'Repository'], rows),
    '',
    `- Target versions: gateway ${gw}${pump ? `, pump ${pump}` : ''}${input.allowDowngrade ? ' (downgrade allowed)' : ''}`,
    `- Gates: ${input.gates.length ? input.gates.join(', ') : 'none'}; approvals needed per gate: ${approvals}${input.approvalTimeoutMs ? `; an undecided gate aborts after ${formatDuration(input.approvalTimeoutMs)}` : '; no approval timeout'}`,
    `- Four-eyes: ${approvals > 1 ? `${approvals} distinct approvers` : 'one approver'}; the starter ${input.approverMustDifferFromStarter ? 'may not' : 'may'} approve${input.approvers?.length ? ' (compared by key)' : ''}`,
    `- Signed decisions: ${signaturePolicy(input)}`,
    ...(input.approvers?.length
      ? [
          '',
          ...table(
            ['Approver', 'Key type', 'Fingerprint'],
            approverRows(input.approvers).map((r) => [r[0], r[1], code(r[2])]),
          ),
        ]
      : []),
    `- Batches: ${rampOf(input.batchSize).join(', ')} (the last step repeats; the first batch is the canary); maxUnavailable per pool: ${input.maxUnavailable ?? 'all but one of the pool'}`,
    `- Failure budget: ${input.maxFailures ?? 0} (${failureBudget(input.maxFailures, all)} of ${all} instances), then ${input.onFailure ?? 'rollback'}${input.pauseTimeoutMs ? `; an undecided pause rolls back after ${formatDuration(input.pauseTimeoutMs)}` : ''}`,
    `- Soak: ${input.soakMs ? formatDuration(input.soakMs) : 'none'}; health timeout: ${formatDuration(input.healthTimeoutMs)}; drain timeout: ${input.drainTimeoutSec} s`,
    `- Maintenance windows: ${input.window?.length ? input.window.join('; ') : 'none (any time)'}${windowState}`,
    `- Load balancer: ${lbText}`,
    `- Serving checks: ${servingText(input)}`,
    `- Backups: ${backupWhere(input)}; old containers ${input.keepOldContainers ? 'kept, stopped' : 'removed once the new ones are verified'}`,
  ];
}

/** What each new gateway had to serve: inventory, smoke requests (names only), analysis, the Redis rule. */
function servingText(input: UpgradeInput): string {
  const t = input.inventory ? input.inventory.tolerate : undefined;
  const tolerated = [...(t?.apis ?? []).map((a) => `api ${a}`), ...(t?.policies ?? []).map((p) => `policy ${p}`)];
  const a = input.analysis;
  return [
    input.inventory === false
      ? 'APIs and policies not compared'
      : `APIs and policies compared before and after${tolerated.length ? ` (may differ: ${tolerated.join(', ')})` : ''}`,
    input.smoke?.length ? `smoke requests ${input.smoke.map((q) => `${code(`${q.method} ${q.path}`)} → ${q.expectStatus}`).join(', ')}` : 'no smoke requests',
    a
      ? `traffic analysis ${formatDuration(a.windowMs)}, at most ${Number((a.max5xxRate * 100).toFixed(2))}% 5xx, at least ${a.minRequests} requests (${a.tooFewRequests} when fewer)`
      : 'no traffic analysis',
    `unsupported Redis: ${input.unsupportedRedis ?? 'warn'}`,
  ].join('; ');
}

/** The version an instance runs now, as far as the run knows. */
function versionAfter(i: InstanceStatus): string {
  switch (i.state) {
    case 'upgraded':
      return i.toVersion;
    case 'rolled-back':
    case 'pending':
      return i.fromVersion ?? '';
    case 'failed':
      return 'unknown (see detail)';
    default:
      return `in progress (${i.state})`;
  }
}

function versionsSection(s: UpgradeStatus): string[] {
  if (!s.instances.length) return ['## Versions before and after', '', 'None: the run ended before preflight found the instances.'];
  return [
    '## Versions before and after',
    '',
    ...table(
      ['Host', 'Container', 'Role', 'Batch', 'Before', 'Target', 'After', 'Final state', 'Serving', 'Detail'],
      s.instances.map((i) => [
        i.host ?? '',
        code(i.container),
        i.role,
        i.batch === undefined ? '' : i.batch === 0 ? 'pumps' : String(i.batch),
        i.fromVersion ?? '',
        i.toVersion,
        versionAfter(i),
        i.state,
        i.serving ?? '',
        i.detail ? brief(i.detail) : '',
      ]),
    ),
  ];
}

function stagesSection(s: UpgradeStatus): string[] {
  return [
    '## Stages',
    '',
    ...table(
      ['Stage', 'State', 'Started', 'Ended', 'Duration'],
      stagesWithDurations(s.stages).map((st) => [
        st.name,
        st.state,
        utc(st.startedAt),
        utc(st.endedAt),
        st.durationMs === undefined ? '' : formatDuration(st.durationMs),
      ]),
    ),
  ];
}

/** Who approved: the four-eyes list, or the one decision of a plain gate. */
function approvalsOf(g: GateStatus): { by: string; at?: string; comment?: string; signer?: VerifiedSignature }[] {
  if (g.approvals?.length) return g.approvals;
  return g.state === 'approved' && g.by ? [{ by: g.by, at: g.at, comment: g.comment, ...(g.signer ? { signer: g.signer } : {}) }] : [];
}

const signatureCell = (s: VerifiedSignature | undefined) => (s ? `verified: ${s.keyType} ${s.fingerprint}` : 'unsigned (a name: a claim)');

function gatesSection(input: UpgradeInput, s: UpgradeStatus): string[] {
  const gates = s.gates.filter((g) => g.state !== 'skipped' || input.gates.includes(g.gate));
  if (!gates.length) return ['## Gates', '', 'None: the plan has no approval gates.'];
  const rows = gates.map((g) => {
    const needed = g.required ?? Math.max(1, input.approvals ?? 1);
    const got = approvalsOf(g).length;
    const decision =
      g.state === 'rejected'
        ? `rejected by ${g.signer ? signedBy(g.signer) : (g.by ?? 'unknown')} at ${utc(g.at)}${g.comment ? `: ${g.comment}` : ' (no reason given)'}`
        : g.state === 'timed-out'
          ? `timed out at ${utc(g.at)} with nobody deciding${input.approvalTimeoutMs ? ` (approval timeout ${formatDuration(input.approvalTimeoutMs)})` : ''}`
          : g.state === 'approved'
            ? `approved at ${utc(g.at)}`
            : g.state === 'skipped'
              ? 'skipped (only one batch, so no canary to wait after)'
              : g.state;
    return [g.gate, g.state, utc(g.waitingSince), `${got} of ${needed}`, decision];
  });
  const signing = !!input.approvers?.length;
  const approvals = gates.flatMap((g) => approvalsOf(g).map((a) => [g.gate, a.by, utc(a.at), a.comment ?? '', ...(signing ? [signatureCell(a.signer)] : [])]));
  return [
    '## Gates',
    '',
    ...table(['Gate', 'State', 'Waiting since', 'Approvals', 'Decision'], rows),
    '',
    '### Approvals',
    '',
    ...(approvals.length ? table(['Gate', 'Approver', 'At', 'Comment', ...(signing ? ['Signature'] : [])], approvals) : ['None.']),
  ];
}

function pausesSection(s: UpgradeStatus): string[] {
  const out = ['## Pauses and abort', ''];
  const p = s.pause;
  if (p) {
    const what =
      p.kind === 'window' ? `outside the maintenance window${p.opensAt ? ` (next window opens ${utc(p.opensAt)})` : ''}` : 'failures past the budget';
    out.push(`- Pause ${p.number} (${what}), since ${utc(p.since)}: ${p.reason}${p.failed.length ? ` — failed: ${p.failed.join(', ')}` : ''}`);
    out.push(
      p.state === 'decided'
        ? `  - Decision: **${p.choice}** by ${p.signer ? signedBy(p.signer) : (p.by ?? 'unknown')} at ${utc(p.at)}${p.comment ? `: ${p.comment}` : ''}`
        : p.state === 'timed-out'
          ? `  - Nobody decided; timed out at ${utc(p.at)}, so everything was rolled back`
          : '  - Still waiting for a decision',
    );
  } else {
    out.push('- Pauses: none');
  }
  out.push(
    s.abort
      ? `- Abort: asked by ${s.abort.signer ? signedBy(s.abort.signer) : (s.abort.by ?? 'unknown')} at ${utc(s.abort.at)}${s.abort.reason ? `, reason: ${s.abort.reason}` : ', no reason given'}; everything this run changed is rolled back`
      : '- Abort: none',
  );
  return out;
}

/**
 * Every statement the workflow accepted, with its signature, and how to check them again with OpenSSH alone: the
 * approvers' keys as an allowed_signers file, and one `ssh-keygen -Y verify` per statement.
 */
function signaturesSection(input: UpgradeInput, s: UpgradeStatus): string[] {
  const out = ['## Signed statements', ''];
  const list = s.signatures ?? [];
  out.push(
    list.length
      ? `The workflow verified each of these ${list.length} statement${list.length === 1 ? '' : 's'} against the plan's approvers when it took the decision. To check them again without this tool, save the approvers as \`allowed_signers\`, each statement as \`statement-N.txt\` (the block's lines, each ending with a line feed) and its signature as \`statement-N.sig\`, then run the command under it.`
      : 'None: no decision of this upgrade was signed.',
    '',
  );
  if (!list.length) return withRefusals(out, s);
  out.push('`allowed_signers`:', '', '```', ...(input.approvers ?? []).map((a) => `${a.name} namespaces="${SIGNATURE_NAMESPACE}" ${a.key}`), '```', '');
  list.forEach((x, i) => {
    const n = i + 1;
    out.push(
      `### ${n}. ${signedDecision(x)}: ${signedBy(x)}, signed ${utc(x.signedAt)}`,
      '',
      `\`statement-${n}.txt\`:`,
      '',
      '```',
      ...x.statement.replace(/\n$/, '').split('\n'),
      '```',
      '',
      `\`statement-${n}.sig\`:`,
      '',
      '```',
      ...x.signature.trim().split('\n'),
      '```',
      '',
      `\`ssh-keygen -Y verify -f allowed_signers -I ${x.name} -n ${SIGNATURE_NAMESPACE} -s statement-${n}.sig < statement-${n}.txt\``,
      '',
    );
  });
  return withRefusals(out, s);
}

/** Signals refused for their signature: nothing was done for them, and here is what they asked. */
function withRefusals(out: string[], s: UpgradeStatus): string[] {
  if (!s.refused?.length) return out;
  return [
    ...out,
    '### Refused (not acted on)',
    '',
    ...table(
      ['At', 'Asked', 'Refusal', 'Why'],
      s.refused.map((r) => [utc(r.at), r.asked, r.type, r.message]),
    ),
  ];
}

function batchesSection(workflowId: string, s: UpgradeStatus): string[] {
  if (!s.batches.length) return ['## Batches', '', 'None: the run ended before any batch was planned.'];
  return [
    '## Batches',
    '',
    ...table(
      ['Batch', 'Instances', 'State', 'Child workflow', 'Rollback workflow'],
      s.batches.map((b) => [
        b.name,
        b.instances.join(', '),
        b.state,
        b.workflowId ? code(b.workflowId) : 'not started',
        // rolled-back is set only by the roll-back-everything path, which runs one child per batch under this id.
        b.state === 'rolled-back' || b.state === 'rolling-back' ? code(childWorkflowId(workflowId, `rollback-${b.name}`)) : '',
      ]),
    ),
  ];
}

function failuresSection(s: UpgradeStatus): string[] {
  const failed = s.instances.filter((i) => i.state === 'failed' || i.state === 'rolled-back' || i.state === 'rolling-back');
  const out = ['## Failures and rollbacks', '', `Failed instances: ${s.failures.count} (budget ${s.failures.budget}).`];
  if (!failed.length) return [...out, '', 'Rollbacks: none.'];
  out.push(
    '',
    ...table(
      ['Instance', 'State', 'Version now', 'What happened'],
      failed.map((i) => [
        code(instanceKey(i)),
        i.state,
        versionAfter(i),
        i.detail ?? (i.state === 'rolled-back' ? 'rolled back with the rest of the run' : ''),
      ]),
    ),
  );
  return out;
}

function notificationsSection(s: UpgradeStatus): string[] {
  const n = s.notifications ?? [];
  if (!n.length) return ['## Notifications', '', 'None sent or recorded for this run.'];
  return [
    '## Notifications',
    '',
    ...table(
      ['Event', 'At', 'Delivered to', 'Failed'],
      n.map((r) => [r.event, utc(r.at), r.delivered.join(', ') || 'nobody', r.failed.map((f) => `${f.webhook}: ${f.error}`).join('; ')]),
    ),
  ];
}

function backupsSection(s: UpgradeStatus): string[] {
  if (!s.backups.length) return ['## Backups', '', 'None: the run ended before its backup.'];
  return [
    '## Backups',
    '',
    ...table(
      ['Host', 'Dir', 'Manifest', 'Manifest sha256', 'Files', 'Redis'],
      s.backups.map((b) => [
        b.host ?? '',
        code(b.dir),
        code(b.manifest),
        b.manifestSha256 ? code(b.manifestSha256) : 'not recorded (a run before 0.3)',
        String(b.files),
        b.redis,
      ]),
    ),
  ];
}

/** The compose files (and `.env`) the run changed, with their hashes before and after; nothing without any. */
function composeSection(s: UpgradeStatus): string[] {
  if (!s.compose?.length) return [];
  return [
    '## Compose files',
    '',
    ...table(
      ['Host', 'Project', 'File', 'Services', 'State', 'sha256 before', 'sha256 after', 'Detail'],
      s.compose.map((f) => [
        f.host ?? '',
        f.project,
        code(f.path),
        f.services.join(', '),
        f.state,
        code(f.sha256Before),
        f.state === 'updated' || f.state === 'pending' ? code(f.sha256After) : code(f.sha256Before),
        f.detail ?? '',
      ]),
    ),
    '',
    ...s.compose
      .filter((f) => f.diff && f.state !== 'unchanged')
      .flatMap((f) => [`${f.host ? `${f.host}: ` : ''}\`${f.path}\` (${f.state}):`, '', '```diff', f.diff, '```', '']),
  ];
}

function warningsSection(s: UpgradeStatus): string[] {
  // The reason is in the header already; the workflow also lists it among its errors.
  const notes = s.errors.filter((e) => !s.reason?.includes(e));
  return ['## Warnings', '', ...(notes.length ? notes.map((e) => `- ${oneLine(e)}`) : ['None.'])];
}

// --- Markdown helpers ---

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

/** A table cell: a pipe or a line break would end the cell or the row. */
function cell(text: string): string {
  return oneLine(text).replace(/\|/g, '\\|');
}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ');
}

/** A failure without the container's last log lines, which "Failures and rollbacks" gives once in full. */
function brief(detail: string): string {
  return detail.split('; last log lines:')[0];
}

function code(text: string): string {
  return `\`${text}\``;
}

/** 2026-11-26 12:40:01Z: a ticket is read in other time zones. */
export function utc(t?: string | Date): string {
  if (!t) return '';
  const d = typeof t === 'string' ? new Date(t) : t;
  return Number.isNaN(d.getTime()) ? String(t) : `${d.toISOString().slice(0, 19).replace('T', ' ')}Z`;
}
