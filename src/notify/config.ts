// The worker's notification settings: which webhooks get which events. They live only on the worker (a file, or
// one webhook from the environment) because webhook URLs and headers carry tokens: never in the plan, the workflow
// history, a message or the log. Every error here names the file and the field, never a URL or header value.
import { readFileSync, statSync } from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { z } from 'zod';
import { formatDuration, parseDuration } from '../shared/duration';
import { fieldName } from '../shared/field-path';
import { NOTIFY_EVENTS, type NotifyEventName } from '../shared/types';

export const NOTIFY_FILE_ENV = 'TYK_UPGRADE_NOTIFY_FILE';
export const WEBHOOK_URL_ENV = 'TYK_UPGRADE_WEBHOOK_URL';
export const WEBHOOK_FORMAT_ENV = 'TYK_UPGRADE_WEBHOOK_FORMAT';

export const FORMATS = ['json', 'slack'] as const;
export type WebhookFormat = (typeof FORMATS)[number];

export interface WebhookConfig {
  name: string;
  /** Secret: carries the token. Only send.ts reads it. */
  url: string;
  format: WebhookFormat;
  /** Event names or prefixes such as "gate.*"; absent: every event. */
  events?: string[];
  /** Secret values. */
  headers: Record<string, string>;
}

export interface NotifyConfig {
  /** Where it came from, for messages: the file, or the environment variable. */
  source: string;
  /** Base URL of the Temporal Web UI for links in messages; absent: no link. */
  webUi?: string;
  /** Repeat gate.waiting as gate.reminder this often while a gate waits; absent: no reminders. */
  reminderMs?: number;
  /** Per event and webhook, all retries included. */
  deadlineMs: number;
  webhooks: WebhookConfig[];
}

export const DEFAULT_DEADLINE_MS = 30_000;
const MAX_FILE_BYTES = 256 * 1024;
const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** A setting that cannot be used: the worker refuses to start (the CLI exits with the usage code). */
export class NotifyConfigError extends Error {}

/** Whether a webhook's `events` filter takes this event. */
export function webhookWants(w: Pick<WebhookConfig, 'events'>, event: NotifyEventName): boolean {
  if (!w.events) return true;
  return w.events.some((p) => p === '*' || p === event || (p.endsWith('.*') && event.startsWith(p.slice(0, -1))));
}

const VALID_PATTERNS = `${NOTIFY_EVENTS.join(', ')}, or a prefix such as gate.* or upgrade.* (or * for all)`;

function eventPattern(p: string): boolean {
  if (p === '*') return true;
  if (p.endsWith('.*')) return NOTIFY_EVENTS.some((e) => e.startsWith(p.slice(0, -1)));
  return (NOTIFY_EVENTS as readonly string[]).includes(p);
}

/** An http(s) URL; the value itself is never put in a message (it carries the token). */
const secretUrl = z.string({ error: 'must be the webhook URL, e.g. https://hooks.slack.com/services/…' }).superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not a URL; write it with its scheme, like https://hooks.example.com/…' });
    return;
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: 'must use http:// or https://' });
  else if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not carry credentials (user:password@); put them in headers' });
});

const duration = (what: string, minMs: number) =>
  z.unknown().transform((value, ctx) => {
    const d = parseDuration(value);
    if (!d.ok) {
      ctx.addIssue({ code: 'custom', message: d.message });
      return z.NEVER;
    }
    if (d.ms < minMs) {
      ctx.addIssue({ code: 'custom', message: `${what} must be at least ${formatDuration(minMs)}` });
      return z.NEVER;
    }
    return d.ms;
  });

const headers = z
  .record(z.string(), z.unknown(), { error: 'must be a mapping of header names to values, like {Authorization: "Bearer …"}' })
  .superRefine((h, ctx) => {
    for (const [name, value] of Object.entries(h)) {
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: 'custom', path: [name], message: 'is not a valid header name' });
      else if (name.toLowerCase() === 'content-type')
        ctx.addIssue({ code: 'custom', path: [name], message: 'is set by tyk-upgrade (the body is JSON); remove it' });
      else if (typeof value !== 'string' || /[\r\n\0]/.test(value))
        ctx.addIssue({ code: 'custom', path: [name], message: 'must be a one-line string (quote it)' });
    }
  });

