// What a webhook receives (docs/notifications.md): a versioned generic JSON body, or a Slack-compatible incoming-
// webhook body ({"text": …} in mrkdwn, which Mattermost and Rocket.Chat accept too). Both carry the exact CLI
// commands a person needs next and a link to the run in the Temporal Web UI. Pure functions of the request.
import { formatDuration } from '../shared/duration';
import type { GateStatus, NotifyRequest } from '../shared/types';

export const SCHEMA = 'tyk-upgrade.notification/v1';

/** The generic JSON body, schema tyk-upgrade.notification/v1. Fields are only ever added within v1. */
export interface NotificationBody {
  schema: typeof SCHEMA;
  /** Unique per event of a run; the same on every retry, so receivers may deduplicate on it. */
  id: string;
  event: NotifyRequest['event'];
  at: string;
  summary: string;
  /** The whole message as plain text, for receivers that only show text. */
  text: string;
  upgrade: {
    workflowId: string;
    runId: string;
    namespace: string;
    stack: string;
    gatewayVersion: string;
    pumpVersion: string | null;
    stage: string;
    outcome: string;
    /** This run's history in the Temporal Web UI; null when the worker has no Web UI address. */
    webUi: string | null;
  };
  gate?: NotifyRequest['gate'];
  pause?: NotifyRequest['pause'];
  reason?: string;
  /** The exact commands for what a person may do next, by name (approve, reject, resume, status, …). */
  commands: Record<string, string>;
}

export function webUiLink(req: Pick<NotifyRequest, 'namespace' | 'workflowId' | 'runId'>, webUi: string | undefined): string | undefined {
  if (!webUi) return undefined;
  const enc = encodeURIComponent;
  return `${webUi.replace(/\/+$/, '')}/namespaces/${enc(req.namespace)}/workflows/${enc(req.workflowId)}/${enc(req.runId)}/history`;
}

/** A word the shell takes as it is, else single-quoted. */
function shellArg(s: string): string {
  return /^[A-Za-z0-9_./:=@+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** The commands for what may be done next; `status` always. `<your-name>` and "..." are for the person to fill in. */
export function commandsFor(req: NotifyRequest): Record<string, string> {
  const id = shellArg(req.workflowId);
  const ns = req.namespace === 'default' ? '' : ` --namespace ${shellArg(req.namespace)}`;
  const cmd = (rest: string) => `tyk-upgrade ${rest}${ns}`;
  const out: Record<string, string> = {};
  const gate = req.gate?.gate;
  if ((req.event === 'gate.waiting' || req.event === 'gate.reminder') && gate) {
    out.approve = cmd(`approve ${id} --gate ${gate} --by <your-name>`);
    out.reject = cmd(`reject ${id} --gate ${gate} --reason "..."`);
    out.rejectAndRollBack = cmd(`reject ${id} --gate ${gate} --reason "..." --rollback`);
  } else if (req.event === 'upgrade.paused') {
    for (const c of ['retry', 'continue', 'rollback']) out[c] = cmd(`resume ${id} ${c}`);
  } else if (req.event === 'upgrade.waiting-for-window') {
    for (const c of ['continue', 'rollback']) out[c] = cmd(`resume ${id} ${c}`);
  }
  out.status = cmd(`status ${id}`);
  return out;
}

/** "1 of 2 approvals (alice)", when a gate needs more than one or has some. */
export function approvalsText(g: GateStatus): string | undefined {
  const have = g.approvals ?? [];
  const need = g.required ?? 1;
  if (need <= 1 && have.length <= 1) return undefined;
  return `${have.length} of ${need} approvals${have.length ? ` (${have.map((a) => a.by).join(', ')})` : ''}`;
}

/** Text in one of two dialects: plain, or Slack mrkdwn (bold, links, code, and &<> escaped). */
interface Style {
  bold(s: string): string;
  code(s: string): string;
  text(s: string): string;
  link(url: string, label: string): string;
}
const PLAIN: Style = { bold: (s) => s, code: (s) => s, text: (s) => s, link: (url, label) => `${label}: ${url}` };
const mrkdwnEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const SLACK: Style = {
  bold: (s) => `*${mrkdwnEscape(s)}*`,
  // A backtick inside would end the code span: there is none in our commands, but names come from people.
  code: (s) => `\`${mrkdwnEscape(s.replace(/`/g, "'"))}\``,
  text: mrkdwnEscape,
  link: (url, label) => `<${url}|${mrkdwnEscape(label)}>`,
};

