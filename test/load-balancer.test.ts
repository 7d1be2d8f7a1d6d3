// The load-balancer activities against a real HAProxy (Debian's 2.6) in front of three real stand-in gateways,
// and against real HTTP hook receivers. The activities run in @temporalio/testing's MockActivityEnvironment (the
// SDK's activity context, heartbeats and all): Temporal is not what is under test here; the workflow's use of
// these activities is tested with the workflow.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ApplicationFailure } from '@temporalio/common';
import { MockActivityEnvironment } from '@temporalio/testing';
import { DefaultLogger } from '@temporalio/worker';
import { request } from 'undici';
import { z } from 'zod';
import { createLoadBalancerActivities, haproxyServers, matchServers, readHookHeaders } from '../src/activities/load-balancer';
import { serverStat } from '../src/activities/load-balancer/haproxy-runtime';
import { ErrorType } from '../src/shared/errors';
import type { LbGateway, LoadBalancerInput } from '../src/shared/load-balancer';
import { haproxySectionFor, loadBalancerSection, toLoadBalancerInput, unknownServerContainers } from '../src/plan/load-balancer';
import { startHaproxy, type TestHaproxy } from './support/haproxy';
import { docker, freePort, tempDir, waitFor } from './support/services';
import { testStack, type TestStack } from './support/stack';

const TOKEN = 'Bearer lb-hook-s3cret-7f2a';
const acts = createLoadBalancerActivities({ hookHeaders: { Authorization: TOKEN } });

/** Runs one activity in the SDK's activity context; collects its heartbeats. */
async function run<A, R>(
  fn: (a: A) => Promise<R>,
  arg: A,
  opts: { heartbeatDetails?: unknown; heartbeats?: unknown[] } = {},
): Promise<{ result: R; heartbeats: unknown[]; ms: number }> {
  // Expected failures are asserted, not logged.
  const env = new MockActivityEnvironment({ heartbeatDetails: opts.heartbeatDetails }, { logger: new DefaultLogger('ERROR') });
  const heartbeats = opts.heartbeats ?? [];
  env.on('heartbeat', (d: unknown) => heartbeats.push(d));
  const start = Date.now();
  const result = (await env.run(fn, arg)) as R;
  return { result, heartbeats, ms: Date.now() - start };
}

/** The failure an activity ends with, and how long it took. */
async function failureOf(p: Promise<unknown>): Promise<{ err: ApplicationFailure; ms: number }> {
  const start = Date.now();
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof ApplicationFailure, `expected an ApplicationFailure, got ${String(err)}`);
    return { err, ms: Date.now() - start };
  }
  assert.fail('expected the activity to fail');
}

let stack: TestStack;
let lbProxy: TestHaproxy;
let gateways: LbGateway[];
const SERVER_NAMES = ['edge-a', 'edge-b', 'edge-c']; // unlike the container names, so matching is by address

const haproxyLb = (over: Partial<Extract<LoadBalancerInput, { type: 'haproxy' }>> = {}): LoadBalancerInput => ({
  type: 'haproxy',
  socket: lbProxy.socketPath,
  backend: lbProxy.backend,
  drainTimeoutMs: 10_000,
  readyTimeoutMs: 5_000,
  ...over,
});
const statusOf = async (server: string) => (await serverStat({ socket: lbProxy.socketPath }, lbProxy.backend, server))!;

/** `n` quick requests through HAProxy, counted by the server that answered. */
async function spread(n: number): Promise<Record<string, number>> {
  const counts: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    const r = await request(`${lbProxy.frontendUrl}/__standin/slow?ms=1`);
    assert.equal(`${r.statusCode} ${await r.body.text()}`, '200 done\n');
    const by = String(r.headers['x-served-by']);
    counts[by] = (counts[by] ?? 0) + 1;
  }
  return counts;
}

