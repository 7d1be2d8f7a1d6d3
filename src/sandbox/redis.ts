// The sandbox's Redis: a container like the official `redis` image (here the stand-in built from Debian's
// redis-server), host networking on 127.0.0.1, a password from a config file rather than the command line, so
// it shows neither in `docker inspect` nor in `ps`.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { Redis } from 'ioredis';
import { ROLE_LABEL, SANDBOX_LABEL } from '../shared/names';

/** Where `sandbox down` finds the folder to delete; recreated containers keep their labels. */
export const SANDBOX_DIR_LABEL = 'io.tyk-upgrade.sandbox-dir';
const CONF_IN_CONTAINER = '/usr/local/etc/redis/redis.conf';

export interface SandboxRedis {
  name: string;
  dir: string;
  image: string;
  port: number;
  password: string;
}

export async function startSandboxRedis(docker: Docker, r: SandboxRedis): Promise<string> {
  const confDir = join(r.dir, 'redis');
  await mkdir(confDir, { recursive: true, mode: 0o700 });
  const confPath = join(confDir, 'redis.conf');
  // 0644: the official image runs redis as its own user; the 0700 sandbox folder keeps the file private on the host.
  await writeFile(confPath, `bind 127.0.0.1\nport ${r.port}\nrequirepass ${r.password}\nprotected-mode yes\nappendonly no\nsave ""\n`, { mode: 0o644 });
  await chmod(confPath, 0o644);
  const container = `${r.name}-redis`;
  const c = await docker.createContainer({
    name: container,
    Image: r.image,
    Cmd: ['redis-server', CONF_IN_CONTAINER],
    Labels: { [SANDBOX_LABEL]: r.name, [ROLE_LABEL]: 'redis', [SANDBOX_DIR_LABEL]: r.dir },
    HostConfig: {
      NetworkMode: 'host',
      RestartPolicy: { Name: 'unless-stopped' },
      Binds: [`${confPath}:${CONF_IN_CONTAINER}:ro`],
    },
  });
  await c.start();
  await waitForPing(r.port, r.password, 20_000);
  return container;
}

async function waitForPing(port: number, password: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      password,
      lazyConnect: true,
      connectTimeout: 1000,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
    });
    client.on('error', () => undefined); // seen through the awaited calls
    try {
      await client.connect();
      if ((await client.ping()) === 'PONG') return;
    } catch (err) {
      last = (err as Error).message;
    } finally {
      client.disconnect();
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`the sandbox Redis did not answer on 127.0.0.1:${port} within ${timeoutMs / 1000} s (${last})`);
}
