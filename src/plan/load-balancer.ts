// The plan's `loadBalancer:` section: `none`, HAProxy's Runtime API, or HTTP hooks. Checked as strictly as the
// rest of the plan; hook credentials are refused here because the plan ends up in workflow history — they belong
// in the worker's TYK_UPGRADE_HOOK_HEADERS (docs/load-balancers.md).
import { z } from 'zod';
import type { LoadBalancerInput } from '../shared/load-balancer';
import { parseDuration } from '../shared/duration';

export const DEFAULT_LB_DRAIN_TIMEOUT_MS = 30_000;
export const DEFAULT_LB_READY_TIMEOUT_MS = 30_000;
export const DEFAULT_HOOK_TIMEOUT_MS = 60_000;

// HAProxy names go into Runtime API commands, where a space or ";" would start another command.
const HAPROXY_NAME = /^[A-Za-z0-9_.:-]+$/;
const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const HOST_PORT = /^(?:\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

const text = (what: string) =>
  z
    .string({ error: `must be ${what}` })
    .trim()
    .min(1, { error: `must be ${what}` });

/** A duration of at least a second, in ms (also the serving checks' analysis window). */
export const duration = z.unknown().transform((value, ctx) => {
  const d = parseDuration(value);
  if (!d.ok) {
    ctx.addIssue({ code: 'custom', message: d.message });
    return z.NEVER;
  }
  if (d.ms < 1000) {
    ctx.addIssue({ code: 'custom', message: 'must be at least 1s' });
    return z.NEVER;
  }
  return d.ms;
});

const haproxyName = (what: string) => text(what).regex(HAPROXY_NAME, { error: `must be ${what}: letters, digits, "_", ".", ":" or "-"` });

const haproxy = z
  .strictObject(
    {
      socket: text("the path of HAProxy's stats socket").regex(/^\//, { error: 'must be an absolute path such as /run/haproxy/admin.sock' }).optional(),
      address: text('host:port')
        .refine((v) => HOST_PORT.test(v) && Number(HOST_PORT.exec(v)?.[1]) > 0 && Number(HOST_PORT.exec(v)?.[1]) < 65536, {
          error: 'must be host:port of a TCP stats socket, such as 127.0.0.1:9999',
        })
        .optional(),
      backend: haproxyName('the HAProxy backend that holds the gateways'),
    },
    { error: 'must be a mapping with socket: (or address:) and backend:' },
  )
  .superRefine((v, ctx) => {
    if (v.socket && v.address) ctx.addIssue({ code: 'custom', path: ['address'], message: 'give socket: or address:, not both' });
    if (!v.socket && !v.address) {
      ctx.addIssue({ code: 'custom', message: 'needs socket: (path of a unix stats socket) or address: (host:port of a TCP stats socket)' });
    }
  });

const hookUrl = z.string({ error: 'must be a URL such as https://lb.example/drain' }).superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL; write it with its scheme, like https://lb.example/drain` });
    return;
  }
  const secretParams = [...url.searchParams.keys()].filter((k) => SECRET_PARAM.test(k));
  if (url.protocol !== 'http:' && url.protocol !== 'https:') ctx.addIssue({ code: 'custom', message: `"${value}" must use http:// or https://` });
  else if (url.username || url.password || secretParams.length) {
    ctx.addIssue({
      code: 'custom',
      message: `must not carry credentials${secretParams.length ? ` (query ${secretParams.join(', ')})` : ''} (the plan is kept in workflow history); give the worker TYK_UPGRADE_HOOK_HEADERS instead`,
    });
  }
});

/** Query parameters that usually carry a secret; the value itself is never repeated in the message. */
export const SECRET_PARAM = /token|secret|key|pass|auth|sig|credential|session|code/i;

const hooks = z.strictObject(
  { beforeStop: hookUrl, afterHealthy: hookUrl, timeout: duration.optional() },
  { error: 'must be a mapping with beforeStop:, afterHealthy: and optionally timeout:' },
);