/** A slow request through HAProxy, and the server HAProxy sent it to. */
async function slowRequest(ms: number): Promise<{ server: string; gateway: LbGateway; done: Promise<{ answer: string; at: number }> }> {
  const done = request(`${lbProxy.frontendUrl}/__standin/slow?ms=${ms}`, { headersTimeout: 30_000, bodyTimeout: 30_000 }).then(
    async (r) => ({ answer: `${r.statusCode} ${(await r.body.text()).trim()}`, at: Date.now() }),
    (err: Error) => ({ answer: `failed: ${err.message}`, at: Date.now() }),
  );
  const server = await waitFor(
    'the slow request to reach a server',
    async () => {
      for (const s of SERVER_NAMES) if ((await statusOf(s)).scur > 0) return s;
      return undefined;
    },
    5000,
    20,
  );
  return { server, gateway: gateways[SERVER_NAMES.indexOf(server)], done };
}

before(async () => {
  stack = await testStack({ prefix: 'lb', gateways: 3, pump: false });
  gateways = stack.gateways.map((g) => ({ container: g.container, url: g.url }));
  lbProxy = await startHaproxy({
    servers: stack.gateways.map((g, i) => ({ name: SERVER_NAMES[i], address: g.url.replace('http://', '') })),
    tcpApi: true,
  });
  for (const s of SERVER_NAMES) {
    await waitFor(`HAProxy to see ${s} UP`, async () => ((await statusOf(s)).status === 'UP' ? true : undefined), 15_000).catch((err: Error) => {
      throw new Error(`${err.message}\nhaproxy said:\n${lbProxy.log()}`);
    });
  }
});
after(async () => {
  await lbProxy?.stop();
  await stack?.remove();
});

