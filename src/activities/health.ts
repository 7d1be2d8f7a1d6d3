// Is a recreated Tyk container healthy on the version we expect? (What real Tyk answers: standins/README.md.)
// Gateway: running, /hello status "pass" with details.redis present and "pass" (past the warm-up window, when
// details is empty), /hello version = target, the start-up log line shows the target, /ready on versions with it.
// Pump: running and not restarting, /health ok, its log shows the target version.
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { ErrorType } from '../shared/errors';
import type { InstancePlan } from '../shared/types';
import { gatewayHasReady, normaliseVersion, sameVersion } from '../shared/version';
import { containerLogs, inspectContainer } from './docker-util';
import { describeHello, getHello, getPumpHealth, getReady } from './tyk-http';
import { startupVersion } from './versions-from-logs';
import type { SmokeRequest } from '../shared/serving';
import { runSmoke } from './smoke';

export interface HealthInput {
  instance: InstancePlan;
  version: string;
  timeoutMs: number;
  /** Poll interval; readiness is seen within this many ms (default 25: a batch waits for its slowest probe). */
  intervalMs?: number;
}

/** When a health check saw a container healthy (epoch ms, the host's clock) and the engine's StartedAt of that run. */
export interface HealthySince {
  healthyAt: number;
  startedAt?: string;
}

/** With when it was seen healthy (a soak counts from there); results recorded by older workers have no healthyAt. */
export interface HealthResult extends Partial<HealthySince> {
  /** ms from the start of the check until the container was seen healthy. */
  healthyAfterMs: number;
  seen: string;
}

interface Observation {
  healthy: boolean;
  /** Definitely wrong, waiting will not help (exited, wrong version). */
  fatal: boolean;
  seen: string;
  /** No answer, and the engine was not asked this round: nothing to say about whether it is fatal. */
  unsure?: boolean;
  /** What the engine said of the container when it was seen healthy. */
  info?: ContainerInspectInfo;
}

/** /hello is asked every round; the engine at most this often while /hello does not say healthy (fewer inspects). */
const ENGINE_EVERY_MS = 250;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function checkHealth(
  docker: Docker,
  input: HealthInput,
  redact: (s: string) => string,
  heartbeat: () => void,
  signal?: AbortSignal,
): Promise<HealthResult> {
  const start = Date.now();
  const interval = input.intervalMs ?? 25;
  let last: Observation = { healthy: false, fatal: false, seen: 'not checked yet' };
  let wrongTwice = 0;
  let engineAt = 0;
  while (Date.now() - start < input.timeoutMs) {
    if (signal?.aborted) throw new Error('health check cancelled');
    heartbeat();
    const askEngine = Date.now() - engineAt >= ENGINE_EVERY_MS;
    if (askEngine) engineAt = Date.now();
    last = input.instance.role === 'gateway' ? await observeGateway(docker, input, askEngine) : await observePump(docker, input);
    if (last.healthy) return { healthyAfterMs: Date.now() - start, healthyAt: Date.now(), startedAt: last.info?.State.StartedAt, seen: last.seen };
    // A wrong version (or an exit) is only believed when seen twice, so a half-started process cannot fail the check.
    if (!last.unsure) wrongTwice = last.fatal ? wrongTwice + 1 : 0;
    if (wrongTwice >= 2) break;
    await sleep(interval);
  }
  const logs = await containerLogs(docker, input.instance.container, 12).catch(() => '');
  throw ApplicationFailure.create({
    type: ErrorType.HealthCheckFailed,
    nonRetryable: true,
    message: redact(
      `${input.instance.container} is not healthy on ${normaliseVersion(input.version)} ` +
        `after ${((Date.now() - start) / 1000).toFixed(1)} s: ${last.seen}` +
        (logs.trim() ? `; last log lines: ${logs.trim().split('\n').slice(-5).join(' | ')}` : ''),
    ),
  });
}