const webhook = z.strictObject(
  {
    name: z.string({ error: 'must be a name for the webhook, e.g. ops-slack (it is what messages and the history show)' }).regex(NAME, {
      error: 'must be 1–63 letters, digits, "_", "." or "-" (it is shown in the history instead of the URL)',
    }),
    url: secretUrl,
    format: z.enum(FORMATS, { error: `must be ${FORMATS.join(' or ')} (slack also suits Mattermost and Rocket.Chat)` }).default('json'),
    events: z
      .array(z.string({ error: `must be event names: ${VALID_PATTERNS}` }), { error: `must be a list of event names: ${VALID_PATTERNS}` })
      .min(1, { error: 'is empty, so nothing would be sent; leave it out for every event' })
      .superRefine((list, ctx) => {
        list.forEach((p, i) => {
          if (!eventPattern(p)) ctx.addIssue({ code: 'custom', path: [i], message: `"${p}" is not an event; valid: ${VALID_PATTERNS}` });
        });
      })
      .optional(),
    headers: headers.optional(),
  },
  { error: 'must be a mapping with name, url and optionally format, events, headers' },
);

const fileSchema = z.strictObject(
  {
    webUi: z
      .string({ error: 'must be the Web UI base URL, e.g. https://temporal.example.com' })
      .regex(/^https?:\/\/[^\s]+$/, { error: 'must be an http:// or https:// URL, e.g. https://temporal.example.com' })
      .optional(),
    reminderEvery: duration('reminderEvery', 1000).optional(),
    deadline: duration('deadline', 1000).optional(),
    webhooks: z
      .array(webhook, { error: 'must be a list of webhooks, each with name and url' })
      .min(1, { error: 'is empty; list at least one webhook with name and url' })
      .superRefine((list, ctx) => {
        const seen = new Set<string>();
        list.forEach((w, i) => {
          if (seen.has(w.name)) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `"${w.name}" is used twice; give each webhook its own name` });
          seen.add(w.name);
        });
      }),
  },
  { error: 'must be a mapping with webhooks (and optionally webUi, reminderEvery, deadline)' },
);

const ALLOWED_TOP = ['webUi', 'reminderEvery', 'deadline', 'webhooks'];
const ALLOWED_HOOK = ['name', 'url', 'format', 'events', 'headers'];

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let v = raw;
  for (const k of path) v = v !== null && typeof v === 'object' ? (v as Record<PropertyKey, unknown>)[k] : undefined;
  return v;
}

function issueLine(issue: z.core.$ZodIssue, raw: unknown): string {
  if (issue.code === 'unrecognized_keys') {
    const allowed = issue.path.length ? ALLOWED_HOOK : ALLOWED_TOP;
    return issue.keys.map((k) => `${fieldName([...issue.path, k])}: unknown key; allowed here: ${allowed.join(', ')}`).join('\n  ');
  }
  const missing = issue.path.length > 0 && valueAt(raw, issue.path) === undefined;
  // Our own messages never hold a value; zod's defaults for types do not either.
  return `${fieldName(issue.path)}: ${missing ? 'is missing; it ' : ''}${issue.message}`;
}

/** Parses the text of a notification file (YAML, or JSON, which is YAML too). */
export function parseNotifyConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): NotifyConfig {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    // The YAML parser's messages quote the source text, which may be a URL: give the line and the kind only.
    const where = [...new Set(doc.errors.map((e) => `line ${lineCounter.linePos(e.pos[0]).line} (${e.code})`))].join(', ');
    throw new NotifyConfigError(`${source} is not valid YAML or JSON at ${where}; see docs/notifications.md for the format`);
  }
  if (doc.contents === null) throw new NotifyConfigError(`${source} is empty; list at least one webhook with name and url (docs/notifications.md)`);
  const raw: unknown = doc.toJS({ maxAliasCount: 100 });
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const n = parsed.error.issues.length;
    throw new NotifyConfigError(
      [
        `${source} is not a valid notification config (${n} problem${n === 1 ? '' : 's'}):`,
        ...parsed.error.issues.map((i) => `  ${source}: ${issueLine(i, raw)}`),
      ].join('\n'),
    );
  }
  const c = parsed.data;
  return {
    source,
    webUi: (c.webUi ?? uiFromEnv(env))?.replace(/\/+$/, ''),
    reminderMs: c.reminderEvery,
    deadlineMs: c.deadline ?? DEFAULT_DEADLINE_MS,
    webhooks: c.webhooks.map((w) => ({ name: w.name, url: w.url, format: w.format, events: w.events, headers: (w.headers ?? {}) as Record<string, string> })),
  };
}

