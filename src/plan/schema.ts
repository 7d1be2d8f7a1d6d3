// The plan file: what a person writes (YAML), checked field by field. Strict objects, so a misspelt key is an
// error rather than a silently ignored setting. Durations become milliseconds here (parseDuration); load.ts maps the plan onto the workflow input.
import { z } from 'zod';
import { stepProblem } from '../shared/batches';
import { HOST_NAME } from '../shared/names';
import { parsePublicKey, SshFormatError } from '../shared/sshsig';
import { COMPOSE_MODES, GATES } from '../shared/types';
import { parseWindow } from '../shared/window';
import { parseDuration } from '../shared/duration';
import { loadBalancerObject, loadBalancerSection, unknownServerContainers } from './load-balancer';
import { analysisSection, inventoryObject, inventorySection, smokeSection, unsupportedRedisSection } from './serving';
import { checkTargetVersion } from './version-policy';

const CONTAINER_NAME = /^\/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const STACK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;
// A Docker repository without tag or digest: [host[:port]/]path, lower-case path components.
const REPOSITORY = /^(?:[a-zA-Z0-9.-]+(?::\d+)?\/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:\/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$/;

const text = (what: string) =>
  z
    .string({ error: `must be ${what}` })
    .trim()
    .min(1, { error: `must be ${what}` });

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

const host = text('a host name').regex(HOST_NAME, {
  error: 'must be 1–63 letters, digits, "_", "." or "-" (the name its worker was started with: tyk-upgrade worker --host NAME)',
});
const pool = text('a pool name').regex(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/, { error: 'must be 1–63 letters, digits, "_", "." or "-"' });

/** A count (≥ 1) or a percentage such as "25%". */
const step = z.union([z.number(), z.string()], { error: 'must be a whole number or a percentage such as "25%"' }).superRefine((value, ctx) => {
  const problem = stepProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
const batchSize = z.union(
  [step, z.array(step, { error: 'must be a number, a percentage, or a list of them' }).min(1, { error: 'must list at least one batch size' })],
  {
    error: 'must be a number, a percentage such as "25%", or a ramp such as [1, 2, "25%"]',
  },
);
/** A failure budget may be 0. */
const budget = z.union([z.number(), z.string()], { error: 'must be a whole number or a percentage such as "10%"' }).superRefine((value, ctx) => {
  if (value === 0) return;
  const problem = stepProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem.replace('at least 1', 'at least 0') });
});

const gatewayInstance = z.strictObject(
  {
    container,
    url: httpUrl({ pathAllowed: false }),
    helloPath: text('the health endpoint name')
      .regex(/^\/?[A-Za-z0-9_.\-/]+$/, { error: 'must be a path such as hello' })
      .optional(),
    host: host.optional(),
    pool: pool.optional(),
    apiUrl: httpUrl({ pathAllowed: false }).optional(),
  },
  { error: 'must be a mapping with container: and url:' },
);

const pumpInstance = z.strictObject(
  { container, healthUrl: httpUrl({ pathAllowed: true }), host: host.optional() },
  { error: 'must be a mapping with container: and healthUrl:' },
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
  return z
    .strictObject(
      {
        version: version(allowPrerelease, 'v1.10.0'),
        repository: repository.optional(),
        // One pump: container/healthUrl (and host); several (a pump per host or region): instances.
        container: container.optional(),
        healthUrl: httpUrl({ pathAllowed: true }).optional(),
        host: host.optional(),
        instances: z
          .array(pumpInstance, { error: 'must be a list of pump containers, each with container: and healthUrl:' })
          .min(1, { error: 'must list at least one pump' })
          .optional(),
      },
      { error: 'must be a mapping with version: and container:/healthUrl: (or instances:)' },
    )
    .superRefine((p, ctx) => {
      const single = p.container !== undefined || p.healthUrl !== undefined || p.host !== undefined;
      if (single && p.instances)
        ctx.addIssue({ code: 'custom', message: 'give either container: and healthUrl: for one pump, or instances: for several, not both' });
      else if (!p.instances && (p.container === undefined || p.healthUrl === undefined)) {
        const missing = p.container === undefined ? 'container' : 'healthUrl';
        ctx.addIssue({
          code: 'custom',
          path: [missing],
          message: missing === 'container' ? 'must be a container name' : 'must be a URL such as http://127.0.0.1:8083/health',
        });
      }
    });
}

/** One window or a list of them; each checked here, so the workflow only ever sees ones that parse. */
const windowText = text('a maintenance window').superRefine((value, ctx) => {
  const r = parseWindow(value);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.message });
});
const windows = z.union(
  [windowText, z.array(windowText, { error: 'must be a window or a list of windows' }).min(1, { error: 'must list at least one window' })],
  {
    error: 'must be a window such as "Sat 02:00-04:00 Europe/Berlin", or a list of them',
  },
);

