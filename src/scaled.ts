// Scaled-out mode (REDIS_URL set): PostgreSQL is the shared truth, Redis routes (Lua) and fans out (pub/sub),
// and any number of stateless instances run behind a load balancer.
import { Redis } from 'ioredis';
import { randomBytes } from 'node:crypto';
import type { Config } from './config.ts';
import { buildApp } from './app.ts';
import { openPostgres } from './store/open.ts';
import { sharedSetting } from './store/settings.ts';
import { RedisBus } from './bus/redis-bus.ts';
import { RedisRouter } from './routing/redis/redis-router.ts';
import { RedisPresence } from './realtime/redis-presence.ts';
import { reportListening } from './report-listening.ts';
import { RedisLimits } from './limits/redis/redis-limits.ts';

export interface ScaledOutHandle {
  drain(): Promise<void>;
}

export async function startScaledOut(
  config: Config,
  logger: object,
): Promise<ScaledOutHandle> {
  if (!config.databaseUrl || !config.redisUrl) {
    throw new Error('REDIS_URL needs DATABASE_URL (postgres://...) too: instances must share one store.');
  }
  const store = await openPostgres({ url: config.databaseUrl, poolSize: config.databasePoolSize });
  const redis = new Redis(config.redisUrl, { maxRetriesPerRequest: 5, enableAutoPipelining: true, lazyConnect: true });
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (err) {
    await store.close();
    throw new Error(`Cannot reach Redis at REDIS_URL: ${(err as Error).message}`, { cause: err });
  }
  const bus = new RedisBus(redis, config.redisPrefix);
  await bus.start();
  const router = new RedisRouter(redis, { prefix: config.redisPrefix, hashTag: 'sb', snapshot: () => store.routingSnapshot() });
  const reconcileLock = `${config.redisPrefix}:{sb}:reconcile-lock`;
  const jwtSecret = config.jwtSecret ?? (await sharedSetting(store.db, 'jwt_secret', () => randomBytes(48).toString('base64url')));
  const { app, gateway, reconciler } = await buildApp({
    config,
    store,
    router,
    bus,
    jwtSecret,
    logger,
    rebuildRouter: false,
    rateLimitRedis: redis,
    limits: new RedisLimits(redis, config.redisPrefix),
    presence: (ctx, opts, log) => new RedisPresence(ctx, redis, config.redisPrefix, opts, log),
    // Finds reservations orphaned by a killed instance (see services/reconcile.ts); one instance at a time.
    reconcile: { tryLock: async () => (await redis.set(reconcileLock, String(process.pid), 'PX', 1500, 'NX')) === 'OK' },
    readiness: {
      redis: async () => {
        await redis.ping();
      },
    },
  });
  await app.listen({ port: config.port, host: config.host });
  reportListening(app.server.address());
  return {
    async drain() {
      reconciler?.stop();
      await gateway.drain();
      await app.close();
      await router.close();
      await bus.close();
      await store.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
