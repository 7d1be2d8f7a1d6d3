// The plan file: what a person writes (YAML), checked field by field. Strict objects, so a misspelt key is an
// error rather than a silently ignored setting. Durations stay text here; to-input.ts turns them into numbers.
import { z } from 'zod';
import { GATES } from '../shared/types';
import { parseDuration } from './duration';
import { checkTargetVersion } from './version-policy';

const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const STACK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
// A Docker repository without tag or digest: [host[:port]/]path, lower-case path components.
const REPOSITORY = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

const text = (what: string) => z.string({ error: `must be ${what}` }).trim().min(1, { error: `must be ${what}` });

const container = text('a container name').regex(CONTAINER_NAME, {
  error: 'is not a valid container name (letters, digits, "_", ".", "-")',
});

function httpUrl(opts: { pathAllowed: boolean }) {
  return z.string({ error: 'must be a URL such as http://127.0.0.1:8080' }).superRefine((value, ctx) => {
    let url: URL;
    try {
      url = new URL(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: `"${value}" is not a URL; write it with its scheme, like http://127.0.0.1:8080` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `"${value}" must use http:// or https://` });
    } else if (!opts.pathAllowed && url.pathname !== '/') {
      ctx.addIssue({
        code: 'custom',
        message: `"${value}" has a path; give the gateway's base URL (e.g. ${url.origin}) and the health endpoint's name in helloPath`,
      });
    } else if (url.search || url.hash || url.username || url.password) {
      ctx.addIssue({ code: 'custom', message: `"${value}" must not carry a query, fragment or credentials` });
    }
  });
}

function version(allowPrerelease: boolean, example: string) {
  return z.unknown().transform((value, ctx) => {
    const check = checkTargetVersion(value, allowPrerelease, 'set allowPrerelease: true in the plan', example);
    if (!check.ok) {
      ctx.addIssue({ code: 'custom', message: check.message });
      return z.NEVER;
    }
    return check.tag;
  });
}

const duration = z.unknown().transform((value, ctx) => {
  const d = parseDuration(value);
  if (!d.ok) {
    ctx.addIssue({ code: 'custom', message: d.message });
    return z.NEVER;
  }
  return d.ms;
});

const repository = text('an image repository').regex(REPOSITORY, {
  error: 'must be an image repository without a tag, such as docker.tyk.io/tyk-gateway/tyk-gateway (the tag comes from version)',
});

const flag = z.boolean({ error: 'must be true or false' });

const gatewayInstance = z.strictObject(
  {
    container,
    url: httpUrl({ pathAllowed: false }),
    helloPath: text('the health endpoint name')
      .regex(/^\/?[A-Za-z0-9_.\-/]+$/, { error: 'must be a path such as hello' })
      .optional(),
  },
  { error: 'must be a mapping with container: and url:' },
);

function gatewaySection(allowPrerelease: boolean) {
  return z.strictObject(
    {
      version: version(allowPrerelease, 'v5.3.0'),
      repository: repository.optional(),
      instances: z
        .array(gatewayInstance, { error: 'must be a list of gateway containers, each with container: and url:' })
        .min(1, { error: 'must list at least one gateway container' }),
    },
    { error: 'must be a mapping with version: and instances:' },
  );
}

function pumpSection(allowPrerelease: boolean) {
  return z.strictObject(
    {
      version: version(allowPrerelease, 'v1.10.0'),
      repository: repository.optional(),
      container,
      healthUrl: httpUrl({ pathAllowed: true }),
    },
    { error: 'must be a mapping with version:, container: and healthUrl:' },
  );
}

const gates = z.array(z.enum(GATES, { error: `must be one of ${GATES.join(', ')}` }), {
  error: `must be a list of gates: ${GATES.join(', ')}, or []`,
});

/** The plan's shape. `allowPrerelease` is read from the file first, so each version field can apply it. */
export function planShape(allowPrerelease: boolean) {
  return z.strictObject(
    {
      stack: text('the stack name').regex(STACK_NAME, {
        error: 'must be 1–63 letters, digits, "_", "." or "-", starting with a letter or digit (it becomes the workflow id)',
      }),
      gateway: gatewaySection(allowPrerelease),
      pump: pumpSection(allowPrerelease).optional(),
      gates: gates.optional(),
      approvalTimeout: duration.optional(),
      drainTimeout: duration.optional(),
      healthTimeout: duration.optional(),
      batchSize: z.int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }).optional(),
      soak: duration.optional(),
      backupDir: text('a folder').optional(),
      keepOldContainers: flag.optional(),
      allowDowngrade: flag.optional(),
      allowPrerelease: flag.optional(),
    },
    { error: 'must be a mapping of keys such as stack:, gateway:, pump:' },
  );
}

/** The shape plus the rules that span fields. */
export function planSchema(allowPrerelease: boolean) {
  return planShape(allowPrerelease).superRefine((plan, ctx) => {
    const seen = new Map<string, string>();
    plan.gateway.instances.forEach((g, i) => {
      const name = g.container.replace(/^\//, '');
      const where = `gateway.instances[${i}]`;
      if (seen.has(name)) ctx.addIssue({ code: 'custom', path: ['gateway', 'instances', i, 'container'], message: `"${name}" is already listed at ${seen.get(name)}` });
      else seen.set(name, where);
    });
    if (plan.pump && seen.has(plan.pump.container.replace(/^\//, ''))) {
      ctx.addIssue({ code: 'custom', path: ['pump', 'container'], message: `"${plan.pump.container}" is also listed as a gateway` });
    }
    const listed = plan.gates ?? [];
    listed.forEach((g, i) => {
      if (listed.indexOf(g) !== i) ctx.addIssue({ code: 'custom', path: ['gates', i], message: `"${g}" is listed twice` });
    });
    for (const key of ['drainTimeout', 'healthTimeout', 'approvalTimeout'] as const) {
      const ms = plan[key];
      if (ms !== undefined && ms < 1000) ctx.addIssue({ code: 'custom', path: [key], message: 'must be at least 1s' });
    }
  });
}

export type PlanFile = z.output<ReturnType<typeof planSchema>>;

/** The keys the object at `path` allows (for "did you mean" hints), found by walking the shape. */
export function allowedKeys(path: PropertyKey[]): string[] {
  let node: z.ZodType = planShape(false);
  for (const step of path) {
    node = unwrap(node);
    if (node instanceof z.ZodArray && typeof step === 'number') node = node.element as z.ZodType;
    else if (node instanceof z.ZodObject) node = node.shape[step as string] as z.ZodType;
    else return [];
    if (!node) return [];
  }
  node = unwrap(node);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

function unwrap(node: z.ZodType): z.ZodType {
  return node instanceof z.ZodOptional ? (node.unwrap() as z.ZodType) : node;
}