/** A folder inside each host worker's backup folder: relative, and never climbing out of it. */
const subfolder = text('a folder name such as prod or team-a/prod').superRefine((value, ctx) => {
  const parts = value.split('/');
  if (value.startsWith('/') || value.startsWith('~') || parts.some((p) => p === '..' || p === '.' || p === '') || !/^[A-Za-z0-9_./-]+$/.test(value)) {
    ctx.addIssue({
      code: 'custom',
      message: `"${value}" must be a relative folder name inside each worker's backup folder (letters, digits, "_", ".", "-", "/" between names; no "..")`,
    });
  }
});

/**
 * Until 0.3 the plan named the backup folder, resolved on the operator's machine: every host then wrote to that
 * path on its own disk. The folder is the worker's now; an old plan says so instead of silently moving backups.
 */
const retiredBackupDir = z.unknown().superRefine((_value, ctx) => {
  ctx.addIssue({
    code: 'custom',
    message:
      "backups now live in each host worker's own folder (`tyk-upgrade worker --backup-dir DIR`; /var/lib/tyk-upgrade/backups under the systemd unit " +
      'and in the worker image, ~/.local/state/tyk-upgrade/backups for your own worker or `dev`): delete this line, or name a folder inside it with backupSubfolder: NAME',
  });
});
/** An OpenSSH public key line, checked (type, encoding, curve point) so the workflow only ever sees good keys. */
const publicKey = z.string({ error: 'must be an OpenSSH public key such as "ssh-ed25519 AAAA... alice@laptop"' }).superRefine((value, ctx) => {
  try {
    parsePublicKey(value);
  } catch (err) {
    if (!(err instanceof SshFormatError)) throw err;
    ctx.addIssue({ code: 'custom', message: err.message });
  }
});
const approver = z.strictObject(
  {
    // It is signed into each statement, one line: no line breaks, and short enough to read in a table.
    name: text('a name').regex(/^[^\r\n]{1,64}$/, { error: 'must be one line of at most 64 characters' }),
    key: publicKey,
  },
  { error: 'must be a mapping with name: and key: (an OpenSSH public key)' },
);

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
      approvals: z.int({ error: 'must be a whole number' }).min(1, { error: 'must be at least 1' }).max(10, { error: 'must be at most 10' }).optional(),
      approverMustDifferFromStarter: flag.optional(),
      approvers: z
        .array(approver, { error: 'must be a list of approvers, each with name: and key:' })
        .min(1, { error: 'must list at least one approver' })
        .optional(),
      requireSignatures: flag.optional(),
      signatureMaxAge: duration.optional(),
      drainTimeout: duration.optional(),
      healthTimeout: duration.optional(),
      batchSize: batchSize.optional(),
      maxUnavailable: step.optional(),
      maxFailures: budget.optional(),
      onFailure: z.enum(['rollback', 'pause'], { error: 'must be rollback or pause' }).optional(),
      pauseTimeout: duration.optional(),
      soak: duration.optional(),
      backupSubfolder: subfolder.optional(),
      backupDir: retiredBackupDir.optional(),
      keepOldContainers: flag.optional(),
      allowDowngrade: flag.optional(),
      allowPrerelease: flag.optional(),
      loadBalancer: loadBalancerSection.optional(),
      window: windows.optional(),
      maxHistoryEvents: z
        .int({ error: 'must be a whole number of history events' })
        .min(50, { error: 'must be at least 50 (each batch adds about 20 events)' })
        .max(10_000, { error: 'must be at most 10000 (Temporal warns past 10,240 events)' })
        .optional(),
      compose: z.enum(COMPOSE_MODES, { error: `must be one of ${COMPOSE_MODES.join(', ')}` }).optional(),
      inventory: inventorySection.optional(),
      smoke: smokeSection.optional(),
      analysis: analysisSection.optional(),
      unsupportedRedis: unsupportedRedisSection.optional(),
    },
    { error: 'must be a mapping of keys such as stack:, gateway:, pump:' },
  );
}

