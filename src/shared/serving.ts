// Does the new gateway serve what the old one served? The types that cross the workflow boundary and the pure
// comparison. Ids, names and listen paths only: never the Gateway API secret or a header value (history).

/** One API definition as the Gateway API lists it (`GET /tyk/apis`). */
export interface ApiEntry {
  id: string;
  name: string;
  listenPath: string;
  active: boolean;
  /** use_keyless: `init` proposes a smoke request for each of these. */
  keyless?: boolean;
}

/** One policy as the Gateway API lists it (`GET /tyk/policies`). */
export interface PolicyEntry {
  id: string;
  name: string;
  active: boolean;
}

/** What a running gateway has loaded, sorted by id. */
export interface GatewayInventory {
  apis: ApiEntry[];
  policies: PolicyEntry[];
}

/** The plan's known, intended changes: these ids may be missing, added or changed on the new version. */
export interface InventoryTolerance {
  apis?: string[];
  policies?: string[];
}

/** A request sent through each new gateway directly (its own URL) after its health check and during the soak. */
export interface SmokeRequest {
  /** How messages name it; default "METHOD path". */
  name?: string;
  method: string;
  /** Path (and query) on the gateway's API URL, e.g. /orders/status. */
  path: string;
  /** Header name → the name of an environment variable on the worker that holds its value. */
  headersFromEnv?: Record<string, string>;
  expectStatus: number;
  /** The response body must contain this text. */
  bodyContains?: string;
}

/** Argo-style analysis once a new gateway serves real traffic again (HAProxy driver only). */
export interface TrafficAnalysis {
  windowMs: number;
  /** 0.01 for "1%": the most 5xx (and failed) responses of all the gateway answered in the window. */
  max5xxRate: number;
  /** Fewer requests than this in the window: not enough to judge (see tooFewRequests). */
  minRequests: number;
  /** fail (default): too little traffic to judge fails the gateway; pass: it is accepted. */
  tooFewRequests: 'fail' | 'pass';
}

/** "40 APIs, 12 policies". */
export function inventoryCounts(inv: GatewayInventory): string {
  const [a, p] = [inv.apis.length, inv.policies.length];
  return `${a} API${a === 1 ? '' : 's'}, ${p} polic${p === 1 ? 'y' : 'ies'}`;
}

const apiLabel = (a: ApiEntry) => `api "${a.id}" (${a.name && a.name !== a.id ? `${a.name}, ` : ''}${a.listenPath || 'no listen path'})`;

export interface InventoryComparison {
  /** What differs and is not tolerated: each names the API or policy and the versions. */
  problems: string[];
  /** What differs but the plan said may differ. */
  tolerated: string[];
}

/**
 * The new gateway's inventory against the old one's: the same API ids, listen paths and active flags, the same
 * policy ids. `from` and `to` are the versions, for the messages ("not loaded by 5.8.10").
 */
export function compareInventories(
  before: GatewayInventory,
  after: GatewayInventory,
  from: string,
  to: string,
  tolerate: InventoryTolerance = {},
): InventoryComparison {
  const out: InventoryComparison = { problems: [], tolerated: [] };
  const note = (kind: 'apis' | 'policies', id: string, text: string) => (tolerate[kind]?.includes(id) ? out.tolerated : out.problems).push(text);
  const afterApis = new Map(after.apis.map((a) => [a.id, a]));
  for (const a of before.apis) {
    const b = afterApis.get(a.id);
    if (!b) note('apis', a.id, `${apiLabel(a)} not loaded by ${to}`);
    else if (b.listenPath !== a.listenPath) note('apis', a.id, `${apiLabel(a)} listens on ${b.listenPath || 'no listen path'} on ${to}`);
    else if (b.active !== a.active)
      note('apis', a.id, `${apiLabel(a)} is ${a.active ? 'active' : 'inactive'} on ${from} but ${b.active ? 'active' : 'inactive'} on ${to}`);
  }
  const beforeApis = new Set(before.apis.map((a) => a.id));
  for (const b of after.apis) if (!beforeApis.has(b.id)) note('apis', b.id, `${apiLabel(b)} loaded by ${to} but not by ${from}`);
  const afterPolicies = new Set(after.policies.map((p) => p.id));
  for (const p of before.policies) if (!afterPolicies.has(p.id)) note('policies', p.id, `policy "${p.id}" not loaded by ${to}`);
  const beforePolicies = new Set(before.policies.map((p) => p.id));
  for (const p of after.policies) if (!beforePolicies.has(p.id)) note('policies', p.id, `policy "${p.id}" loaded by ${to} but not by ${from}`);
  return out;
}

/** "40 APIs, 12 policies: same as before" (or what was tolerated). */
export function inventoryVerdict(after: GatewayInventory, c: InventoryComparison): string {
  return `${inventoryCounts(after)}: ${c.tolerated.length ? `as before, but for what the plan tolerates (${c.tolerated.join('; ')})` : 'same as before'}`;
}

/** "GET /orders/status" or the request's own name. */
export function smokeName(r: SmokeRequest): string {
  return r.name ?? `${r.method} ${r.path}`;
}