const COMMAND_LABELS: Record<string, string> = {
  approve: 'Approve',
  reject: 'Reject',
  rejectAndRollBack: 'Reject and roll back what this run changed',
  retry: 'Retry the failed instances',
  continue: 'Continue',
  rollback: 'Roll back everything this run changed',
  status: 'Status',
};

function render(req: NotifyRequest, webUi: string | undefined, s: Style): string {
  const lines: string[] = [s.bold(req.summary)];
  const versions = `gateway ${req.gatewayVersion}${req.pumpVersion ? `, pump ${req.pumpVersion}` : ''}`;
  lines.push(s.text(`Stack ${req.stack}, upgrade to ${versions}; stage ${req.stage}, ${req.outcome}.`));
  const g = req.gate;
  if (g) {
    const approvals = approvalsText(g);
    if (req.event === 'gate.decided') {
      lines.push(s.text(`Gate ${g.gate}: ${g.state}${g.by ? ` by ${g.by}` : ''}${g.at ? ` at ${g.at}` : ''}${g.comment ? ` ("${g.comment}")` : ''}.`));
    } else if (g.waitingSince) {
      const waited = Date.parse(req.at) - Date.parse(g.waitingSince);
      lines.push(s.text(`Gate ${g.gate} waiting since ${g.waitingSince}${waited >= 1000 ? ` (${formatDuration(waited)})` : ''}.`));
    }
    if (approvals) lines.push(s.text(`${approvals}.`));
  }
  const p = req.pause;
  if (p) {
    lines.push(
      s.text(
        p.kind === 'window'
          ? `Outside the maintenance window: ${p.reason}${p.opensAt ? `; the next window opens ${p.opensAt} and it goes on by itself` : ''}.`
          : `Paused: ${p.reason}.`,
      ),
    );
    if (p.failed.length) lines.push(s.text(`Failed: ${p.failed.join(', ')}.`));
  }
  if (req.reason) lines.push(s.text(`Reason: ${req.reason}`));
  const link = webUiLink(req, webUi);
  if (link) lines.push(s.link(link, 'Open in the Temporal Web UI'));
  for (const [name, line] of Object.entries(commandsFor(req))) lines.push(`${s.text(COMMAND_LABELS[name] ?? name)}: ${s.code(line)}`);
  return lines.join('\n');
}

export function jsonBody(req: NotifyRequest, webUi: string | undefined): NotificationBody {
  return {
    schema: SCHEMA,
    id: req.id,
    event: req.event,
    at: req.at,
    summary: req.summary,
    text: render(req, webUi, PLAIN),
    upgrade: {
      workflowId: req.workflowId,
      runId: req.runId,
      namespace: req.namespace,
      stack: req.stack,
      gatewayVersion: req.gatewayVersion,
      pumpVersion: req.pumpVersion ?? null,
      stage: req.stage,
      outcome: req.outcome,
      webUi: webUiLink(req, webUi) ?? null,
    },
    ...(req.gate ? { gate: req.gate } : {}),
    ...(req.pause ? { pause: req.pause } : {}),
    ...(req.reason ? { reason: req.reason } : {}),
    commands: commandsFor(req),
  };
}

/** Slack incoming-webhook body; Mattermost and Rocket.Chat take the same. */
export function slackBody(req: NotifyRequest, webUi: string | undefined): { text: string } {
  return { text: render(req, webUi, SLACK) };
}

export function bodyFor(format: 'json' | 'slack', req: NotifyRequest, webUi: string | undefined): unknown {
  return format === 'slack' ? slackBody(req, webUi) : jsonBody(req, webUi);
}