/** The shape plus the rules that span fields. */
export function planSchema(allowPrerelease: boolean) {
  return planShape(allowPrerelease).superRefine((plan, ctx) => {
    // A container name repeats across hosts (each host runs its own tyk-gateway), never on one host.
    const seen = new Map<string, string>();
    const key = (c: string, h?: string) => `${h ?? ''}/${c.replace(/^\//, '')}`;
    const onHost = (h?: string) => (h ? ` on host ${h}` : '');
    plan.gateway.instances.forEach((g, i) => {
      const k = key(g.container, g.host);
      if (seen.has(k))
        ctx.addIssue({
          code: 'custom',
          path: ['gateway', 'instances', i, 'container'],
          message: `"${g.container}"${onHost(g.host)} is already listed at ${seen.get(k)}`,
        });
      else seen.set(k, `gateway.instances[${i}]`);
    });
    const pumps = plan.pump ? (plan.pump.instances ?? (plan.pump.container ? [{ container: plan.pump.container, host: plan.pump.host }] : [])) : [];
    pumps.forEach((p, i) => {
      const k = key(p.container, p.host);
      const path = plan.pump?.instances ? ['pump', 'instances', i, 'container'] : ['pump', 'container'];
      if (seen.has(k)) ctx.addIssue({ code: 'custom', path, message: `"${p.container}"${onHost(p.host)} is already listed at ${seen.get(k)}` });
      else seen.set(k, plan.pump?.instances ? `pump.instances[${i}]` : 'pump');
    });
    const withHost = [...plan.gateway.instances, ...pumps].filter((t) => t.host).length;
    if (withHost && withHost < plan.gateway.instances.length + pumps.length) {
      ctx.addIssue({
        code: 'custom',
        path: ['gateway', 'instances'],
        message:
          'some instances name a host and some do not; in a fleet plan every gateway and pump names its host (host: NAME), in a single-host plan none does',
      });
    }
    if (plan.pauseTimeout !== undefined && plan.onFailure !== 'pause') {
      ctx.addIssue({ code: 'custom', path: ['pauseTimeout'], message: 'only applies with onFailure: pause' });
    }
    const listed = plan.gates ?? [];
    listed.forEach((g, i) => {
      if (listed.indexOf(g) !== i) ctx.addIssue({ code: 'custom', path: ['gates', i], message: `"${g}" is listed twice` });
    });
    for (const k of ['drainTimeout', 'healthTimeout', 'approvalTimeout', 'pauseTimeout'] as const) {
      const ms = plan[k];
      if (ms !== undefined && ms < 1000) ctx.addIssue({ code: 'custom', path: [k], message: 'must be at least 1s' });
    }
    signatureRules(plan, ctx);
    if (plan.analysis && !(plan.loadBalancer && plan.loadBalancer !== 'none' && plan.loadBalancer.haproxy)) {
      ctx.addIssue({
        code: 'custom',
        path: ['analysis'],
        message: "reads HAProxy's per-server counters, so it needs loadBalancer: with haproxy: (hooks and no load balancer have none)",
      });
    }
    for (const issue of unknownServerContainers(
      plan.loadBalancer,
      plan.gateway.instances.map((g) => g.container),
    ))
      ctx.addIssue({ code: 'custom', ...issue });
  });
}

