// Two real instances scaled out on a fresh PostgreSQL database and a throwaway redis-server (which fault
// tests may kill, restart or flush): the setup the scaled e2e suites share.
import { createTempDatabase, requirePostgres, type TempDatabase } from './pg.ts';
import { requireRedisServer, startInstance, startRedis, type Instance, type ThrowawayRedis } from './processes.ts';

export interface ScaledPair {
  redis: ThrowawayRedis;
  db: TempDatabase;
  a: Instance;
  b: Instance;
  /** The environment both instances run with: a case starts more instances of the same service with it. */
  env: Record<string, string>;
  /** SIGKILLs both instances (a case may have stopped one already), stops Redis, drops the database. */
  stop(): Promise<void>;
}

/** Why the scaled suites cannot run here (skipped, or failed under CI), or false. */
export async function scaledSkip(): Promise<string | false> {
  return (await requirePostgres()) || (await requireRedisServer());
}

/** `env` adds to (or overrides) what every scaled suite sets: the services, a JWT secret, and no login budget. */
export async function startScaledPair(tag: string, env: Record<string, string> = {}): Promise<ScaledPair> {
  const redis = await startRedis();
  const db = await createTempDatabase(`sb${tag}`);
  const full = {
    DATABASE_URL: db.url,
    REDIS_URL: redis.url,
    JWT_SECRET: `scaled-${tag}-secret-long-enough-for-hs256-xxxxxxxx`,
    RATE_REGISTER_PER_MIN: '100000',
    RATE_TOKEN_PER_MIN: '100000',
    ...env,
  };
  const [a, b] = await Promise.all([startInstance(full), startInstance(full)]);
  return {
    redis,
    db,
    a,
    b,
    env: full,
    async stop() {
      for (const i of [a, b]) i.kill('SIGKILL');
      await Promise.all([a.exited, b.exited]);
      await redis.stop();
      await db.drop();
    },
  };
}
