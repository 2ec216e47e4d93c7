// Closes that arrive together share one store transaction on SQLite (one commit): each is still the store's
// conditional close, every caller gets what a lone close would have given (its redirect, or its refusal),
// nothing is published before the commit, and each close's frames go out in arrival order. On PostgreSQL
// each close keeps its own transaction.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/port.ts';
import type { Router } from '../../src/routing/port.ts';
import type { Bus, BusEvent } from '../../src/bus/port.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import { ServiceContext } from '../../src/services/context.ts';
import { closeConversation, closeIfHeld } from '../../src/services/close.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';
import { registerRep } from '../../src/services/reps.ts';
import { routingDrift } from '../../src/services/reconcile.ts';
import { faulty } from '../helpers/faults.ts';
import { fakeUser, routingModes } from '../helpers/routing-modes.ts';

const { modes } = await routingModes('closebatch', { poolSize: 4 });

for (const mode of modes) {
  describe(`close batches on ${mode.name}`, { skip: mode.skip }, () => {
    async function world(reps: number) {
      const real = await mode.store();
      const store = faulty<Store>(real);
      const router = faulty<Router>(mode.router(real));
      const bus = faulty<Bus>(new MemoryBus());
      const ctx = new ServiceContext(store.proxy, router.proxy, bus.proxy);
      await router.proxy.rebuild(await real.routingSnapshot());
      const customer = (await real.createCustomer(fakeUser('c'), 1)).profile;
      const conversation = async () => (await real.createConversation(customer.id, Date.now())).id;
      const held: Array<{ repId: number; conv: string }> = [];
      for (let i = 0; i < reps; i++) {
        const rep = (await real.createRep(fakeUser('r'), 1)).profile;
        await registerRep(ctx, rep);
        const conv = await conversation();
        assert.equal((await enqueueConversation(ctx, conv)).assigned, true);
        held.push({ repId: rep.id, conv });
      }
      const drift = async () => [...routingDrift(await real.routingSnapshot(), await router.proxy.inspect())];
      return { real, store, router, bus, ctx, conversation, held, drift };
    }

    it('serves closes that arrive together in one transaction, each with its own redirect, frames after the commit', async () => {
      const w = await world(4);
      const next: string[] = [];
      for (let i = 0; i < 4; i++) {
        const c = await w.conversation();
        assert.equal((await enqueueConversation(w.ctx, c)).assigned, false);
        next.push(c);
      }
      const batches: number[] = [];
      let committed = 0;
      w.store.on('closeAndAssignMany', async (real, closes, now) => {
        batches.push(closes.length);
        const out = await real(closes, now);
        committed += closes.length;
        return out;
      });
      w.store.on('closeAndAssign', async (real, ...args) => {
        batches.push(1);
        const out = await real(...args);
        committed++;
        return out;
      });
      const events: BusEvent[] = [];
      w.bus.on('publish', (real, e) => {
        if (e.kind === 'assigned' || e.kind === 'closed') assert.ok(committed > 0, `${e.kind} published before any commit`);
        events.push(e);
        return real(e);
      });
      const out = await Promise.all(w.held.map((h) => closeConversation(w.ctx, { conversationId: h.conv, by: 'rep', closingRepId: h.repId })));
      if (mode.shared) assert.deepEqual(batches, [1, 1, 1, 1], 'PostgreSQL: one transaction per close');
      else assert.deepEqual(batches, [4], 'SQLite: the four closes shared one transaction');
      // Each rep's freed slot went to the head of the queue in arrival order, and it hears that as its redirect.
      assert.deepEqual(
        out.map((o) => o.redirectId),
        next,
      );
      for (const [k, h] of w.held.entries()) {
        assert.equal((await w.real.getConversation(h.conv))?.status, 'closed');
        const n = await w.real.getConversation(next[k]);
        assert.equal(n?.status, 'assigned');
        assert.equal(n?.repId, h.repId);
      }
      // Per close, in arrival order: its next assignment, then its close.
      const story = events.filter((e) => e.kind === 'assigned' || e.kind === 'closed').map((e) => `${e.kind} ${e.conversationId}`);
      assert.deepEqual(
        story,
        w.held.flatMap((h, k) => [`assigned ${next[k]}`, `closed ${h.conv}`]),
      );
      assert.deepEqual(await w.drift(), []);
    });

    it('refuses only the close the store refuses; the others in the batch commit', async () => {
      const w = await world(3);
      const results = await Promise.allSettled([
        closeConversation(w.ctx, { conversationId: w.held[0].conv, by: 'rep', closingRepId: w.held[0].repId }),
        // Not this rep's chat.
        closeConversation(w.ctx, { conversationId: w.held[2].conv, by: 'rep', closingRepId: w.held[1].repId }),
        closeIfHeld(w.ctx, { conversationId: w.held[2].conv, by: 'rep', closingRepId: w.held[1].repId }),
        closeConversation(w.ctx, { conversationId: w.held[1].conv, by: 'rep', closingRepId: w.held[1].repId }),
        // The first one again: already closed by then.
        closeConversation(w.ctx, { conversationId: w.held[0].conv, by: 'rep', closingRepId: w.held[0].repId }),
      ]);
      assert.equal(results[0].status, 'fulfilled');
      assert.equal(results[1].status, 'rejected');
      assert.equal((results[1] as PromiseRejectedResult).reason.status, 403);
      assert.deepEqual(results[2], { status: 'fulfilled', value: undefined }, 'closeIfHeld says "refused" without a read');
      assert.equal(results[3].status, 'fulfilled');
      assert.equal(results[4].status, 'rejected');
      assert.equal((results[4] as PromiseRejectedResult).reason.status, 409);
      assert.equal((await w.real.getConversation(w.held[2].conv))?.status, 'assigned');
      assert.equal((await w.real.getRep(w.held[2].repId))?.load, 1);
      assert.deepEqual(await w.drift(), []);
    });

    it('keeps work queued before a close ahead of it: a later close does not join an earlier batch past it', async () => {
      const w = await world(2);
      const order: string[] = [];
      const name = (id: string) => (id === w.held[0].conv ? 'close a' : 'close b');
      w.store.on('closeAndAssignMany', (real, closes, now) => {
        order.push(...closes.map((c) => name(c.conversationId)));
        return real(closes, now);
      });
      w.store.on('closeAndAssign', (real, id, ...rest) => {
        order.push(name(id));
        return real(id, ...rest);
      });
      const first = closeConversation(w.ctx, { conversationId: w.held[0].conv, by: 'rep', closingRepId: w.held[0].repId });
      const between = w.ctx.lock.run(async () => void order.push('other work'));
      const second = closeConversation(w.ctx, { conversationId: w.held[1].conv, by: 'rep', closingRepId: w.held[1].repId });
      await Promise.all([first, between, second]);
      assert.deepEqual(order, ['close a', 'other work', 'close b']);
    });
  });
}
