// One short-lived connection to the gateway's Redis, as the worker reaches it: no retries of its own (the callers
// report what happened), the password only ever handed to the client.
import { Redis } from 'ioredis';
import type { RedisTarget } from './tyk-config';

export async function withRedis<T>(target: RedisTarget, fn: (client: Redis) => Promise<T>, connectTimeoutMs = 2000): Promise<T> {
  const client = new Redis({
    host: target.host,
    port: target.port,
    password: target.password,
    db: target.db,
    lazyConnect: true,
    connectTimeout: connectTimeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  client.on('error', () => undefined); // reported through the awaited calls
  try {
    await client.connect();
    return await fn(client);
  } finally {
    client.disconnect();
  }
}

/** `redis_version` from INFO server, e.g. "7.0.15". */
export async function redisVersion(target: RedisTarget): Promise<string | undefined> {
  const info = await withRedis(target, (c) => c.info('server'));
  return /^redis_version:(\S+)/m.exec(info)?.[1];
}