describe('HAProxy driver', () => {
  it('lbCheck finds every gateway by address and port, over the unix socket and over TCP', async () => {
    const expected = gateways.map((g, i) => ({ container: g.container, server: SERVER_NAMES[i], state: 'UP' }));
    assert.deepEqual((await run(acts.lbCheck, { lb: haproxyLb(), gateways })).result.servers, expected);
    const overTcp = haproxyLb({ socket: undefined, address: lbProxy.address });
    assert.deepEqual((await run(acts.lbCheck, { lb: overTcp, gateways })).result.servers, expected);
  });

  it('lbCheck refuses a server, a gateway or a backend HAProxy does not have, naming it and what HAProxy has', async () => {
    const named = await failureOf(run(acts.lbCheck, { lb: haproxyLb({ servers: { [gateways[0].container]: 'edge-z' } }), gateways }));
    assert.equal(named.err.type, ErrorType.LoadBalancerServerNotFound);
    assert.equal(named.err.nonRetryable, true);
    for (const word of ['edge-z', gateways[0].container, `backend "${lbProxy.backend}"`, ...SERVER_NAMES]) assert.match(named.err.message, new RegExp(word));

    const stranger = { container: 'tyk-gateway-9', url: `http://127.0.0.1:${await freePort()}` };
    const unmatched = await failureOf(run(acts.lbCheck, { lb: haproxyLb(), gateways: [...gateways, stranger] }));
    assert.equal(unmatched.err.type, ErrorType.LoadBalancerServerNotFound);
    assert.match(unmatched.err.message, /tyk-gateway-9 .*matches no server by address and port/);

    const backend = await failureOf(run(acts.lbCheck, { lb: haproxyLb({ backend: 'tyk-typo' }), gateways }));
    assert.equal(backend.err.type, ErrorType.LoadBalancerServerNotFound);
    assert.match(backend.err.message, /no backend "tyk-typo" \(its backends: tyk\)/);
  });

  it('lbDrain on a socket below level admin fails with LoadBalancerRefused saying so, and changes nothing', async () => {
    const refused = await failureOf(run(acts.lbDrain, { lb: haproxyLb({ socket: lbProxy.operatorSocketPath }), gateway: gateways[0] }));
    assert.equal(refused.err.type, ErrorType.LoadBalancerRefused);
    assert.equal(refused.err.nonRetryable, true);
    assert.match(refused.err.message, /refused "set server tyk\/edge-a state drain": Permission denied.*needs "level admin"/);
    assert.equal((await statusOf('edge-a')).status, 'UP');
  });

  it("init discovery lists HAProxy's servers and matches them to the gateways by address and port", async () => {
    const servers = await haproxyServers({ socket: lbProxy.socketPath });
    assert.deepEqual(
      servers.map((s) => `${s.backend}/${s.server} ${s.address}:${s.port}`),
      stack.gateways.map((g, i) => `tyk/${SERVER_NAMES[i]} ${g.url.replace('http://', '')}`),
    );
    assert.deepEqual(matchServers(gateways, servers), {
      backend: 'tyk',
      servers: Object.fromEntries(gateways.map((g, i) => [g.container, SERVER_NAMES[i]])),
    });
    const lost = matchServers([...gateways, { container: 'tyk-gateway-9', url: 'http://127.0.0.1:1' }], servers);
    assert.ok('problem' in lost && /tyk-gateway-9 \(127\.0\.0\.1:1\)/.test(lost.problem), JSON.stringify(lost));

    // The same as an activity (run on the gateways' host), and the section init writes from it, which the plan accepts.
    const found = (await run(acts.lbDiscover, { haproxy: { address: lbProxy.address }, gateways })).result;
    assert.ok(!('problem' in found.match), JSON.stringify(found.match));
    const section = haproxySectionFor({ address: lbProxy.address }, found.match);
    assert.deepEqual(toLoadBalancerInput(loadBalancerSection.parse(section)), {
      type: 'haproxy',
      address: lbProxy.address,
      backend: 'tyk',
      drainTimeoutMs: 30_000,
      readyTimeoutMs: 30_000,
      servers: Object.fromEntries(gateways.map((g, i) => [g.container, SERVER_NAMES[i]])),
    });
  });

  it('lbDrain waits for the request in flight to finish while new requests go to the other gateways', async () => {
    const slow = await slowRequest(3000);
    const draining = run(acts.lbDrain, { lb: haproxyLb(), gateway: slow.gateway });
    await waitFor('HAProxy to show the server draining', async () => ((await statusOf(slow.server)).status === 'DRAIN' ? true : undefined), 2000, 20);
    const counts = await spread(30);
    const drained = await draining;
    const doneAt = Date.now();
    const finished = await slow.done;

    assert.equal(finished.answer, '200 done', 'the request in flight on the drained gateway succeeded');
    assert.equal(counts[slow.server], undefined, `no new request went to the draining server (${JSON.stringify(counts)})`);
    assert.equal(Object.keys(counts).length, 2, `the two other gateways took the traffic (${JSON.stringify(counts)})`);
    assert.equal(drained.result.server, slow.server);
    assert.equal(drained.result.sessionsLeft, 0);
    assert.equal(drained.result.timedOut, false);
    assert.ok(doneAt >= finished.at - 300, 'lbDrain returned only once the slow request had finished');
    assert.ok(drained.result.waitedMs >= 2000, `waited for the slow request (${drained.result.waitedMs} ms)`);
    assert.ok(drained.heartbeats.length >= 5, `heartbeats while waiting (${drained.heartbeats.length})`);
    assert.equal((await statusOf(slow.server)).status, 'DRAIN');

    // Idempotent: a retried drain finds it drained and empty.
    const again = await run(acts.lbDrain, { lb: haproxyLb(), gateway: slow.gateway });
    assert.deepEqual([again.result.sessionsLeft, again.result.timedOut], [0, false]);
    assert.ok(again.ms < 1000);

    const ready = await run(acts.lbReady, { lb: haproxyLb(), gateway: slow.gateway });
    assert.deepEqual(ready.result, { server: slow.server, status: 'UP' });
    assert.ok((await spread(9))[slow.server]! > 0, 'back in rotation');
  });

  it("lbDrain gives up after drainTimeoutMs with the sessions left, and a retry keeps the first attempt's deadline", async () => {
    const slow = await slowRequest(3000);
    const drained = await run(acts.lbDrain, { lb: haproxyLb({ drainTimeoutMs: 800 }), gateway: slow.gateway });
    assert.equal(drained.result.timedOut, true);
    assert.equal(drained.result.sessionsLeft, 1);
    assert.ok(drained.ms >= 750 && drained.ms < 1800, `returned in about the drain timeout (${drained.ms} ms)`);

    const last = drained.heartbeats.at(-1);
    const retried = await run(acts.lbDrain, { lb: haproxyLb({ drainTimeoutMs: 800 }), gateway: slow.gateway }, { heartbeatDetails: last });
    assert.equal(retried.result.timedOut, true);
    assert.ok(retried.ms < 500, `a retry does not wait a second drain timeout (${retried.ms} ms)`);

    await run(acts.lbReady, { lb: haproxyLb(), gateway: slow.gateway });
    assert.equal((await slow.done).answer, '200 done', 'a drain that timed out does not cut the request');
  });

  it('lbReady waits until HAProxy sees the restarted gateway UP, and fails with LoadBalancerNotReady while it is down', async () => {
    const gateway = gateways[2];
    const server = SERVER_NAMES[2];
    await run(acts.lbDrain, { lb: haproxyLb(), gateway });
    await docker.getContainer(gateway.container).stop({ t: 5 });
    await waitFor('HAProxy to see the stopped gateway DOWN', async () => ((await statusOf(server)).status === 'DOWN' ? true : undefined), 5000, 50);

    const down = await failureOf(run(acts.lbReady, { lb: haproxyLb({ readyTimeoutMs: 1500 }), gateway }));
    assert.equal(down.err.type, ErrorType.LoadBalancerNotReady);
    assert.equal(down.err.nonRetryable, true);
    assert.match(down.err.message, new RegExp(`tyk/${server} \\(${gateway.container}\\) as DOWN \\(last health check: L4CON`));
    assert.ok(down.ms >= 1400 && down.ms < 2500, `failed after about readyTimeoutMs (${down.ms} ms)`);

    await docker.getContainer(gateway.container).start();
    const up = await run(acts.lbReady, { lb: haproxyLb({ readyTimeoutMs: 15_000 }), gateway });
    assert.deepEqual(up.result, { server, status: 'UP' });
    assert.equal((await statusOf(server)).status, 'UP');
    assert.ok((await spread(9))[server]! > 0, 'the restarted gateway takes requests again');
  });
});

