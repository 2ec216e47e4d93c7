// A stalled router call during an enqueue (PostgreSQL + Redis router, a small pool): it must not stop message
// sends, must not exhaust the PostgreSQL pool through other enqueues waiting behind it, and is bounded by
// ROUTER_CALL_TIMEOUT_MS with nothing stranded. The stall is a seam (a router whose enqueueAndDispatch waits
// at a gate the test opens), never a timing.
import { after, describe, it } from 'node:test';
import pg from 'pg';
import assert from 'node:assert/strict';
import { openPostgres } from '../../src/store/open.ts';
import { RedisRouter } from '../../src/routing/redis/redis-router.ts';
import type { Router } from '../../src/routing/port.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import type { BusEvent } from '../../src/bus/port.ts';
import { ServiceContext } from '../../src/services/context.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';
import { registerRep } from '../../src/services/reps.ts';
import { sendMessage } from '../../src/services/messages.ts';
import { routingDrift } from '../../src/services/reconcile.ts';
import { DomainError } from '../../src/domain/errors.ts';
import { createTempDatabase, requirePostgres } from '../helpers/pg.ts';
import { connectRedis, requireRedis, uniquePrefix } from '../helpers/redis.ts';
import { faulty, Gate, until } from '../helpers/faults.ts';

const pgSkip = await requirePostgres();
const redisSkip = await requireRedis();
const redis = redisSkip ? undefined : connectRedis();
if (redis) await redis.connect();
const cleanups: Array<() => Promise<void>> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c().catch(() => undefined);
  redis?.disconnect();
});

const PW = 'scrypt$16384$8$1$x$y';
let n = 0;
const user = (p: string) => ({ username: `${p}${n++}`, email: '', firstName: '', lastName: '', passwordHash: PW });
const POOL = 3;

/** Several instances (contexts with their own router client and routing lock) on one store with a pool of POOL. */
async function world(instances: number) {
  const db = await createTempDatabase('sbstall');
  const store = await openPostgres({ url: db.url, poolSize: POOL });
  const prefix = uniquePrefix('sbtest-stall');
  const routers: RedisRouter[] = [];
  cleanups.push(async () => {
    for (const r of routers) await r.destroy().catch(() => undefined);
    await store.close();
    await db.drop();
  });
  const newRouter = () => {
    const r = new RedisRouter(redis!, { prefix, hashTag: 'sb', snapshot: () => store.routingSnapshot(), rebuildPollMs: 5 });
    routers.push(r);
    return r;
  };
  const stalled = faulty<Router>(newRouter());
  const bus = new MemoryBus();
  const ctxs = [new ServiceContext(store, stalled.proxy, bus)];
  for (let i = 1; i < instances; i++) ctxs.push(new ServiceContext(store, newRouter(), bus));
  for (const c of ctxs) c.routerCallTimeoutMs = 0;
  await stalled.proxy.rebuild(await store.routingSnapshot());
  const conversation = async () => {
    const c = await store.createCustomer(user('c'), 1);
    return { customer: c, conversation: await store.createConversation(c.profile.id, Date.now()) };
  };
  const rep = async (capacity: number) => {
    const r = (await store.createRep(user('r'), capacity)).profile;
    await registerRep(ctxs[0], r);
    return r;
  };
  /** An assigned conversation whose customer will write while the stall lasts. */
  const assigned = async () => {
    const c = await conversation();
    const out = await enqueueConversation(ctxs[0], c.conversation.id);
    assert.equal(out.conversation.status, 'assigned');
    return c;
  };
  const drift = async () => [...routingDrift(await store.routingSnapshot(), await stalled.proxy.inspect())];
  const stallOn = (conversationId: string) => {
    const gate = new Gate();
    stalled.on('enqueueAndDispatch', async (real, entry) => {
      if (entry.conversationId === conversationId) await gate.pass();
      return real(entry);
    });
    cleanups.push(async () => gate.open());
    return gate;
  };
  /** Resolves once the message is stored and its event reached the bus. */
  const sendWhile = (c: Awaited<ReturnType<typeof conversation>>, text: string) => {
    let delivered = false;
    const off = bus.subscribe((e: BusEvent) => {
      if (e.kind === 'message' && e.conversationId === c.conversation.id && e.message.text === text) delivered = true;
    });
    const sent = sendMessage(ctxs[ctxs.length - 1], { conversationId: c.conversation.id, authorId: c.customer.user.id, username: c.customer.user.username, text, clientId: null });
    return { sent, delivered: () => delivered, off };
  };
  /** Sessions of this database waiting on a lock, seen from outside the pool (which may be full). */
  const lockWaiters = async () => {
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      const r = await client.query("select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'");
      return r.rows[0].n as number;
    } finally {
      await client.end();
    }
  };
  return { store, stalled, lockWaiters, ctxs, conversation, rep, assigned, drift, stallOn, sendWhile };
}

