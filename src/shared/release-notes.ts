// Facts from Tyk's own documentation that preflight checks, each with where it is written. Add a fact only with
// its source. Pure: the preflight activity reads the live side (Redis INFO server) and asks here.
import { compareVersions, parseVersion } from './version';

export interface RedisSupportFact {
  /** The gateway versions this row covers: from (inclusive) up to before (exclusive); absent: open. */
  from?: string;
  before?: string;
  /** Redis release lines (major.minor) these gateway versions support. */
  redis: string[];
  /** Where Tyk says so, with the words it uses. */
  source: string;
}

const REDIS_PAGE = 'https://tyk.io/docs/planning-for-production/redis/ ("Supported Versions")';

export const REDIS_SUPPORT: RedisSupportFact[] = [
  {
    from: '5.3.0',
    redis: ['6.2', '7.0', '7.2'],
    // Worded "Tyk 5.3 supports …" until tyk-docs PR #877 made it "Tyk 5.3 and later supports …".
    source: `${REDIS_PAGE}: "Tyk 5.3 and later supports Redis 6.2.x, 7.0.x, and 7.2.x"`,
  },
  {
    before: '5.3.0',
    redis: ['6.0', '6.2'],
    source: `${REDIS_PAGE}: "Tyk 5.2.x and earlier supports Redis 6.0.x and Redis 6.2.x only"`,
  },
];

/** The row that covers a gateway version; undefined for a version no row covers (or that does not parse). */
export function redisSupportFor(gatewayVersion: string): RedisSupportFact | undefined {
  const v = parseVersion(gatewayVersion);
  if (!v) return undefined;
  return REDIS_SUPPORT.find((f) => {
    const from = f.from ? parseVersion(f.from) : undefined;
    const before = f.before ? parseVersion(f.before) : undefined;
    return (!from || compareVersions(v, from) >= 0) && (!before || compareVersions(v, before) < 0);
  });
}

/** "7.0" of "7.0.15". */
export function redisLine(redisVersion: string): string | undefined {
  const m = /^(\d+)\.(\d+)/.exec(redisVersion.trim());
  return m ? `${Number(m[1])}.${Number(m[2])}` : undefined;
}

/**
 * Why this Redis is outside what the target gateway supports, with the source; undefined when it is inside, or
 * when no row (or no readable version) lets us say.
 */
export function redisSupportProblem(gatewayVersion: string, redisVersion: string): string | undefined {
  const fact = redisSupportFor(gatewayVersion);
  const line = redisLine(redisVersion);
  if (!fact || !line || fact.redis.includes(line)) return undefined;
  return `Redis ${redisVersion} is not among the Redis versions Tyk Gateway ${gatewayVersion.replace(/^v/, '')} supports (${fact.redis.map((r) => `${r}.x`).join(', ')}); source: ${fact.source}`;
}