// ---------------------------------------------------------------------------------------------------------
interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: unknown;
}

/** A real HTTP receiver on 127.0.0.1; `answer` decides each response (undefined: never answer). */
async function receiver(answer: (n: number, r: Received) => { code: number; body?: string } | undefined) {
  const calls: Received[] = [];
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (d: Buffer) => (text += d.toString()));
    req.on('end', () => {
      const r = { path: req.url ?? '', headers: req.headers, body: JSON.parse(text) as unknown };
      calls.push(r);
      const a = answer(calls.length, r);
      if (a) res.writeHead(a.code, { 'content-type': 'text/plain' }).end(a.body ?? '');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    base,
    calls,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const hookGateway: LbGateway = {
  container: 'tyk-gateway-1',
  url: 'http://127.0.0.1:8080',
  host: 'host-a',
  fromVersion: 'v5.2.0',
  toVersion: 'v5.3.0',
  stack: 'prod',
};
const hooksLb = (base: string, timeoutMs = 3000): LoadBalancerInput => ({
  type: 'hooks',
  beforeStop: `${base}/drain`,
  afterHealthy: `${base}/enable`,
  timeoutMs,
});

describe('hooks driver', () => {
  it("POSTs beforeStop then afterHealthy with the documented body and the worker's Authorization header", async () => {
    const rx = await receiver(() => ({ code: 200 }));
    try {
      const drained = await run(acts.lbDrain, { lb: hooksLb(rx.base), gateway: hookGateway });
      const ready = await run(acts.lbReady, { lb: hooksLb(rx.base), gateway: hookGateway });
      assert.deepEqual(drained.result, { server: 'tyk-gateway-1', waitedMs: drained.result.waitedMs, sessionsLeft: 0, timedOut: false });
      assert.deepEqual(ready.result, { server: 'tyk-gateway-1', status: 'HTTP 200' });
      const base = { container: 'tyk-gateway-1', host: 'host-a', url: 'http://127.0.0.1:8080', fromVersion: 'v5.2.0', toVersion: 'v5.3.0', stack: 'prod' };
      assert.deepEqual(
        rx.calls.map((c) => [c.path, c.headers.authorization, c.headers['content-type'], c.body]),
        [
          ['/drain', TOKEN, 'application/json', { event: 'beforeStop', ...base }],
          ['/enable', TOKEN, 'application/json', { event: 'afterHealthy', ...base }],
        ],
      );
      assert.ok(!JSON.stringify([drained, ready]).includes('s3cret'), 'the header is not in any result');
    } finally {
      await rx.close();
    }
  });

  it('retries a hook that answers 500 until it answers 200', async () => {
    const rx = await receiver((n) => (n <= 2 ? { code: 500, body: 'busy' } : { code: 200 }));
    try {
      const drained = await run(acts.lbDrain, { lb: hooksLb(rx.base), gateway: hookGateway });
      assert.equal(drained.result.timedOut, false);
      assert.equal(rx.calls.length, 3);
      assert.ok(drained.heartbeats.length >= 3);
    } finally {
      await rx.close();
    }
  });

  it('fails after timeoutMs when the hook never answers or is down, without the header in the message', async () => {
    const silent = await receiver(() => undefined);
    try {
      const beats: unknown[] = [];
      const hung = await failureOf(run(acts.lbDrain, { lb: hooksLb(silent.base, 2000), gateway: hookGateway }, { heartbeats: beats }));
      assert.ok(beats.length >= 2, `heartbeats while the hook keeps it waiting (${beats.length})`);
      assert.equal(hung.err.type, ErrorType.LoadBalancerHookFailed);
      assert.equal(hung.err.nonRetryable, true);
      assert.match(
        hung.err.message,
        new RegExp(`beforeStop hook POST ${silent.base}/drain for tyk-gateway-1 did not succeed within 2 s \\(1 attempt; last: no answer\\)`),
      );
      assert.ok(hung.ms >= 1900 && hung.ms < 3000, `after about the timeout (${hung.ms} ms)`);
    } finally {
      await silent.close();
    }
    const downUrl = `http://127.0.0.1:${await freePort()}`;
    const down = await failureOf(run(acts.lbReady, { lb: hooksLb(downUrl, 1200), gateway: hookGateway }));
    assert.equal(down.err.type, ErrorType.LoadBalancerHookFailed);
    assert.match(down.err.message, /afterHealthy hook .* did not succeed .*last: ECONNREFUSED/);
    assert.ok(down.ms >= 1100 && down.ms < 2500, `after about the timeout (${down.ms} ms)`);
    for (const e of [down.err]) assert.ok(!e.message.includes('s3cret'));
  });

  it('fails at once on 401, and a receiver that echoes the token does not get it into the message', async () => {
    const rx = await receiver((_, r) => ({ code: 401, body: `bad token ${String(r.headers.authorization)}` }));
    try {
      const refused = await failureOf(run(acts.lbDrain, { lb: hooksLb(rx.base, 10_000), gateway: hookGateway }));
      assert.equal(refused.err.type, ErrorType.LoadBalancerHookFailed);
      assert.match(refused.err.message, /was refused: HTTP 401 .*TYK_UPGRADE_HOOK_HEADERS/);
      assert.ok(!refused.err.message.includes('s3cret'), refused.err.message);
      assert.equal(rx.calls.length, 1);
      assert.ok(refused.ms < 1000);
    } finally {
      await rx.close();
    }
  });

  it("reads the hook headers from the worker's environment or a file, and never echoes them in errors", () => {
    assert.deepEqual(readHookHeaders({ TYK_UPGRADE_HOOK_HEADERS: JSON.stringify({ Authorization: TOKEN }) }), { Authorization: TOKEN });
    const file = join(tempDir('hook-headers'), 'headers.json');
    writeFileSync(file, JSON.stringify({ 'X-Api-Key': 'k-s3cret' }), { mode: 0o600 });
    assert.deepEqual(readHookHeaders({ TYK_UPGRADE_HOOK_HEADERS_FILE: file }), { 'X-Api-Key': 'k-s3cret' });
    assert.deepEqual(readHookHeaders({}), {});
    assert.throws(
      () => readHookHeaders({ TYK_UPGRADE_HOOK_HEADERS: 'Authorization: s3cret' }),
      (e: Error) => /is not JSON/.test(e.message) && !e.message.includes('s3cret'),
    );
    assert.throws(() => readHookHeaders({ TYK_UPGRADE_HOOK_HEADERS: '{"Authorization": 5}' }), /value of "Authorization" must be a one-line string/);
    assert.throws(() => readHookHeaders({ TYK_UPGRADE_HOOK_HEADERS: '{}', TYK_UPGRADE_HOOK_HEADERS_FILE: file }), /not both/);
    assert.throws(() => readHookHeaders({ TYK_UPGRADE_HOOK_HEADERS_FILE: '/nonexistent/h.json' }), /cannot read .*ENOENT/);
  });
});

// ---------------------------------------------------------------------------------------------------------
describe('plan: loadBalancer section', () => {
  const plan = z.strictObject({ loadBalancer: loadBalancerSection.optional() });
  const problems = (section: unknown) => {
    const r = plan.safeParse({ loadBalancer: section });
    assert.ok(!r.success, `expected ${JSON.stringify(section)} to be refused`);
    return r.error.issues.map((i) => `${i.path.join('.')}: ${i.code === 'unrecognized_keys' ? `unknown ${i.keys.join(', ')}` : i.message}`);
  };
  const input = (section: unknown) => {
    const r = plan.safeParse({ loadBalancer: section });
    assert.ok(r.success, JSON.stringify(!r.success && r.error.issues));
    return toLoadBalancerInput(r.data.loadBalancer);
  };

  it("turns valid sections into the activities' input, with defaults", () => {
    assert.deepEqual(input({ haproxy: { socket: '/run/haproxy/admin.sock', backend: 'tyk' }, drainTimeout: '45s', servers: { 'tyk-gateway-1': 'gw1' } }), {
      type: 'haproxy',
      socket: '/run/haproxy/admin.sock',
      backend: 'tyk',
      drainTimeoutMs: 45_000,
      readyTimeoutMs: 30_000,
      servers: { 'tyk-gateway-1': 'gw1' },
    });
    assert.deepEqual(input({ haproxy: { address: '127.0.0.1:9999', backend: 'tyk' }, readyTimeout: '1m' }), {
      type: 'haproxy',
      address: '127.0.0.1:9999',
      backend: 'tyk',
      drainTimeoutMs: 30_000,
      readyTimeoutMs: 60_000,
    });
    assert.deepEqual(input({ hooks: { beforeStop: 'https://lb.example/drain', afterHealthy: 'https://lb.example/enable', timeout: '90s' } }), {
      type: 'hooks',
      beforeStop: 'https://lb.example/drain',
      afterHealthy: 'https://lb.example/enable',
      timeoutMs: 90_000,
    });
    assert.equal(input('none'), undefined);
    assert.equal(input(undefined), undefined);
  });

  it('refuses invalid sections with messages that say what to write', () => {
    assert.deepEqual(problems({ haproxy: { socket: '/s', backend: 'tyk', sokcet: '/t' } }), ['loadBalancer.haproxy: unknown sokcet']);
    assert.deepEqual(problems({ haproxy: { socket: '/s', address: '127.0.0.1:9999', backend: 'tyk' } }), [
      'loadBalancer.haproxy.address: give socket: or address:, not both',
    ]);
    assert.deepEqual(problems({ haproxy: { backend: 'tyk' } }), [
      'loadBalancer.haproxy: needs socket: (path of a unix stats socket) or address: (host:port of a TCP stats socket)',
    ]);
    assert.deepEqual(problems({ haproxy: { socket: '/s', backend: 'tyk' }, drainTimeout: '30' }), [
      'loadBalancer.drainTimeout: "30" is not a duration; write it like 30s, 5m or 1h30m (units: ms, s, m, h)',
    ]);
    assert.deepEqual(problems({ haproxy: { socket: '/s', backend: 'tyk' }, readyTimeout: '200ms' }), ['loadBalancer.readyTimeout: must be at least 1s']);
    assert.deepEqual(problems({ haproxy: { address: 'localhost', backend: 'tyk' } }), [
      'loadBalancer.haproxy.address: must be host:port of a TCP stats socket, such as 127.0.0.1:9999',
    ]);
    assert.deepEqual(problems({ haproxy: { socket: '/s', backend: 'tyk; shutdown' } }), [
      'loadBalancer.haproxy.backend: must be the HAProxy backend that holds the gateways: letters, digits, "_", ".", ":" or "-"',
    ]);
    assert.deepEqual(problems({ hooks: { beforeStop: 'https://u:p@lb.example/drain', afterHealthy: 'https://lb.example/enable' }, servers: { a: 'b' } }), [
      'loadBalancer.hooks.beforeStop: must not carry credentials (the plan is kept in workflow history); give the worker TYK_UPGRADE_HOOK_HEADERS instead',
      'loadBalancer.servers: applies to haproxy: only',
    ]);
    assert.deepEqual(
      problems({ hooks: { beforeStop: 'https://lb.example/drain?pool=tyk', afterHealthy: 'https://lb.example/enable?pool=tyk&access_token=abc123' } }),
      [
        'loadBalancer.hooks.afterHealthy: must not carry credentials (query access_token) (the plan is kept in workflow history); give the worker TYK_UPGRADE_HOOK_HEADERS instead',
      ],
    );
    assert.deepEqual(problems({ haproxy: { socket: '/s', backend: 'tyk' }, hooks: { beforeStop: 'https://a/b', afterHealthy: 'https://a/c' } }), [
      'loadBalancer.hooks: give haproxy: or hooks:, not both',
    ]);
    assert.deepEqual(problems('nginx'), ['loadBalancer: "nginx" is not a choice; must be none, or a mapping with haproxy: or hooks:']);
    assert.deepEqual(problems({ haproxy: 3 }), ['loadBalancer.haproxy: must be a mapping with socket: (or address:) and backend:']);
  });

  it('names servers given for containers the plan does not list', () => {
    const r = plan.parse({ loadBalancer: { haproxy: { socket: '/s', backend: 'tyk' }, servers: { 'tyk-gateway-1': 'gw1', 'tyk-gatway-2': 'gw2' } } });
    assert.deepEqual(unknownServerContainers(r.loadBalancer, ['tyk-gateway-1', 'tyk-gateway-2']), [
      { path: ['loadBalancer', 'servers', 'tyk-gatway-2'], message: '"tyk-gatway-2" is not one of the plan\'s gateway.instances' },
    ]);
  });
});
