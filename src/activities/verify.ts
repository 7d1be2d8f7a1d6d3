// The last word: every container runs its target image and answers healthy on the target version.
import { ApplicationFailure } from '@temporalio/common';
import type Docker from 'dockerode';
import { ErrorType } from '../shared/errors';
import type { InstancePlan } from '../shared/types';
import { sameVersion } from '../shared/version';
import { inspectContainer } from './docker-util';
import { describeHello, getHello, getPumpHealth } from './tyk-http';

export async function verifyStack(docker: Docker, input: { instances: InstancePlan[] }): Promise<string[]> {
  const problems: string[] = [];
  const report: string[] = [];
  for (const p of input.instances) {
    const info = await inspectContainer(docker, p.container);
    if (!info?.State.Running || info.Config.Image !== p.toImage) {
      problems.push(`${p.container} is ${info ? `${info.State.Status} on ${info.Config.Image}` : 'missing'}, expected running ${p.toImage}`);
      continue;
    }
    if (p.role === 'gateway') {
      const hello = await getHello(p.url, p.helloPath);
      const b = hello.body;
      if (b?.status !== 'pass' || !b.version || !sameVersion(b.version, p.toVersion) || b.details?.redis?.status !== 'pass') {
        problems.push(`${p.container} /hello: ${describeHello(hello)}, expected pass on ${p.toVersion}`);
        continue;
      }
      report.push(`${p.container}: ${p.toImage}, /hello ${describeHello(hello)}`);
    } else {
      const health = await getPumpHealth(p.url);
      if (!health.ok) {
        problems.push(`${p.container} ${p.url}: ${health.error ?? `HTTP ${health.code}`}`);
        continue;
      }
      report.push(`${p.container}: ${p.toImage}, /health ok`);
    }
  }
  if (problems.length) {
    throw ApplicationFailure.create({ type: ErrorType.HealthCheckFailed, nonRetryable: true, message: `verification failed: ${problems.join('; ')}` });
  }
  return report;
}