export type PlanFile = z.output<ReturnType<typeof planSchema>>;
type PlanShape = z.output<ReturnType<typeof planShape>>;

/** A key's fingerprint; undefined for a key already reported as bad. */
function fingerprintOf(line: string): string | undefined {
  try {
    return parsePublicKey(line).fingerprint;
  } catch {
    return undefined;
  }
}

/** Approvers are people, one key each; a plan that requires signatures must be able to collect them. */
function signatureRules(plan: PlanShape, ctx: z.RefinementCtx): void {
  const approvers = plan.approvers ?? [];
  const names = new Map<string, number>();
  const keys = new Map<string, number>();
  approvers.forEach((a, i) => {
    const fp = fingerprintOf(a.key);
    if (names.has(a.name)) ctx.addIssue({ code: 'custom', path: ['approvers', i, 'name'], message: `"${a.name}" is already approvers[${names.get(a.name)}]` });
    else names.set(a.name, i);
    if (fp === undefined) return;
    if (keys.has(fp))
      ctx.addIssue({ code: 'custom', path: ['approvers', i, 'key'], message: `this key (${fp}) is already approvers[${keys.get(fp)}]'s: one key per person` });
    else keys.set(fp, i);
  });
  for (const k of ['requireSignatures', 'signatureMaxAge'] as const) {
    if (plan[k] !== undefined && !approvers.length)
      ctx.addIssue({ code: 'custom', path: [k], message: 'needs approvers: (a name and an OpenSSH public key each)' });
  }
  if (plan.signatureMaxAge !== undefined && (plan.signatureMaxAge < 10_000 || plan.signatureMaxAge > 24 * 3_600_000)) {
    ctx.addIssue({ code: 'custom', path: ['signatureMaxAge'], message: 'must be between 10s and 24h' });
  }
  if (plan.requireSignatures && approvers.length) {
    // The starter signs too, and with approverMustDifferFromStarter cannot be one of a gate's approvers.
    const needed = (plan.approvals ?? 1) + (plan.approverMustDifferFromStarter ? 1 : 0);
    if (approvers.length < needed) {
      ctx.addIssue({
        code: 'custom',
        path: ['approvers'],
        message: `lists ${approvers.length} approver${approvers.length === 1 ? '' : 's'}, but signed gates need ${needed} (approvals: ${plan.approvals ?? 1}${plan.approverMustDifferFromStarter ? ', plus the starter, who may not approve' : ''})`,
      });
    }
  }
}

/** The keys the object at `path` allows (for "did you mean" hints), found by walking the shape. */
export function allowedKeys(path: PropertyKey[]): string[] {
  let node: z.ZodType = planShape(false);
  for (const step of path) {
    node = unwrap(node);
    if (node instanceof z.ZodArray && typeof step === 'number') node = node.element as z.ZodType;
    else if (node instanceof z.ZodObject) node = node.shape[step as string] as z.ZodType;
    else return [];
    // A section parsed by a transform (none | mapping, false | mapping): its keys are the mapping's.
    if (unwrap(node) === loadBalancerSection) node = loadBalancerObject;
    if (unwrap(node) === inventorySection) node = inventoryObject;
    if (!node) return [];
  }
  node = unwrap(node);
  return node instanceof z.ZodObject ? Object.keys(node.shape) : [];
}

function unwrap(node: z.ZodType): z.ZodType {
  return node instanceof z.ZodOptional ? (node.unwrap() as z.ZodType) : node;
}
