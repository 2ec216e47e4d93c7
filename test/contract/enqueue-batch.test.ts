// Enqueues that arrive together (a connect storm) share one store transaction: each is still the store's
// conditional transition, the router admits them in arrival order and confirms them in queue_seq order, every
// caller gets the outcome a lone enqueue would have given, and a failed COMMIT leaves nothing in the router.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/port.ts';
import type { Router } from '../../src/routing/port.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { ServiceContext } from '../../src/services/context.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';
import { registerRep } from '../../src/services/reps.ts';
import { routingDrift } from '../../src/services/reconcile.ts';
import { faulty } from '../helpers/faults.ts';
import { fakeUser, routingModes, type RoutingMode } from '../helpers/routing-modes.ts';

const { modes } = await routingModes('enqbatch', { poolSize: 4 });
type Mode = RoutingMode;
const user = fakeUser;

async function world(mode: Mode) {
  const real = await mode.store();
  const store = faulty<Store>(real);
  const router = faulty<Router>(mode.router(real));
  const ctx = new ServiceContext(store.proxy, router.proxy, new MemoryBus());
  await router.proxy.rebuild(await real.routingSnapshot());
  const rep = async (capacity: number) => {
    const r = (await real.createRep(user('r'), capacity)).profile;
    await registerRep(ctx, r);
    return r;
  };
  const conversation = async () => {
    const c = (await real.createCustomer(user('c'), 1)).profile;
    return real.createConversation(c.id, Date.now());
  };
  const drift = async () => [...routingDrift(await real.routingSnapshot(), await router.proxy.inspect())];
  return { real, store, router, ctx, rep, conversation, drift };
}

for (const mode of modes) {
  describe(`enqueue batches on ${mode.name}`, { skip: mode.skip }, () => {
    it('serves enqueues that arrive together in one transaction, in arrival order, each with its own outcome', async () => {
      const w = await world(mode);
      await w.rep(2);
      const convs = await Promise.all(Array.from({ length: 6 }, () => w.conversation()));
      const batches: string[][] = [];
      w.store.on('enqueueMany', (real, ids, now, places) => {
        batches.push([...ids]);
        return real(ids, now, places);
      });
      const admitted: Array<{ id: string; queueSeq: number }> = [];
      w.router.on('admit', async (real, entry) => {
        const place = await real(entry);
        admitted.push({ id: entry.conversationId, queueSeq: place.queueSeq });
        return place;
      });
      const confirmed: string[] = [];
      w.router.on('confirm', (real, id) => {
        confirmed.push(id);
        return real(id);
      });
      const positions = new Map<string, number>();
      // A second tab of the first conversation in the same batch: it is queued once.
      const ids = [...convs.map((c) => c.id), convs[0].id];
      const outcomes = await Promise.all(ids.map((id) => enqueueConversation(w.ctx, id, { onQueued: (p) => positions.set(id, p) })));
      assert.ok(batches.some((b) => b.length > 1), `no enqueue shared a transaction: ${JSON.stringify(batches.map((b) => b.length))}`);
      assert.deepEqual(
        admitted.map((e) => e.id),
        ids,
        'the router admitted the entries in arrival order (the second tab at the same place)',
      );
      assert.deepEqual(confirmed, convs.map((c) => c.id), 'confirmed in arrival order, once each');
      const seqs = admitted.slice(0, 6).map((e) => e.queueSeq);
      assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'queue_seq follows arrival order');
      assert.equal(new Set(seqs).size, seqs.length);
      assert.equal(admitted[6].queueSeq, admitted[0].queueSeq, 'the second tab got another place');
      // The rep has 2 slots: the first two are assigned, the other four wait at places 1..4.
      assert.deepEqual(
        outcomes.slice(0, 6).map((o) => o.assigned),
        [true, true, false, false, false, false],
      );
      assert.deepEqual(
        convs.slice(2).map((c) => positions.get(c.id)),
        [1, 2, 3, 4],
      );
      assert.equal(outcomes[6].conversation.id, convs[0].id);
      assert.equal(outcomes[6].conversation.status, 'assigned');
      for (const [k, c] of convs.entries()) assert.equal((await w.real.getConversation(c.id))?.status, k < 2 ? 'assigned' : 'queued');
      assert.deepEqual(await w.drift(), []);
    });

    it('leaves nothing in the router when a batch COMMIT fails, and every caller hears the error', async () => {
      const w = await world(mode);
      await w.rep(0);
      const convs = await Promise.all(Array.from({ length: 4 }, () => w.conversation()));
      let batched = 0;
      // The transaction never commits: the store is left as it was.
      w.store.on('enqueueMany', async () => {
        batched++;
        throw new Error('injected: COMMIT failed');
      });
      const results = await Promise.allSettled(convs.map((c) => enqueueConversation(w.ctx, c.id)));
      assert.ok(batched > 0, 'no batch was tried');
      assert.deepEqual(
        results.map((r) => r.status),
        convs.map(() => 'rejected'),
      );
      for (const c of convs) assert.equal((await w.real.getConversation(c.id))?.status, 'new');
      assert.deepEqual((await w.router.proxy.inspect()).queued, [], 'the router holds conversations the store has as new');
      assert.deepEqual(await w.drift(), []);
    });

    it('takes a stale conversation handed in as known for what it is: the store refuses it, and the caller gets the current state', async () => {
      const w = await world(mode);
      await w.rep(0);
      const a = await w.conversation();
      const first = await enqueueConversation(w.ctx, a.id);
      let reads = 0;
      w.store.on('getConversation', (real, id) => (reads++, real(id)));
      // `a` as read before the first enqueue: still `new`, at the old version.
      const again = await enqueueConversation(w.ctx, a.id, { known: a });
      assert.equal(again.conversation.status, 'queued');
      assert.equal(again.conversation.queueSeq, first.conversation.queueSeq, 'enqueued a second time');
      assert.equal((await w.router.proxy.stats()).length, 1);
      assert.deepEqual((await w.router.proxy.inspect()).pending, []);
      assert.deepEqual(await w.drift(), []);
      // A fresh conversation handed in as known is not read again.
      const b = await w.conversation();
      reads = 0;
      await enqueueConversation(w.ctx, b.id, { known: b });
      assert.equal(reads, 0, 'the known conversation was read again');
    });

    it('keeps work queued before an enqueue ahead of it: a later enqueue does not join an earlier batch past it', async () => {
      const w = await world(mode);
      const a = await w.conversation();
      const b = await w.conversation();
      const order: string[] = [];
      const first = enqueueConversation(w.ctx, a.id).then(() => order.push('enqueue a'));
      const between = w.ctx.lock.run(async () => void order.push('other work'));
      const second = enqueueConversation(w.ctx, b.id).then(() => order.push('enqueue b'));
      await Promise.all([first, between, second]);
      assert.deepEqual(order, ['enqueue a', 'other work', 'enqueue b']);
    });
  });
}
