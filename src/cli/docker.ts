// The Docker engine the CLI inspects: the same one dockerode finds from DOCKER_HOST (default: the local socket).
import Docker from 'dockerode';
import { CliError, Exit } from './exit-codes';

const PING_TIMEOUT_MS = 5000;

export function dockerAddress(): string {
  return process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock';
}

/** A Docker client that has answered a ping; fails fast with where it looked when the engine is not there. */
export async function connectDocker(): Promise<Docker> {
  const docker = new Docker();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      docker.ping(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error(`no answer within ${PING_TIMEOUT_MS / 1000} s`)), PING_TIMEOUT_MS))),
    ]);
  } catch (err) {
    throw new CliError(
      `cannot reach the Docker engine at ${dockerAddress()}: ${(err as Error).message}; start dockerd, or set DOCKER_HOST to the engine that runs Tyk`,
      Exit.DockerUnreachable,
    );
  } finally {
    clearTimeout(timer);
  }
  return docker;
}