export interface SoakInput {
  instances: InstancePlan[];
  durationMs: number;
  /**
   * What each one's health check saw (key: container): the soak ends durationMs after the moment it was first seen
   * healthy (Nomad's min_healthy_time), and a restart since that run started fails it. Without it: from now.
   */
  healthy?: Record<string, HealthySince>;
  intervalMs?: number;
  /** Sent to each gateway again during the soak (about once a second), directly, as after its health check. */
  smoke?: SmokeRequest[];
}

const SMOKE_EVERY_MS = 1000;

/**
 * After a batch passes its health check, keep watching it before the next batch goes (Swarm's update-monitor,
 * Argo's pause): a build that dies after a few seconds is caught here, and a load balancer's own health checks
 * get time to take the batch back before another one leaves.
 */
export async function soakHealth(
  docker: Docker,
  input: SoakInput,
  redact: (s: string) => string,
  heartbeat: () => void,
  signal?: AbortSignal,
  env: NodeJS.ProcessEnv = process.env,
): Promise<{ checks: number }> {
  const begun = Date.now();
  // Healthy since its health check: the time it took to get here counts, and never more than the whole soak from now.
  const since = Math.min(...input.instances.map((i) => input.healthy?.[i.container]?.healthyAt ?? begun), begun);
  const end = since + input.durationMs;
  let smokedAt = 0;
  // A restart between two probes (or since the health check) would be invisible to /hello: compare the start time too.
  const startedAt = new Map<string, string | undefined>();
  for (const i of input.instances) {
    startedAt.set(i.container, input.healthy?.[i.container]?.startedAt ?? (await inspectContainer(docker, i.container))?.State.StartedAt);
  }
  const restarted = (o: Observation, container: string): Observation | undefined => {
    const info = o.info;
    if (!info || info.State.StartedAt === startedAt.get(container)) return undefined;
    return { healthy: false, fatal: true, seen: `container restarted (restart count ${info.RestartCount}, last exit code ${info.State.ExitCode})` };
  };
  let checks = 0;
  // At least one round of probes, however late the soak begins.
  do {
    if (signal?.aborted) throw new Error('soak cancelled');
    heartbeat();
    for (const instance of input.instances) {
      const probe = { instance, version: instance.toVersion, timeoutMs: 0 };
      // The health check read the log of the run it saw healthy: while that run goes on, its log says the same.
      const logRead = input.healthy?.[instance.container]?.startedAt;
      const seen = instance.role === 'gateway' ? await observeGateway(docker, probe, true, logRead) : await observePump(docker, probe, logRead);
      const o = restarted(seen, instance.container) ?? seen;
      if (!o.healthy) {
        throw ApplicationFailure.create({
          type: ErrorType.HealthCheckFailed,
          nonRetryable: true,
          message: redact(`${instance.container} became unhealthy during the ${input.durationMs / 1000} s soak on ${instance.toVersion}: ${o.seen}`),
        });
      }
    }
    if (input.smoke?.length && Date.now() - smokedAt >= SMOKE_EVERY_MS) {
      smokedAt = Date.now();
      await smokeDuringSoak(input, input.smoke, env, redact);
    }
    checks++;
    // The last probe lands on the end of the soak, not an interval past it.
    const left = end - Date.now();
    if (left > 0) await sleep(Math.min(input.intervalMs ?? 250, left));
    else break;
  } while (Date.now() < end);
  return { checks };
}

async function smokeDuringSoak(input: SoakInput, smoke: SmokeRequest[], env: NodeJS.ProcessEnv, redact: (s: string) => string): Promise<void> {
  for (const instance of input.instances.filter((i) => i.role === 'gateway')) {
    const s = await runSmoke(instance.apiUrl ?? instance.url, smoke, env);
    if (s.problems.length) {
      throw ApplicationFailure.create({
        type: ErrorType.SmokeRequestFailed,
        nonRetryable: true,
        message: redact(
          `${instance.container} failed a smoke request during the ${input.durationMs / 1000} s soak on ${instance.toVersion}: ${s.problems.join('; ')}`,
        ),
      });
    }
  }
}

