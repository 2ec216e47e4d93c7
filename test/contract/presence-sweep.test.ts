// Presence sweeps read only what has expired, on both modes (SQLite + memory router + an in-memory ordered
// set; PostgreSQL + Redis router + a Redis sorted set): a sweep with nothing expired asks the store nothing
// and never reads the whole queue, and a sweep with k expired handles those k.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import type { FastifyBaseLogger } from 'fastify';
import { openPostgres, openSqlite } from '../../src/store/open.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';
import type { Store } from '../../src/store/port.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { RedisRouter } from '../../src/routing/redis/redis-router.ts';
import type { Router } from '../../src/routing/port.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { ServiceContext } from '../../src/services/context.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';
import { MemoryLastSeen, RedisLastSeen, type LastSeenSet } from '../../src/realtime/last-seen.ts';
import { PresenceSweeper } from '../../src/realtime/presence-sweep.ts';
import { createTempDatabase, requirePostgres } from '../helpers/pg.ts';
import { connectRedis, requireRedis, uniquePrefix } from '../helpers/redis.ts';
import { faulty } from '../helpers/faults.ts';

const pgSkip = await requirePostgres();
const redisSkip = await requireRedis();
const redis = redisSkip ? undefined : connectRedis();
if (redis) await redis.connect();
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  redis?.disconnect();
});

interface Mode {
  name: string;
  skip: string | false;
  shared: boolean;
  store(): Promise<SqlStore>;
  router(store: Store): Router;
  set(name: string): LastSeenSet;
}

const modes: Mode[] = [
  {
    name: 'SQLite + memory router',
    skip: false,
    shared: false,
    async store() {
      const dir = mkdtempSync(join(tmpdir(), 'sb-sweep-'));
      const store = await openSqlite({ file: join(dir, 'db.sqlite3') });
      cleanups.push(async () => {
        await store.close();
        rmSync(dir, { recursive: true, force: true });
      });
      return store;
    },
    router: () => new MemoryRouter(),
    set: () => new MemoryLastSeen(),
  },
  {
    name: 'PostgreSQL + Redis router',
    skip: pgSkip || redisSkip,
    shared: true,
    async store() {
      const db = await createTempDatabase('sbsweep');
      const store = await openPostgres({ url: db.url, poolSize: 4 });
      cleanups.push(async () => {
        await store.close();
        await db.drop();
      });
      return store;
    },
    router(store) {
      const router = new RedisRouter(redis!, { prefix: uniquePrefix('sbtest-sweep'), hashTag: 'sb', snapshot: () => store.routingSnapshot(), rebuildPollMs: 5 });
      cleanups.push(() => router.destroy());
      return router;
    },
    set(name) {
      const key = `${uniquePrefix('sbtest-presence')}:{sb}:${name}`;
      cleanups.push(async () => void (await redis!.del(key)));
      return new RedisLastSeen(redis!, key);
    },
  },
];

const PW = 'scrypt$16384$8$1$x$y';
let n = 0;
const user = (p: string) => ({ username: `${p}${n++}`, email: '', firstName: '', lastName: '', passwordHash: PW });
const HOUR = 3_600_000;

for (const mode of modes) {
  describe(`presence sweep: ${mode.name}`, { skip: mode.skip || undefined }, () => {
    it('reads only what has expired: nothing expired costs no store call and no queue read', async () => {
      const real = await mode.store();
      const store = faulty<Store>(real);
      const router = faulty<Router>(mode.router(real));
      const ctx = new ServiceContext(store.proxy, router.proxy, new MemoryBus());
      await router.proxy.rebuild(await real.routingSnapshot());
      const customer = (await real.createCustomer(user('c'), 1)).profile;
      const ids: string[] = [];
      for (let i = 0; i < 300; i++) {
        const c = await real.createConversation(customer.id, Date.now());
        await enqueueConversation(ctx, c.id);
        ids.push(c.id);
      }
      const calls: string[] = [];
      for (const name of ['getConversation', 'abandon', 'listReps', 'getRep'] as const) {
        store.on(name, ((realFn: (...a: unknown[]) => unknown, ...args: unknown[]) => {
          calls.push(name);
          return realFn(...args);
        }) as never);
      }
      router.on('queue', () => Promise.reject(new Error('the sweep read the whole queue')));
      const convs = mode.set('conv');
      const sweeper = new PresenceSweeper(
        ctx,
        mode.set('rep'),
        convs,
        {
          repGraceMs: HOUR,
          customerGraceMs: HOUR,
          repHasSocket: () => false,
          customerHasSocket: () => false,
          localReps: () => [],
          localCustomerConversations: () => [],
          localSeen: mode.shared ? 'refresh' : 'forget',
          restartCursorWhenEmpty: mode.shared,
          reseedRepsMs: mode.shared ? 30_000 : Infinity,
        },
        pino({ level: 'silent' }) as unknown as FastifyBaseLogger,
      );
      // The first sweep follows the queue from its start (every entry's grace starts now) and seeds the reps.
      await sweeper.sweep();
      assert.equal(await convs.size(), 300);
      calls.length = 0;
      await sweeper.sweep();
      assert.deepEqual(calls, [], 'a sweep with nothing expired asked the store');

      // Three customers left long ago: exactly those three are read and abandoned.
      const gone = [ids[7], ids[150], ids[299]];
      for (const id of gone) {
        await convs.remove(id);
        await convs.seed([id], Date.now() - 2 * HOUR);
      }
      await sweeper.sweep();
      assert.equal(calls.filter((c) => c === 'getConversation').length, 3, calls.join(','));
      for (const id of ids) assert.equal((await real.getConversation(id))?.status, gone.includes(id) ? 'abandoned' : 'queued', id);
      assert.equal(await convs.size(), 297);
      assert.equal((await router.proxy.stats()).length, 297);
    });
  });
}
