// Scaled-out mode (REDIS_URL set): PostgreSQL is the shared truth, Redis routes (Lua) and fans out (pub/sub),
// and any number of stateless instances run behind a load balancer.
import { Cluster, Redis } from 'ioredis';
import { randomBytes, randomUUID } from 'node:crypto';
import { LISTEN_BACKLOG, type Config } from './config.ts';
import { buildApp } from './app.ts';
import { openPostgres } from './store/open.ts';
import { sharedSetting } from './store/settings.ts';
import { RedisBus } from './bus/redis-bus.ts';
import { RedisRouter } from './routing/redis/redis-router.ts';
import { RedisPresence } from './realtime/redis-presence.ts';
import { reportListening } from './report-listening.ts';
import { RedisLimits } from './limits/redis/redis-limits.ts';
import { PeerWatch } from './bus/peer-watch.ts';

export interface ScaledOutHandle {
  drain(): Promise<void>;
}

/**
 * One Redis (REDIS_URL) or a Redis Cluster (REDIS_CLUSTER_NODES, seed nodes; the client finds the rest).
 * Every key carries the hash tag {sb}, so all of them live in one slot and the multi-key scripts work.
 */
function connectRedis(config: Config): Redis | Cluster {
  if (config.redisClusterNodes) {
    return new Cluster(config.redisClusterNodes, {
      lazyConnect: true,
      enableAutoPipelining: true,
      redisOptions: { maxRetriesPerRequest: 5 },
    });
  }
  return new Redis(config.redisUrl!, { maxRetriesPerRequest: 5, enableAutoPipelining: true, lazyConnect: true });
}

export async function startScaledOut(
  config: Config,
  logger: object,
): Promise<ScaledOutHandle> {
  const redisVariable = config.redisClusterNodes ? 'REDIS_CLUSTER_NODES' : 'REDIS_URL';
  if (!config.databaseUrl || !(config.redisUrl || config.redisClusterNodes)) {
    throw new Error(`${redisVariable} needs DATABASE_URL (postgres://...) too: instances must share one store.`);
  }
  const store = await openPostgres({ url: config.databaseUrl, poolSize: config.databasePoolSize });
  const redis = connectRedis(config);
  redis.on('error', () => undefined);
  try {
    await redis.connect();
  } catch (err) {
    await store.close();
    throw new Error(`Cannot reach Redis at ${redisVariable}: ${(err as Error).message}`, { cause: err });
  }
  const bus = new RedisBus(redis, config.redisPrefix);
  await bus.start();
  const router = new RedisRouter(redis, { prefix: config.redisPrefix, hashTag: 'sb', snapshot: () => store.routingSnapshot() });
  const reconcileLock = `${config.redisPrefix}:{sb}:reconcile-lock`;
  const jwtSecret = config.jwtSecret ?? (await sharedSetting(store.db, 'jwt_secret', () => randomBytes(48).toString('base64url')));
  const { app, services, gateway, reconciler } = await buildApp({
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
  // A peer killed between a commit and its publish lost that event: every instance catches up from the store.
  const peers = new PeerWatch(redis, `${config.redisPrefix}:{sb}:instances`, randomUUID(), {
    onGone: (ids) => {
      app.log.warn({ instances: ids }, 'an instance stopped without draining: every instance catches up from the store');
      void services.ctx.publish({ kind: 'resync' });
    },
    onError: (err) => app.log.warn({ err }, 'the instance stamp failed'),
  });
  await peers.start();
  await app.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG });
  reportListening(app.server.address());
  return {
    async drain() {
      reconciler?.stop();
      await gateway.drain();
      await app.close();
      await peers.stop();
      await router.close();
      await bus.close();
      await store.close();
      await redis.quit().catch(() => redis.disconnect());
    },
  };
}
