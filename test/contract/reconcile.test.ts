// The reconciler against a real store and both routers: a reservation orphaned by a killed instance
// (proposed by the router, never committed nor refused) is found and cleared, and nothing else is touched.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/open.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { RedisRouter } from '../../src/routing/redis/redis-router.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { ServiceContext, entryOf, slotOf } from '../../src/services/context.ts';
import { RoutingReconciler, routingDrift } from '../../src/services/reconcile.ts';
import type { Router } from '../../src/routing/port.ts';
import { connectRedis, requireRedis, uniquePrefix } from '../helpers/redis.ts';

const redisSkip = await requireRedis();
const redis = redisSkip ? undefined : connectRedis();
if (redis) await redis.connect();
const routers: Array<[string, () => Router, string | false]> = [
  ['memory', () => new MemoryRouter(), false],
  ['redis', () => new RedisRouter(redis!, { prefix: uniquePrefix('sbtest-reconcile'), hashTag: 'sb' }), redisSkip],
];
const cleanups: Array<() => Promise<void>> = [];

/** A fresh SQLite store and router, removed after the run. */
async function fresh(make: () => Router): Promise<{ store: SqlStore; router: Router }> {
  const dir = mkdtempSync(join(tmpdir(), 'sb-reconcile-'));
  const store = await openSqlite({ file: join(dir, 'db.sqlite3') });
  const router = make();
  cleanups.push(async () => {
    if (router instanceof RedisRouter) await router.destroy();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  return { store, router };
}

async function repAndCustomer(store: SqlStore) {
  const pw = 'scrypt$16384$8$1$x$y';
  const rep = (await store.createRep({ username: 'r', email: '', firstName: '', lastName: '', passwordHash: pw }, 1)).profile;
  const cust = (await store.createCustomer({ username: 'c', email: '', firstName: '', lastName: '', passwordHash: pw }, 1)).profile;
  return { rep, cust };
}
after(async () => {
  for (const c of cleanups) await c();
  redis?.disconnect();
});

for (const [name, make, skip] of routers) {
  describe(`reconciler on the ${name} router`, { skip: skip || false }, () => {
    it('rebuilds only a lasting difference, which clears an orphaned reservation', async () => {
      const { store, router } = await fresh(make);
      const ctx = new ServiceContext(store, router, new MemoryBus());
      await router.rebuild(await store.routingSnapshot());
      const { rep, cust } = await repAndCustomer(store);
      await router.setRep(slotOf(rep));
      const conv = await store.createConversation(cust.id, Date.now());
      const queued = (await store.enqueue(conv.id, Date.now()))!;

      // The router proposes; the instance "dies" before the store commit.
      const proposals = await router.enqueueAndDispatch(entryOf(queued));
      assert.equal(proposals.length, 1);
      assert.ok(routingDrift(await store.routingSnapshot(), await router.inspect()).size > 0);

      const reconciler = new RoutingReconciler(ctx, async () => true);
      assert.equal(await reconciler.pass(), false, 'a first sighting may be an operation in flight');
      assert.equal(await reconciler.pass(), true, 'a lasting difference is rebuilt');
      // The rebuild frees the leaked slot and dispatches: the conversation is served for real now.
      const after = await store.getConversation(conv.id);
      assert.equal(after?.status, 'assigned');
      assert.equal(after?.repId, rep.id);
      const view = await router.inspect();
      assert.deepEqual(view.queued, []);
      assert.equal(view.reps.get(rep.id)?.load, 1, 'one slot, held by the committed assignment');
      assert.equal(routingDrift(await store.routingSnapshot(), view).size, 0);
      assert.equal(await reconciler.pass(), false, 'nothing left to do');
    });

    it('dispatches a queue left beside a free slot (a rebuild that nothing followed)', async () => {
      const { store, router } = await fresh(make);
      const { rep, cust } = await repAndCustomer(store);
      const conv = await store.createConversation(cust.id, Date.now());
      await store.enqueue(conv.id, Date.now());
      // A bare rebuild loads the queue and the free rep, and proposes nothing.
      await router.rebuild(await store.routingSnapshot());
      assert.deepEqual((await router.inspect()).queued, [conv.id]);
      const reconciler = new RoutingReconciler(new ServiceContext(store, router, new MemoryBus()), async () => true);
      assert.equal(await reconciler.pass(), false);
      assert.equal(await reconciler.pass(), true);
      const after = await store.getConversation(conv.id);
      assert.equal(after?.status, 'assigned');
      assert.equal(after?.repId, rep.id);
      assert.equal(routingDrift(await store.routingSnapshot(), await router.inspect()).size, 0);
    });

    it('leaves a router that agrees with the store alone, and skips a pass without the lock', async () => {
      const { store, router } = await fresh(make);
      await router.rebuild(await store.routingSnapshot());
      const ctx = new ServiceContext(store, router, new MemoryBus());
      let rebuilt = 0;
      const reconciler = new RoutingReconciler(ctx, async () => true, () => rebuilt++);
      for (let i = 0; i < 3; i++) assert.equal(await reconciler.pass(), false);
      assert.equal(rebuilt, 0);
      const locked = new RoutingReconciler(ctx, async () => false);
      assert.equal(await locked.pass(), false);
    });
  });
}
