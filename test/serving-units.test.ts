// The serving checks' pure parts: comparing inventories and the messages that name what is missing, the Redis
// facts from Tyk's docs, the plan keys (and their refusals), the Gateway API secret as the gateway resolves it,
// smoke headers from the environment, HAProxy's per-server counters, and what plan/status/watch print.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DryRunReport } from '../src/activities/dry-run';
import { secretOf } from '../src/activities/gateway-api';
import { parseStat } from '../src/activities/load-balancer/haproxy-runtime';
import { smokeHeaders } from '../src/activities/smoke';
import { renderDryRun } from '../src/cli/render';
import { statusEvents } from '../src/cli/status-events';
import { toUpgradeInput } from '../src/plan/load';
import { parsePlanText } from '../src/plan/parse';
import { problems } from './support/plan-problems';
import { renderPlan } from '../src/plan/render';
import { REDIS_SUPPORT, redisSupportProblem } from '../src/shared/release-notes';
import { compareInventories, inventoryCounts, inventoryVerdict, type GatewayInventory } from '../src/shared/serving';
import type { UpgradeStatus } from '../src/shared/types';

const INV: GatewayInventory = {
  apis: [
    { id: 'orders', name: 'Orders', listenPath: '/orders/', active: true },
    { id: 'users', name: 'users', listenPath: '/users/', active: true },
  ],
  policies: [{ id: 'gold', name: 'Gold', active: true }],
};

describe('inventory comparison', () => {
  it('the same inventory is "same as before", with its counts', () => {
    const c = compareInventories(INV, structuredClone(INV), '5.3.0', '5.8.10');
    assert.deepEqual(c, { problems: [], tolerated: [] });
    assert.equal(inventoryVerdict(INV, c), '2 APIs, 1 policy: same as before');
    assert.equal(inventoryCounts({ apis: [INV.apis[0]], policies: [] }), '1 API, 0 policies');
  });

  it('names each missing, moved, deactivated or added API and each missing policy, with the versions', () => {
    const after: GatewayInventory = {
      apis: [
        { id: 'users', name: 'users', listenPath: '/v2/users/', active: true },
        { id: 'extra', name: 'Extra', listenPath: '/extra/', active: true },
      ],
      policies: [],
    };
    assert.deepEqual(compareInventories(INV, after, '5.3.0', '5.8.10').problems, [
      'api "orders" (Orders, /orders/) not loaded by 5.8.10',
      'api "users" (/users/) listens on /v2/users/ on 5.8.10',
      'api "extra" (Extra, /extra/) loaded by 5.8.10 but not by 5.3.0',
      'policy "gold" not loaded by 5.8.10',
    ]);
    const inactive = { ...INV, apis: [INV.apis[0], { ...INV.apis[1], active: false }] };
    assert.deepEqual(compareInventories(INV, inactive, '5.3.0', '5.8.10').problems, ['api "users" (/users/) is active on 5.3.0 but inactive on 5.8.10']);
  });

  it('what the plan tolerates is kept apart, and named in the verdict', () => {
    const after = { apis: [INV.apis[1]], policies: INV.policies };
    const c = compareInventories(INV, after, '5.3.0', '5.8.10', { apis: ['orders'] });
    assert.deepEqual(c.problems, []);
    assert.equal(
      inventoryVerdict(after, c),
      '1 API, 1 policy: as before, but for what the plan tolerates (api "orders" (Orders, /orders/) not loaded by 5.8.10)',
    );
  });
});

