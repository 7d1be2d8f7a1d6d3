// The plan's serving checks: `inventory:` (each gateway's APIs and policies before and after; on by default),
// `smoke:` (requests each new gateway must answer), `analysis:` (its real traffic behind HAProxy) and
// `unsupportedRedis:`. Nothing here may carry a credential: the plan lands in workflow history, so smoke headers
// name environment variables on the workers instead of holding values.
import { z } from 'zod';
import type { SmokeRequest, TrafficAnalysis } from '../shared/serving';
import type { UpgradeInput } from '../shared/types';
import { duration, SECRET_PARAM } from './load-balancer';

export const DEFAULT_MIN_REQUESTS = 20;

const text = (what: string) =>
  z
    .string({ error: `must be ${what}` })
    .trim()
    .min(1, { error: `must be ${what}` });

const ids = (what: string) => z.array(text(what), { error: `must be a list of ${what}s` });

const tolerate = z.strictObject(
  { apis: ids('API id (api_id)').optional(), policies: ids('policy id').optional() },
  { error: 'must be a mapping with apis: and/or policies:, lists of ids whose change the upgrade intends' },
);

/** The mapping form of `inventory:`; exported for the "allowed keys" hint. */
export const inventoryObject = z.strictObject({ tolerate: tolerate.optional() }, { error: 'must be false, or a mapping with tolerate:' });

export type InventorySection = false | z.output<typeof inventoryObject>;

/** `false` or the mapping, told apart by type so a mistake inside the mapping is reported as itself. */
export const inventorySection = z.unknown().transform((value, ctx): InventorySection => {
  if (value === false) return false;
  if (value === true) return {};
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    ctx.addIssue({ code: 'custom', message: 'must be false (no check), or a mapping with tolerate: { apis: [...], policies: [...] }' });
    return z.NEVER;
  }
  const parsed = inventoryObject.safeParse(value);
  if (parsed.success) return parsed.data;
  for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, input: undefined } as Parameters<typeof ctx.addIssue>[0]);
  return z.NEVER;
});

const METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'] as const;
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

const path = text('a path such as /orders/status').superRefine((value, ctx) => {
  if (!value.startsWith('/') || /\s/.test(value)) {
    ctx.addIssue({ code: 'custom', message: `"${value}" must be a path starting with "/", such as /orders/status (sent to each gateway's own URL)` });
    return;
  }
  const query = new URL(value, 'http://gateway').searchParams;
  const secret = [...query.keys()].filter((k) => SECRET_PARAM.test(k));
  if (secret.length) {
    ctx.addIssue({
      code: 'custom',
      message: `must not carry a credential in its query (${secret.join(', ')}): the plan lands in workflow history; send it as a header with headersFromEnv`,
    });
  }
});

const headersFromEnv = z.record(
  text('a header name').regex(HEADER_NAME, { error: 'must be an HTTP header name such as Authorization' }),
  text('the name of an environment variable').regex(ENV_NAME, {
    error:
      "must be the name of an environment variable on the workers (such as SMOKE_ORDERS_AUTH) that holds the header's value; values never go into the plan, which lands in workflow history",
  }),
  { error: 'must be a mapping of header name to the environment variable (on the workers) that holds its value' },
);

const smokeRequest = z.strictObject(
  {
    name: text('a name').optional(),
    method: z
      .string({ error: `must be one of ${METHODS.join(', ')}` })
      .transform((m) => m.trim().toUpperCase())
      .pipe(z.enum(METHODS, { error: `must be one of ${METHODS.join(', ')}` }))
      .optional(),
    path,
    headersFromEnv: headersFromEnv.optional(),
    expect: z
      .int({ error: 'must be an HTTP status such as 200' })
      .min(100, { error: 'must be an HTTP status (100–599)' })
      .max(599, { error: 'must be an HTTP status (100–599)' })
      .optional(),
    bodyContains: text('a text the response body contains').optional(),
  },
  { error: 'must be a mapping with path: and optionally name:, method:, headersFromEnv:, expect:, bodyContains:' },
);

export const smokeSection = z.array(smokeRequest, { error: 'must be a list of requests, each with path: (and expect:, default 200)' }).min(1, {
  error: 'must list at least one request (or leave smoke: out)',
});

const rate = z.unknown().transform((value, ctx) => {
  const m = typeof value === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value) : null;
  if (!m || Number(m[1]) > 100) {
    ctx.addIssue({ code: 'custom', message: 'must be a percentage such as "1%" or "0.5%" (of the requests the gateway answered in the window)' });
    return z.NEVER;
  }
  return Number(m[1]) / 100;
});

export const analysisSection = z.strictObject(
  {
    window: duration,
    max5xxRate: rate,
    minRequests: z.int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }).optional(),
    tooFewRequests: z.enum(['fail', 'pass'], { error: 'must be fail or pass' }).optional(),
  },
  { error: 'must be a mapping with window: and max5xxRate: (and optionally minRequests:, tooFewRequests:)' },
);

export const unsupportedRedisSection = z.enum(['warn', 'refuse'], { error: 'must be warn or refuse' });

interface ServingPlan {
  inventory?: InventorySection;
  smoke?: z.output<typeof smokeSection>;
  analysis?: z.output<typeof analysisSection>;
  unsupportedRedis?: 'warn' | 'refuse';
}

/** The serving checks as the workflow takes them; absent keys stay absent (defaults apply in the workflow). */
export function toServingInput(plan: ServingPlan): Pick<UpgradeInput, 'inventory' | 'smoke' | 'analysis' | 'unsupportedRedis'> {
  const out: Pick<UpgradeInput, 'inventory' | 'smoke' | 'analysis' | 'unsupportedRedis'> = {};
  if (plan.inventory === false) out.inventory = false;
  else if (plan.inventory?.tolerate) {
    const t = plan.inventory.tolerate;
    out.inventory = { tolerate: { ...(t.apis ? { apis: t.apis } : {}), ...(t.policies ? { policies: t.policies } : {}) } };
  }
  if (plan.smoke) {
    out.smoke = plan.smoke.map(
      (r): SmokeRequest => ({
        ...(r.name ? { name: r.name } : {}),
        method: r.method ?? 'GET',
        path: r.path,
        ...(r.headersFromEnv ? { headersFromEnv: r.headersFromEnv } : {}),
        expectStatus: r.expect ?? 200,
        ...(r.bodyContains !== undefined ? { bodyContains: r.bodyContains } : {}),
      }),
    );
  }
  if (plan.analysis) {
    const a = plan.analysis;
    out.analysis = {
      windowMs: a.window,
      max5xxRate: a.max5xxRate,
      minRequests: a.minRequests ?? DEFAULT_MIN_REQUESTS,
      tooFewRequests: a.tooFewRequests ?? 'fail',
    } satisfies TrafficAnalysis;
  }
  if (plan.unsupportedRedis === 'refuse') out.unsupportedRedis = 'refuse';
  return out;
}