function uiFromEnv(env: NodeJS.ProcessEnv): string | undefined {
  const ui = env.TEMPORAL_UI_URL?.trim();
  return ui && /^https?:\/\/\S+$/.test(ui) ? ui : undefined;
}

export interface LoadedNotifyConfig {
  config?: NotifyConfig;
  /** Things to tell the person starting the worker, e.g. a file others can read. */
  warnings: string[];
}

/**
 * The worker's notification config: `--notify FILE`, else TYK_UPGRADE_NOTIFY_FILE, else one webhook "default"
 * from TYK_UPGRADE_WEBHOOK_URL (+ TYK_UPGRADE_WEBHOOK_FORMAT); nothing configured: no notifications.
 */
export function loadNotifyConfig(file: string | undefined, env: NodeJS.ProcessEnv = process.env): LoadedNotifyConfig {
  const path = file ?? (env[NOTIFY_FILE_ENV] || undefined);
  const url = env[WEBHOOK_URL_ENV] || undefined;
  if (path && url) {
    throw new NotifyConfigError(`${file ? '--notify' : NOTIFY_FILE_ENV} and ${WEBHOOK_URL_ENV} are both set; use one (list the webhook in the file instead)`);
  }
  if (path) return loadFile(path, env);
  if (url) return { config: fromEnv(url, env), warnings: [] };
  if (env[WEBHOOK_FORMAT_ENV]) throw new NotifyConfigError(`${WEBHOOK_FORMAT_ENV} is set but ${WEBHOOK_URL_ENV} is not; set both, or neither`);
  return { warnings: [] };
}

function loadFile(path: string, env: NodeJS.ProcessEnv): LoadedNotifyConfig {
  let text: string;
  let mode: number;
  try {
    const s = statSync(path);
    if (s.isDirectory()) throw new NotifyConfigError(`notification config ${path} is a folder; give the path of the YAML or JSON file`);
    if (s.size > MAX_FILE_BYTES) throw new NotifyConfigError(`notification config ${path} is larger than ${MAX_FILE_BYTES / 1024} KiB; is it the right file?`);
    mode = s.mode & 0o777;
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof NotifyConfigError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    const why =
      code === 'ENOENT'
        ? 'it does not exist; check the path'
        : code === 'EACCES' || code === 'EPERM'
          ? 'permission denied; make it readable for the user running the worker'
          : `cannot read it (${code ?? 'unknown error'})`;
    throw new NotifyConfigError(`notification config ${path}: ${why}`);
  }
  const warnings =
    mode & 0o077 ? [`${path} is readable by other users (mode ${mode.toString(8).padStart(3, '0')}) and holds webhook tokens; chmod 600 ${path}`] : [];
  return { config: parseNotifyConfig(text, path, env), warnings };
}

function fromEnv(url: string, env: NodeJS.ProcessEnv): NotifyConfig {
  const format = env[WEBHOOK_FORMAT_ENV] || 'json';
  if (!(FORMATS as readonly string[]).includes(format)) throw new NotifyConfigError(`${WEBHOOK_FORMAT_ENV} must be ${FORMATS.join(' or ')}`);
  const check = secretUrl.safeParse(url);
  if (!check.success) throw new NotifyConfigError(`${WEBHOOK_URL_ENV} ${check.error.issues[0].message}`);
  return {
    source: WEBHOOK_URL_ENV,
    webUi: uiFromEnv(env)?.replace(/\/+$/, ''),
    deadlineMs: DEFAULT_DEADLINE_MS,
    webhooks: [{ name: 'default', url, format: format as WebhookFormat, headers: {} }],
  };
}

/** "notifications: 2 webhooks (ops-slack: slack, gate.*; audit: json, all events)": names, formats, filters only. */
export function describeNotifyConfig(c: NotifyConfig): string {
  const hooks = c.webhooks.map((w) => `${w.name}: ${w.format}, ${w.events ? w.events.join(' ') : 'all events'}`);
  const extras = [
    c.reminderMs ? `reminders every ${formatDuration(c.reminderMs)}` : '',
    c.webUi ? '' : 'no Web UI links (set webUi or TEMPORAL_UI_URL)',
  ].filter(Boolean);
  const n = c.webhooks.length;
  return `notifications: ${n} webhook${n === 1 ? '' : 's'} (${hooks.join('; ')})${extras.length ? `; ${extras.join('; ')}` : ''}; from ${c.source}`;
}
