// Is a recreated Tyk container healthy on the version we expect? (What real Tyk answers: standins/README.md.)
// Gateway: running, /hello status "pass" with details.redis present and "pass" (past the warm-up window, when
// details is empty), /hello version = target, the start-up log line shows the target, /ready on versions with it.
// Pump: running and not restarting, /health ok, its log shows the target version.
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
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

export interface HealthResult {
  /** ms from the start of the check until the container was seen healthy. */
  healthyAfterMs: number;
  seen: string;
}

interface Observation {
  healthy: boolean;
  /** Definitely wrong, waiting will not help (exited, wrong version). */
  fatal: boolean;
  seen: string;
}

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
  while (Date.now() - start < input.timeoutMs) {
    if (signal?.aborted) throw new Error('health check cancelled');
    heartbeat();
    last = input.instance.role === 'gateway' ? await observeGateway(docker, input) : await observePump(docker, input);
    if (last.healthy) return { healthyAfterMs: Date.now() - start, seen: last.seen };
    // A wrong version is only believed when seen twice, so a half-started process cannot fail the check.
    wrongTwice = last.fatal ? wrongTwice + 1 : 0;
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
  const end = Date.now() + input.durationMs;
  let smokedAt = 0;
  // A restart between two probes would be invisible to /hello: compare the start time too.
  const startedAt = new Map<string, string | undefined>();
  for (const i of input.instances) startedAt.set(i.container, (await inspectContainer(docker, i.container))?.State.StartedAt);
  let checks = 0;
  while (Date.now() < end) {
    if (signal?.aborted) throw new Error('soak cancelled');
    heartbeat();
    for (const instance of input.instances) {
      const probe = { instance, version: instance.toVersion, timeoutMs: 0 };
      let o = instance.role === 'gateway' ? await observeGateway(docker, probe) : await observePump(docker, probe);
      const info = await inspectContainer(docker, instance.container);
      if (info && info.State.StartedAt !== startedAt.get(instance.container)) {
        o = { healthy: false, fatal: true, seen: `container restarted (restart count ${info.RestartCount}, last exit code ${info.State.ExitCode})` };
      }
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
  }
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

async function containerState(docker: Docker, name: string): Promise<Observation | undefined> {
  const info = await inspectContainer(docker, name);
  if (!info) return { healthy: false, fatal: true, seen: 'container is gone' };
  if (info.State.Restarting) return { healthy: false, fatal: true, seen: `container is restarting (exit code ${info.State.ExitCode})` };
  if (!info.State.Running) return { healthy: false, fatal: true, seen: `container exited with code ${info.State.ExitCode}` };
  return undefined;
}

async function observeGateway(docker: Docker, input: HealthInput): Promise<Observation> {
  const { instance } = input;
  // The engine's word and the gateway's at once: one round trip per probe, not two.
  const [down, hello] = await Promise.all([containerState(docker, instance.container), getHello(instance.url, instance.helloPath, 1000)]);
  if (down) return down;
  const seen = `/hello: ${describeHello(hello)}`;
  const body = hello.body;
  if (!body) return { healthy: false, fatal: false, seen };
  if (body.version && !sameVersion(body.version, input.version)) {
    return { healthy: false, fatal: true, seen: `${seen} (expected version ${normaliseVersion(input.version)})` };
  }
  // Name the cause when the gateway says it is Redis: the person fixes Redis, not the gateway.
  if (body.details?.redis && body.details.redis.status !== 'pass') return { healthy: false, fatal: false, seen: `the gateway cannot reach Redis (${seen})` };
  if (body.status !== 'pass' || body.details?.redis?.status !== 'pass') return { healthy: false, fatal: false, seen };
  // The log is Tyk's own word on the version; when log_level hides it, /hello is enough.
  const [ready, logVersion] = await Promise.all([
    gatewayHasReady(input.version) ? getReady(instance.url, 1000) : undefined,
    startupVersion(docker, instance.container, 'gateway'),
  ]);
  if (ready && !ready.ok) return { healthy: false, fatal: false, seen: `${seen}; /ready: ${ready.error ?? `HTTP ${ready.code}`}` };
  if (logVersion && !sameVersion(logVersion, input.version)) {
    return { healthy: false, fatal: true, seen: `${seen}; log says Tyk API Gateway ${logVersion}` };
  }
  return { healthy: true, fatal: false, seen: `${seen}${logVersion ? `; log says ${logVersion}` : ''}` };
}

async function observePump(docker: Docker, input: HealthInput): Promise<Observation> {
  const { instance } = input;
  const [down, health] = await Promise.all([containerState(docker, instance.container), getPumpHealth(instance.url, 1000)]);
  if (down) return down;
  const seen = `/health: ${health.ok ? health.body?.status : (health.error ?? `HTTP ${health.code}`)}`;
  if (!health.ok || health.body?.status !== 'ok') return { healthy: false, fatal: false, seen };
  const logVersion = await startupVersion(docker, instance.container, 'pump');
  if (!logVersion) return { healthy: false, fatal: false, seen: `${seen}; no "## Tyk Pump" line in the log yet` };
  if (!sameVersion(logVersion, input.version)) return { healthy: false, fatal: true, seen: `${seen}; log says Tyk Pump ${logVersion}` };
  return { healthy: true, fatal: false, seen: `${seen}; log says ${logVersion}` };
}
