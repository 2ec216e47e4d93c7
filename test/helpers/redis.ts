// A Redis for tests: the shared instance, with a unique key prefix per run. Under CI (true or 1) a missing server fails loudly.
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import { skipOrFail } from './env.ts';

export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function connectRedis(): Redis {
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000, retryStrategy: () => null });
  redis.on('error', () => undefined);
  return redis;
}

export async function redisAvailable(): Promise<string | undefined> {
  const redis = connectRedis();
  // connect() only says "Connection is closed."; the socket error says why.
  let cause: string | undefined;
  redis.on('error', (err: Error) => {
    cause ??= err.message;
  });
  try {
    await redis.connect();
    await redis.ping();
    return undefined;
  } catch (err) {
    return cause ?? ((err as Error).message || String(err));
  } finally {
    redis.disconnect();
  }
}

/** Returns a skip reason outside CI when Redis is down; throws under CI. */
export async function requireRedis(): Promise<string | false> {
  const problem = await redisAvailable();
  if (!problem) return false;
  const reason = `Redis at ${TEST_REDIS_URL} is not reachable (${problem})`;
  return skipOrFail(reason, 'Redis tests');
}

/** A prefix no other run shares, so that runs side by side never see each other's keys. */
export function uniquePrefix(name = 'sbtest'): string {
  return `${name}-${Date.now().toString(36)}-${randomBytes(4).toString('hex')}`;
}
