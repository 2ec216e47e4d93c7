// Runs the Router contract against the Redis adapter on the shared Redis, each case under its own key
// prefix; then the Redis-only cases: lost state (flush, restart) is rebuilt from the store snapshot.
// Skipped with a reason when Redis is unreachable; under CI=true that is a failure instead.
import { after, afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { RedisRouter, type RedisRouterOptions } from '../../src/routing/redis/redis-router.ts';
import type { Proposal, QueueEntry } from '../../src/routing/port.ts';
import type { RepSlot } from '../../src/domain/policy.ts';
import type { RoutingSnapshot } from '../../src/store/port.ts';
import { connectRedis, requireRedis, uniquePrefix } from '../helpers/redis.ts';
import { entry, pairs, routerContract, slot, snapshotOf } from './router.contract.ts';
import { routerAdmitContract } from './router-admit.contract.ts';
import { routerPagesContract } from './router-pages.contract.ts';

const skip = await requireRedis();
const runPrefix = uniquePrefix('sbtest-router');
let redis: Redis | undefined;
let serial = 0;
const made: RedisRouter[] = [];

async function client(): Promise<Redis> {
  if (!redis) {
    redis = connectRedis();
    await redis.connect();
  }
  return redis;
}

async function newRouter(options: RedisRouterOptions = {}): Promise<RedisRouter> {
  const router = new RedisRouter(await client(), { prefix: `${runPrefix}-${++serial}`, ...options });
  made.push(router);
  return router;
}

/** Deletes every key the router may have written, then checks that none is left. */
async function dropAndCheck(router: RedisRouter): Promise<void> {
  await router.destroy();
  const names = (['epoch', 'queue', 'queuedAt', 'entries', 'held', 'versions', 'reps', 'eligible', 'clock', 'repHeld', 'rebuildLock'] as const).map((k) => router.key(k));
  // The keys of the old per-rep layout must not come back.
  for (let rep = 1; rep <= 9; rep++) names.push(`${router.key('repHeld')}:${rep}`);
  assert.equal(await (await client()).exists(...names), 0, 'no key of this router is left');
}

after(async () => {
  for (const router of made.splice(0)) await router.destroy().catch(() => undefined);
  await redis?.quit().catch(() => redis?.disconnect());
});

routerContract(
  'redis',
  async () => {
    const router = await newRouter();
    await router.rebuild({ reps: [], queue: [], assigned: [], queueSeqFloor: 0 });
    return { router, cleanup: () => dropAndCheck(router) };
  },
  { skip },
);

routerPagesContract(
  'redis',
  async () => {
    const router = await newRouter();
    await router.rebuild({ reps: [], queue: [], assigned: [], queueSeqFloor: 0 });
    return { router, cleanup: () => dropAndCheck(router) };
  },
  { skip },
);

routerAdmitContract(
  'redis',
  async () => {
    const router = await newRouter();
    await router.rebuild({ reps: [], queue: [], assigned: [], queueSeqFloor: 0 });
    return { router, cleanup: () => dropAndCheck(router) };
  },
  { skip },
);

describe('RedisRouter: lost state', { skip: skip || undefined }, () => {
  const routers: RedisRouter[] = [];
  afterEach(async () => {
    for (const router of routers.splice(0)) await dropAndCheck(router);
  });

  /** A tiny model of the store: what it would hold after committing every proposal. */
  class StoreModel {
    readonly reps = new Map<number, RepSlot>();
    readonly queued = new Map<string, QueueEntry>();
    readonly assigned = new Map<string, [QueueEntry, number]>();
    snapshots = 0;

    rep(r: RepSlot): RepSlot {
      this.reps.set(r.repId, r);
      return r;
    }
    enqueue(e: QueueEntry): QueueEntry {
      this.queued.set(e.conversationId, e);
      return e;
    }
    commit(ps: Proposal[]): Proposal[] {
      for (const p of ps) {
        const e = this.queued.get(p.conversationId);
        assert.ok(e, `${p.conversationId} is proposed while the store has it queued`);
        assert.ok(!this.assigned.has(p.conversationId), `${p.conversationId} is not proposed twice`);
        this.queued.delete(p.conversationId);
        this.assigned.set(p.conversationId, [{ ...e, version: e.version + 1 }, p.repId]);
      }
      return ps;
    }
    close(conversationId: string): number {
      const [, repId] = this.assigned.get(conversationId)!;
      this.assigned.delete(conversationId);
      return repId;
    }
    snapshot = async (): Promise<RoutingSnapshot> => {
      this.snapshots++;
      const queue = [...this.queued.values()].sort((a, b) => a.queueSeq - b.queueSeq);
      return snapshotOf([...this.reps.values()], queue, [...this.assigned.values()]);
    };
  }

  async function withState(): Promise<{ router: RedisRouter; store: StoreModel }> {
    const store = new StoreModel();
    const router = await newRouter({ snapshot: store.snapshot });
    routers.push(router);
    await router.setRep(store.rep(slot(1, 2)));
    await router.setRep(store.rep(slot(2, 1)));
    for (let n = 1; n <= 6; n++) store.commit(await router.enqueueAndDispatch(store.enqueue(entry(n))));
    assert.equal(store.snapshots, 1, 'a fresh prefix has no state: the first operation loaded the (empty) snapshot');
    assert.equal(store.assigned.size, 3);
    assert.deepEqual((await router.queue()).map((e) => e.conversationId), ['c4', 'c5', 'c6']);
    return { router, store };
  }

  it('rebuilds from the snapshot when the epoch key disappears, and answers as if nothing happened', async () => {
    const { router, store } = await withState();
    await (await client()).del(router.key('epoch'));

    // The store has c7 queued before the router hears of it, so the snapshot already holds it.
    assert.deepEqual(store.commit(await router.enqueueAndDispatch(store.enqueue(entry(7)))), []);
    assert.equal(store.snapshots, 2, 'the snapshot was loaded once more');
    assert.deepEqual(await router.queue(), [entry(4), entry(5), entry(6), entry(7)], 'no queued entry lost or duplicated');
    assert.deepEqual(await router.stats(), { length: 4, oldestQueuedAt: entry(4).queuedAt });

    // The held assignments came back: closing c1 frees exactly one slot of its rep.
    const repId = store.close('c1');
    assert.deepEqual(pairs(store.commit(await router.releaseAndDispatch('c1', repId))), [['c4', repId]]);
    assert.deepEqual(await router.setRep(slot(1, 2)), [], 'every rep is full again');
    assert.deepEqual(await router.setRep(slot(2, 1)), []);
    assert.equal(store.snapshots, 2);
  });

  it('rebuilds after every key is gone (a flush or a restart without persistence)', async () => {
    const { router, store } = await withState();
    await router.destroy();
    assert.deepEqual(await router.queue(), [entry(4), entry(5), entry(6)]);
    assert.equal(store.snapshots, 2);
    const repId = store.close('c2');
    assert.deepEqual(pairs(store.commit(await router.releaseAndDispatch('c2', repId))), [['c4', repId]]);
    assert.deepEqual(await router.enqueueAndDispatch(store.enqueue(entry(8))), []);
    assert.deepEqual((await router.queue()).map((e) => e.conversationId), ['c5', 'c6', 'c8']);
  });

  it('lets one of several instances load the snapshot while the others wait and retry', async () => {
    const { router, store } = await withState();
    const prefix = router.key('epoch').split(':{')[0];
    const connections = [connectRedis(), connectRedis(), connectRedis()];
    try {
      await Promise.all(connections.map((c) => c.connect()));
      const others = connections.map((c) => new RedisRouter(c, { prefix, snapshot: store.snapshot }));
      await (await client()).del(router.key('epoch'));
      const answers = await Promise.all([router, ...others].flatMap((r) => [r.queue(), r.stats()]));
      assert.equal(store.snapshots, 2, 'exactly one instance loaded the snapshot');
      for (let i = 0; i < answers.length; i += 2) {
        assert.deepEqual(answers[i], [entry(4), entry(5), entry(6)]);
        assert.deepEqual(answers[i + 1], { length: 3, oldestQueuedAt: entry(4).queuedAt });
      }
    } finally {
      for (const c of connections) c.disconnect();
    }
  });

  it('fails clearly when the state is missing and there is no snapshot source', async () => {
    const router = await newRouter();
    routers.push(router);
    await assert.rejects(router.queue(), /no snapshot source/);
  });

  it('keeps every key under the prefix and one hash tag', async () => {
    const router = await newRouter({ hashTag: 'tag-x', snapshot: async () => ({ reps: [], queue: [], assigned: [], queueSeqFloor: 0 }) });
    routers.push(router);
    await router.setRep(slot(1, 1));
    await router.enqueueAndDispatch(entry(1));
    await router.enqueueAndDispatch(entry(2));
    const prefix = router.key('epoch').slice(0, -'epoch'.length);
    assert.match(prefix, /^sbtest-router-.+:\{tag-x\}:$/);
    const r = await client();
    // Rep 1 is full, so the eligible set is empty and, like any empty set in Redis, absent.
    for (const k of ['epoch', 'queue', 'queuedAt', 'entries', 'held', 'versions', 'reps', 'clock'] as const) {
      assert.ok(router.key(k).startsWith(prefix), k);
      assert.equal(await r.exists(router.key(k)), 1, `${k} exists`);
    }
    // What each rep holds is members of one declared key, never a key per rep built inside a script.
    assert.deepEqual(await r.zrange(router.key('repHeld'), 0, -1), [`${'1'.padStart(20, '0')}:c1`]);
    assert.equal(await r.exists(`${router.key('repHeld')}:1`), 0);
    // Redis Cluster hashes only the first {...} of a key: it must be the shared tag in every key.
    for (const k of ['epoch', 'queue', 'queuedAt', 'entries', 'held', 'versions', 'reps', 'eligible', 'clock', 'repHeld', 'rebuildLock'] as const) {
      assert.equal(/\{([^}]*)\}/.exec(router.key(k))?.[1], 'tag-x', k);
    }
  });
});
