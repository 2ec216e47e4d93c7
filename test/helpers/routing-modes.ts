// The two ways a store and a router are paired (SQLite + memory router in one process; PostgreSQL + a Redis
// router shared by instances), for suites that run the same service-level cases on both. Each mode's store
// and router are fresh and are cleaned up after the file.
import { after } from 'node:test';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { openPostgres, openSqlite } from '../../src/store/open.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';
import type { Store } from '../../src/store/port.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { RedisRouter } from '../../src/routing/redis/redis-router.ts';
import type { Router } from '../../src/routing/port.ts';
import { createTempDatabase, requirePostgres } from './pg.ts';
import { connectRedis, requireRedis, uniquePrefix } from './redis.ts';

export interface RoutingMode {
  name: string;
  skip: string | false;
  /** Scaled out: the router (and any set made with `cleanup`) lives in Redis. */
  shared: boolean;
  store(): Promise<SqlStore>;
  router(store: Store): Router;
}

export interface RoutingModes {
  modes: RoutingMode[];
  /** The shared Redis connection (undefined when Redis is missing). */
  redis: Redis | undefined;
  /** Runs after the file, before the Redis connection closes (last registered, first run). */
  cleanup(fn: () => Promise<void>): void;
}

/** `tag` names the temp folder, database and Redis prefix; call once, at the top level of a test file. */
export async function routingModes(tag: string, opts: { poolSize?: number } = {}): Promise<RoutingModes> {
  const pgSkip = await requirePostgres();
  const redisSkip = await requireRedis();
  const redis = redisSkip ? undefined : connectRedis();
  if (redis) await redis.connect();
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    redis?.disconnect();
  });
  const cleanup = (fn: () => Promise<void>) => void cleanups.push(fn);
  const modes: RoutingMode[] = [
    {
      name: 'SQLite + memory router',
      skip: false,
      shared: false,
      async store() {
        const dir = mkdtempSync(join(tmpdir(), `sb-${tag}-`));
        const store = await openSqlite({ file: join(dir, 'db.sqlite3') });
        cleanup(async () => {
          await store.close();
          rmSync(dir, { recursive: true, force: true });
        });
        return store;
      },
      router: () => new MemoryRouter(),
    },
    {
      name: 'PostgreSQL + Redis router',
      skip: pgSkip || redisSkip,
      shared: true,
      async store() {
        const db = await createTempDatabase(`sb${tag}`);
        const store = await openPostgres({ url: db.url, poolSize: opts.poolSize ?? 4 });
        cleanup(async () => {
          await store.close();
          await db.drop();
        });
        return store;
      },
      router(store) {
        const router = new RedisRouter(redis!, { prefix: uniquePrefix(`sbtest-${tag}`), hashTag: 'sb', snapshot: () => store.routingSnapshot(), rebuildPollMs: 5 });
        cleanup(() => router.destroy());
        return router;
      },
    },
  ];
  return { modes, redis, cleanup };
}

const PW = 'scrypt$16384$8$1$x$y';
let n = 0;
/** A user row with a placeholder hash (these suites never log in), unique within the process. */
export const fakeUser = (p: string) => ({ username: `${p}${n++}`, email: '', firstName: '', lastName: '', passwordHash: PW });