/** The mapping form; exported so the plan's "allowed keys" hint can look inside the section. */
export const loadBalancerObject = z
  .strictObject(
    {
      haproxy: haproxy.optional(),
      hooks: hooks.optional(),
      drainTimeout: duration.optional(),
      readyTimeout: duration.optional(),
      servers: z
        .record(text('a container name').regex(CONTAINER_NAME, { error: 'must be a gateway container name' }), haproxyName('an HAProxy server name'), {
          error: 'must be a mapping of gateway container to HAProxy server name',
        })
        .optional(),
    },
    { error: 'must be none, or a mapping with haproxy: or hooks:' },
  )
  .superRefine((v, ctx) => {
    if (v.haproxy && v.hooks) ctx.addIssue({ code: 'custom', path: ['hooks'], message: 'give haproxy: or hooks:, not both' });
    if (!v.haproxy && !v.hooks) ctx.addIssue({ code: 'custom', message: 'needs haproxy: or hooks: (or write loadBalancer: none)' });
    if (v.hooks) {
      for (const key of ['drainTimeout', 'readyTimeout', 'servers'] as const) {
        if (v[key] !== undefined) {
          const hint = key === 'servers' ? '' : '; hooks take timeout: inside hooks:';
          ctx.addIssue({ code: 'custom', path: [key], message: `applies to haproxy: only${hint}` });
        }
      }
    }
  });

export type LoadBalancerSection = 'none' | z.output<typeof loadBalancerObject>;

/**
 * `none` or the mapping. Chosen by the value's type rather than with z.union, so a mistake inside the mapping is
 * reported as itself instead of as "matches neither".
 */
export const loadBalancerSection = z.unknown().transform((value, ctx): LoadBalancerSection => {
  if (typeof value === 'string' && value.trim() === 'none') return 'none';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const given = typeof value === 'string' ? `"${value}" is not a choice; ` : '';
    ctx.addIssue({ code: 'custom', message: `${given}must be none, or a mapping with haproxy: or hooks:` });
    return z.NEVER;
  }
  const parsed = loadBalancerObject.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, input: undefined } as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

/** Server names the plan gives for containers it does not list as gateways (for the plan's cross-field check). */
export function unknownServerContainers(section: LoadBalancerSection | undefined, gatewayContainers: string[]): { path: PropertyKey[]; message: string }[] {
  if (!section || section === 'none' || !section.servers) return [];
  const listed = new Set(gatewayContainers.map((c) => c.replace(/^\//, '')));
  return Object.keys(section.servers)
    .filter((c) => !listed.has(c.replace(/^\//, '')))
    .map((c) => ({ path: ['loadBalancer', 'servers', c], message: `"${c}" is not one of the plan's gateway.instances` }));
}

/** What the activities get; undefined when there is no load-balancer step (`none` or no section). */
export function toLoadBalancerInput(section: LoadBalancerSection | undefined): LoadBalancerInput | undefined {
  if (!section || section === 'none') return undefined;
  if (section.hooks) {
    return {
      type: 'hooks',
      beforeStop: section.hooks.beforeStop,
      afterHealthy: section.hooks.afterHealthy,
      timeoutMs: section.hooks.timeout ?? DEFAULT_HOOK_TIMEOUT_MS,
    };
  }
  const h = section.haproxy;
  // The schema admits a section with exactly one of hooks and haproxy.
  if (!h) throw new Error('loadBalancer: neither haproxy nor hooks (the schema should have refused it)');
  return {
    type: 'haproxy',
    ...(h.socket ? { socket: h.socket } : { address: h.address }),
    backend: h.backend,
    drainTimeoutMs: section.drainTimeout ?? DEFAULT_LB_DRAIN_TIMEOUT_MS,
    readyTimeoutMs: section.readyTimeout ?? DEFAULT_LB_READY_TIMEOUT_MS,
    ...(section.servers ? { servers: Object.fromEntries(Object.entries(section.servers).map(([c, s]) => [c.replace(/^\//, ''), s])) } : {}),
  };
}

/** The section `init` writes once HAProxy's servers are matched to the gateways (plain data, for the YAML). */
export function haproxySectionFor(target: { socket?: string; address?: string }, match: { backend: string; servers: Record<string, string> }) {
  return {
    haproxy: { ...(target.socket ? { socket: target.socket } : { address: target.address }), backend: match.backend },
    drainTimeout: `${DEFAULT_LB_DRAIN_TIMEOUT_MS / 1000}s`,
    readyTimeout: `${DEFAULT_LB_READY_TIMEOUT_MS / 1000}s`,
    servers: match.servers,
  };
}
