// Runs the Limits contract against the Redis adapter on the shared Redis, each case under its own prefix.
import { after } from 'node:test';
import type { Redis } from 'ioredis';
import { RedisLimits } from '../../src/limits/redis/redis-limits.ts';
import { connectRedis, requireRedis, uniquePrefix } from '../helpers/redis.ts';
import { limitsContract } from './limits.contract.ts';

const skip = await requireRedis();
const runPrefix = uniquePrefix('sbtest-limits');
let redis: Redis | undefined;
let serial = 0;

limitsContract(
  'redis',
  async () => {
    if (!redis) {
      redis = connectRedis();
      await redis.connect();
    }
    const prefix = `${runPrefix}-${++serial}`;
    const limits = new RedisLimits(redis, prefix);
    return {
      limits,
      async cleanup() {
        const keys = await redis!.keys(`${prefix}:*`);
        if (keys.length > 0) await redis!.del(...keys);
      },
    };
  },
  skip,
);

after(() => redis?.disconnect());