/** Down (an observation that says why), or running: what the engine says of it. */
async function containerState(docker: Docker, name: string): Promise<{ down: Observation } | { down?: undefined; info: ContainerInspectInfo }> {
  const info = await inspectContainer(docker, name);
  if (!info) return { down: { healthy: false, fatal: true, seen: 'container is gone' } };
  if (info.State.Restarting) return { down: { healthy: false, fatal: true, seen: `container is restarting (exit code ${info.State.ExitCode})` } };
  if (!info.State.Running) return { down: { healthy: false, fatal: true, seen: `container exited with code ${info.State.ExitCode}` } };
  return { info };
}

/**
 * `askEngine`: the engine's word too, at once with the gateway's (one round trip); asked anyway once /hello passes.
 * `logRead`: the StartedAt of a run whose start-up log was already read; that run's log is not read again.
 */
async function observeGateway(docker: Docker, input: HealthInput, askEngine: boolean, logRead?: string): Promise<Observation> {
  const { instance } = input;
  const [asked, hello] = await Promise.all([
    askEngine ? containerState(docker, instance.container) : undefined,
    getHello(instance.url, instance.helloPath, 1000),
  ]);
  if (asked?.down) return asked.down;
  const seen = `/hello: ${describeHello(hello)}`;
  const body = hello.body;
  if (!body) return { healthy: false, fatal: false, seen, ...(asked ? {} : { unsure: true }) };
  if (body.version && !sameVersion(body.version, input.version)) {
    return { healthy: false, fatal: true, seen: `${seen} (expected version ${normaliseVersion(input.version)})` };
  }
  // Name the cause when the gateway says it is Redis: the person fixes Redis, not the gateway.
  if (body.details?.redis && body.details.redis.status !== 'pass') return { healthy: false, fatal: false, seen: `the gateway cannot reach Redis (${seen})` };
  if (body.status !== 'pass' || body.details?.redis?.status !== 'pass') return { healthy: false, fatal: false, seen };
  const state = asked ?? (await containerState(docker, instance.container));
  if (state.down) return state.down;
  // The log is Tyk's own word on the version; when log_level hides it, /hello is enough.
  const [ready, logVersion] = await Promise.all([
    gatewayHasReady(input.version) ? getReady(instance.url, 1000) : undefined,
    logRead && logRead === state.info.State.StartedAt ? undefined : startupVersion(docker, state.info, 'gateway'),
  ]);
  if (ready && !ready.ok) return { healthy: false, fatal: false, seen: `${seen}; /ready: ${ready.error ?? `HTTP ${ready.code}`}` };
  if (logVersion && !sameVersion(logVersion, input.version)) {
    return { healthy: false, fatal: true, seen: `${seen}; log says Tyk API Gateway ${logVersion}` };
  }
  return { healthy: true, fatal: false, seen: `${seen}${logVersion ? `; log says ${logVersion}` : ''}`, info: state.info };
}

async function observePump(docker: Docker, input: HealthInput, logRead?: string): Promise<Observation> {
  const { instance } = input;
  const [state, health] = await Promise.all([containerState(docker, instance.container), getPumpHealth(instance.url, 1000)]);
  if (state.down) return state.down;
  const seen = `/health: ${health.ok ? health.body?.status : (health.error ?? `HTTP ${health.code}`)}`;
  if (!health.ok || health.body?.status !== 'ok') return { healthy: false, fatal: false, seen };
  if (logRead && logRead === state.info.State.StartedAt) return { healthy: true, fatal: false, seen, info: state.info };
  const logVersion = await startupVersion(docker, state.info, 'pump');
  if (!logVersion) return { healthy: false, fatal: false, seen: `${seen}; no "## Tyk Pump" line in the log yet` };
  if (!sameVersion(logVersion, input.version)) return { healthy: false, fatal: true, seen: `${seen}; log says Tyk Pump ${logVersion}` };
  return { healthy: true, fatal: false, seen: `${seen}; log says ${logVersion}`, info: state.info };
}