describe('an enqueue whose router call stalls (PostgreSQL + Redis router)', { skip: pgSkip || redisSkip }, () => {
  it('does not stop messages in conversations already assigned: they are stored and delivered', async () => {
    const w = await world(2);
    await w.rep(2);
    const chat = await w.assigned();
    const x = await w.conversation();
    const gate = w.stallOn(x.conversation.id);
    const stalled = enqueueConversation(w.ctxs[0], x.conversation.id);
    await gate.reached;
    const m = w.sendWhile(chat, 'still here?');
    await until(m.delivered, 'a message to be stored and delivered while an enqueue stalls in the router');
    await m.sent;
    m.off();
    gate.open();
    await stalled;
    assert.deepEqual(await w.drift(), []);
  });

  it('does not exhaust the PostgreSQL pool with enqueues of other instances waiting behind it', async () => {
    const w = await world(1 + POOL);
    await w.rep(1);
    const chat = await w.assigned();
    const x = await w.conversation();
    const ys = [];
    for (let i = 1; i <= POOL; i++) ys.push(await w.conversation());
    const gate = w.stallOn(x.conversation.id);
    const stalled = enqueueConversation(w.ctxs[0], x.conversation.id);
    await gate.reached;
    // One enqueue per other instance: as many as the pool has connections.
    let settled = 0;
    const others = ys.map((y, i) => enqueueConversation(w.ctxs[i + 1], y.conversation.id).finally(() => settled++));
    // Each has either finished or taken a pool connection and waits on a lock: enough of them hold the rest
    // of the pool when they wait behind the stalled transaction.
    await until(async () => settled + (await w.lockWaiters()) >= POOL - 1, 'the other enqueues to finish or to wait on a lock');
    const m = w.sendWhile(chat, 'the pool has room');
    try {
      await until(m.delivered, 'a message to be stored and delivered while enqueues of other instances wait behind a stalled one');
      await m.sent;
    } finally {
      m.off();
      gate.open();
    }
    await stalled;
    for (const o of others) assert.equal((await o).conversation.status, 'queued');
    assert.deepEqual(await w.drift(), []);
  });

  it('is bounded by ROUTER_CALL_TIMEOUT_MS: 503, the conversation stays queued in the store, and the late router call is settled', async () => {
    const w = await world(1);
    // A free rep: the stalled call, when it lands, proposes x to it, and that proposal must be committed.
    const rep = await w.rep(1);
    const x = await w.conversation();
    const gate = w.stallOn(x.conversation.id);
    w.ctxs[0].routerCallTimeoutMs = 200;
    let outcome: unknown;
    enqueueConversation(w.ctxs[0], x.conversation.id).then(
      (ok) => (outcome = ok),
      (err) => (outcome = err),
    );
    await until(() => outcome !== undefined, 'the stalled enqueue to give up');
    assert.ok(outcome instanceof DomainError, `expected a DomainError, got ${String(outcome)}`);
    assert.equal(outcome.status, 503);
    assert.match(outcome.message, /routing did not answer in time/i);
    // Committed before the router was called: the store has it queued.
    assert.equal((await w.store.getConversation(x.conversation.id))?.status, 'queued');
    // The stalled script completes: its proposal is committed, nothing is left reserved or queued twice.
    gate.open();
    await until(async () => (await w.store.getConversation(x.conversation.id))?.status === 'assigned', 'the late router call to be settled');
    await until(async () => (await w.drift()).length === 0, 'the router to agree with the store');
    const view = await w.stalled.proxy.inspect();
    assert.deepEqual(view.queued, []);
    assert.equal(view.held.get(x.conversation.id), rep.id);
    assert.equal(view.reps.get(rep.id)?.load, 1);
  });

  it('skips a gap left by an instance that died between its commit and its router call, with nothing else happening', async () => {
    const w = await world(1);
    const rep = await w.rep(2);
    w.ctxs[0].gapHoldMs = 50;
    // The dead instance's enqueue: committed (it took a queue_seq), never routed.
    const lost = await w.conversation();
    assert.ok(await w.store.enqueue(lost.conversation.id, Date.now()));
    const x = await w.conversation();
    const out = await enqueueConversation(w.ctxs[0], x.conversation.id);
    // Held behind the missing queue_seq at first (the router's hold is its own: 500 ms by default).
    assert.equal(out.assigned, false, 'served while an earlier queue_seq was missing');
    // Nobody else dispatches: this instance comes back once the hold has run out, and x is served.
    await until(async () => (await w.store.getConversation(x.conversation.id))?.status === 'assigned', 'x to be served past the gap', 10_000);
    assert.equal((await w.store.getConversation(x.conversation.id))?.repId, rep.id);
    // The lost one is the reconciler's: queued in the store, missing from the router.
    assert.deepEqual(await w.drift(), [`missing-from-queue:${lost.conversation.id}`]);
  });
});