describe("Redis facts from Tyk's documentation", () => {
  it('every row names its source', () => {
    for (const f of REDIS_SUPPORT) assert.match(f.source, /^https:\/\/tyk\.io\/docs\/.+"Tyk 5\.[23]/);
  });

  it("5.2.0 does not list Debian 12's Redis 7.0; 5.3.0 and 5.8.10 do; 7.4 is outside both", () => {
    assert.match(
      redisSupportProblem('v5.2.0', '7.0.15') ?? '',
      /^Redis 7\.0\.15 is not among the Redis versions Tyk Gateway 5\.2\.0 supports \(6\.0\.x, 6\.2\.x\); source: https:\/\/tyk\.io\/docs\/planning-for-production\/redis\//,
    );
    assert.equal(redisSupportProblem('v5.2.0', '6.2.14'), undefined);
    assert.equal(redisSupportProblem('5.3.0', '7.0.15'), undefined);
    assert.equal(redisSupportProblem('v5.8.10', '7.2.4'), undefined);
    assert.match(redisSupportProblem('v5.8.10', '7.4.1') ?? '', /6\.2\.x, 7\.0\.x, 7\.2\.x/);
    assert.equal(redisSupportProblem('v5.3.0', 'unknown'), undefined, 'an unreadable version is not a verdict');
  });
});

const PLAN = `stack: s
gateway:
  version: v5.3.0
  instances:
    - { container: gw, url: "http://127.0.0.1:8080", apiUrl: "http://127.0.0.1:8081/" }
`;

describe('plan keys', () => {
  it('inventory is on by default; smoke, analysis and unsupportedRedis map to the workflow input', () => {
    const plain = toUpgradeInput(parsePlanText(PLAN, '/p.yaml'), {});
    assert.equal(plain.inventory, undefined, 'absent: checked, nothing tolerated');
    assert.equal(plain.gateways[0].apiUrl, 'http://127.0.0.1:8081');
    const text = `${PLAN}inventory: { tolerate: { apis: [legacy], policies: [old] } }
smoke:
  - { path: /orders/, headersFromEnv: { Authorization: SMOKE_AUTH } }
  - { name: head, method: head, path: /x, expect: 404, bodyContains: nope }
analysis: { window: 30s, max5xxRate: 0.5% }
unsupportedRedis: refuse
loadBalancer: { haproxy: { socket: /run/haproxy.sock, backend: tyk } }
`;
    const input = toUpgradeInput(parsePlanText(text, '/p.yaml'), {});
    assert.deepEqual(input.inventory, { tolerate: { apis: ['legacy'], policies: ['old'] } });
    assert.deepEqual(input.smoke, [
      { method: 'GET', path: '/orders/', headersFromEnv: { Authorization: 'SMOKE_AUTH' }, expectStatus: 200 },
      { name: 'head', method: 'HEAD', path: '/x', expectStatus: 404, bodyContains: 'nope' },
    ]);
    assert.deepEqual(input.analysis, { windowMs: 30_000, max5xxRate: 0.005, minRequests: 20, tooFewRequests: 'fail' });
    assert.equal(input.unsupportedRedis, 'refuse');
    assert.equal(toUpgradeInput(parsePlanText(`${PLAN}inventory: false\n`, '/p.yaml'), {}).inventory, false);
  });

  it('refuses header values, credentials in a smoke query, bad statuses and rates, analysis without HAProxy', () => {
    assert.deepEqual(
      problems(`${PLAN}smoke:
  - path: /orders/?api_key=abc
    headersFromEnv: { Authorization: "Bearer abc" }
    expect: 700
  - { path: orders, method: fetch }
inventory: { tolerate: { polcies: [x] } }
analysis: { window: 30s, max5xxRate: 1 }
`),
      [
        '7: smoke[0].path: must not carry a credential in its query (api_key): the plan lands in workflow history; send it as a header with headersFromEnv',
        "8: smoke[0].headersFromEnv.Authorization: must be the name of an environment variable on the workers (such as SMOKE_ORDERS_AUTH) that holds the header's value; values never go into the plan, which lands in workflow history",
        '9: smoke[0].expect: must be an HTTP status (100–599)',
        '10: smoke[1].method: must be one of GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS',
        '10: smoke[1].path: "orders" must be a path starting with "/", such as /orders/status (sent to each gateway\'s own URL)',
        '11: inventory.tolerate.polcies: unknown key (did you mean "policies"?); allowed here: apis, policies',
        '12: analysis.max5xxRate: must be a percentage such as "1%" or "0.5%" (of the requests the gateway answered in the window)',
      ],
    );
    assert.deepEqual(problems(`${PLAN}analysis: { window: 30s, max5xxRate: 1% }\n`), [
      "6: analysis: reads HAProxy's per-server counters, so it needs loadBalancer: with haproxy: (hooks and no load balancer have none)",
    ]);
    assert.deepEqual(problems(`${PLAN}unsupportedRedis: maybe\n`), ['6: unsupportedRedis: must be warn or refuse']);
  });

  it("init's plan proposes a smoke request per keyless API, expecting today's answer; a 5xx one is commented out", () => {
    const text = renderPlan({
      stack: 's',
      gatewayVersion: 'v5.3.0',
      gateways: [{ container: 'gw', url: 'http://127.0.0.1:8080', helloPath: 'hello', apiUrl: 'http://127.0.0.1:8081' }],
      pumps: [],
      source: 'test',
      smoke: [
        { name: 'orders', path: '/orders/', today: 200 },
        { name: 'broken', path: '/broken/', today: 502 },
      ],
    });
    const input = toUpgradeInput(parsePlanText(text, '/p.yaml'), {});
    assert.deepEqual(input.smoke, [{ name: 'orders', method: 'GET', path: '/orders/', expectStatus: 200 }]);
    assert.equal(input.gateways[0].apiUrl, 'http://127.0.0.1:8081');
    assert.match(text, /# - \{ name: broken, path: \/broken\/, expect: 200 \} +# answered HTTP 502 today: fix it, or leave it out/);
  });
});

describe('the Gateway API secret, as the gateway resolves it', () => {
  it('TYK_GW_SECRET over tyk.conf, env:// from the container, other stores refused with the fix', () => {
    assert.equal(secretOf({ secret: 'from-conf' }, []), 'from-conf');
    assert.equal(secretOf({ secret: 'from-conf' }, ['TYK_GW_SECRET=from-env']), 'from-env');
    assert.equal(secretOf({ secret: 'env://GW_SECRET' }, ['GW_SECRET=resolved=with=equals']), 'resolved=with=equals');
    assert.throws(() => secretOf({ secret: 'vault://kv/tyk' }, []), /comes from vault:\/\/, which the worker cannot read; .*inventory: false/);
    assert.throws(() => secretOf({ secret: 'env://NOPE' }, []), /names the environment variable NOPE, which its container does not set/);
  });
});

describe('smoke headers from the worker environment', () => {
  it('values come from the named variables; a missing one is named, its value never', () => {
    const r = { method: 'GET', path: '/', expectStatus: 200, headersFromEnv: { Authorization: 'SMOKE_AUTH', 'X-Team': 'SMOKE_TEAM' } };
    assert.deepEqual(smokeHeaders(r, { SMOKE_AUTH: 'Bearer s3cr3t' }), {
      headers: { Authorization: 'Bearer s3cr3t' },
      missing: ['environment variable SMOKE_TEAM (header X-Team) is not set on this worker'],
    });
  });
});

// A real answer of Debian's HAProxy 2.6 to `show stat b 4 -1`: 6 responses 2xx, 2 responses 5xx, one request the
// server answered with a reset (eresp).
const STAT = `# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight,act,bck,chkfail,chkdown,lastchg,downtime,qlimit,pid,iid,sid,throttle,lbtot,tracked,type,rate,rate_lim,rate_max,check_status,check_code,check_duration,hrsp_1xx,hrsp_2xx,hrsp_3xx,hrsp_4xx,hrsp_5xx,hrsp_other,hanafail,req_rate,req_rate_max,req_tot,cli_abrt,srv_abrt,comp_in,comp_out,comp_byp,comp_rsp,lastsess,last_chk,last_agt,qtime,ctime,rtime,ttime,agent_status,agent_code,agent_duration,check_desc,agent_desc,check_rise,check_fall,check_health,agent_rise,agent_fall,agent_health,addr,cookie,mode,algo,conn_rate,conn_rate_max,conn_tot,intercepted,dcon,dses,wrew,connect,reuse,cache_lookups,cache_hits,srv_icur,src_ilim,qtime_max,ctime_max,rtime_max,ttime_max,eint,idle_conn_cur,safe_conn_cur,used_conn_cur,need_conn_est,uweight,agg_server_status,agg_server_check_status,agg_check_status,-,ssl_sess,ssl_reused_sess,ssl_failed_handshake,h2_headers_rcvd,h2_data_rcvd,h2_settings_rcvd,h2_rst_stream_rcvd,h2_goaway_rcvd,h2_detected_conn_protocol_errors,h2_detected_strm_protocol_errors,h2_rst_stream_resp,h2_goaway_resp,h2_open_connections,h2_backend_open_streams,h2_total_connections,h2_backend_total_streams,h1_open_connections,h1_open_streams,h1_total_connections,h1_total_streams,h1_bytes_in,h1_bytes_out,h1_spliced_bytes_in,h1_spliced_bytes_out,
b,s1,0,0,0,1,,9,751,1089,,0,,0,1,0,0,no check,1,1,0,,,1,,,1,3,1,,9,,2,9,,9,,,,0,6,0,0,2,0,,,,8,0,0,,,,,0,,,0,1,3,4,,,,,,,,,,,,127.0.0.1:19481,,http,,,,,,,,0,9,0,,,2,,0,3,17,18,0,2,0,0,1,1,,,,-,0,0,0,,,,,,,,,,,,,,,,,,,,,,
`;

describe("HAProxy's per-server counters", () => {
  it('responses by class and the requests failed without a response', () => {
    const [s] = parseStat(STAT);
    assert.deepEqual(
      { server: s.server, responses: s.responses, responses5xx: s.responses5xx, failedResponses: s.failedResponses, failedConnections: s.failedConnections },
      { server: 's1', responses: 8, responses5xx: 2, failedResponses: 1, failedConnections: 0 },
    );
  });
});

describe('what plan, status and watch show', () => {
  it('the dry run lists the checks and what each gateway serves today, never a header value', () => {
    const input = toUpgradeInput(
      parsePlanText(`${PLAN}smoke: [{ path: /orders/, headersFromEnv: { Authorization: SMOKE_AUTH }, bodyContains: ok }]\n`, '/p.yaml'),
      {},
    );
    const report: DryRunReport = {
      instances: [
        {
          role: 'gateway',
          container: 'gw',
          state: 'running',
          current: '5.2.0',
          target: '5.3.0',
          backup: [],
          problems: [],
          serving: '2 APIs, 1 policy loaded now; 1 smoke request passed today',
        },
      ],
      images: [],
      problems: [],
      warnings: [],
    };
    const text = renderDryRun(input, report, 'p.yaml');
    assert.match(text, /APIs and policies: the same ids, listen paths and active flags/);
    assert.match(text, /GET \/orders\/: GET \/orders\/ → 200 with "ok" in the body \(Authorization from \$SMOKE_AUTH on the worker\)/);
    assert.match(text, /gw: 2 APIs, 1 policy loaded now; 1 smoke request passed today/);
  });

  it('watch says what a gateway serves once it is known', () => {
    const base = { role: 'gateway', container: 'gw', toVersion: '5.3.0', fromVersion: '5.2.0' } as const;
    const s = (i: object) =>
      ({
        stack: 's',
        outcome: 'running',
        stage: 'gateways',
        stages: [],
        gates: [],
        hosts: [],
        batches: [],
        failures: { count: 0, budget: 0 },
        backups: [],
        errors: [],
        instances: [{ ...base, ...i }],
      }) as unknown as UpgradeStatus;
    assert.deepEqual(statusEvents(s({ state: 'health-check' }), s({ state: 'upgraded', serving: '2 APIs, 1 policy: same as before' })), [
      'gw: upgraded',
      'gw serves: 2 APIs, 1 policy: same as before',
    ]);
  });
});
