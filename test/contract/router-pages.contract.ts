// Router cases on the costs that must not grow with the queue: pages, rank lookups, and a rep's own chats
// found without touching other reps'. Run by every adapter's test file beside the main contract.
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Router } from '../../src/routing/port.ts';
import { entry, freshRouterEachCase, pairs, slot, type RouterFactory } from './router.contract.ts';

export function routerPagesContract(name: string, factory: RouterFactory, opts: { skip?: string | false } = {}): void {
  describe(`Router pages and ranks: ${name}`, { skip: opts.skip || undefined }, () => {
    const current = freshRouterEachCase(factory);
    let router: Router;
    beforeEach(() => {
      router = current();
    });

    it('reads a page of the queue from an offset, in order', async () => {
      for (const n of [5, 3, 1, 4, 2, 6]) await router.enqueueAndDispatch(entry(n));
      assert.deepEqual(await router.queue({ offset: 0, limit: 2 }), [entry(1), entry(2)]);
      assert.deepEqual(await router.queue({ offset: 2, limit: 3 }), [entry(3), entry(4), entry(5)]);
      assert.deepEqual(await router.queue({ offset: 5, limit: 10 }), [entry(6)]);
      assert.deepEqual(await router.queue({ offset: 6, limit: 10 }), []);
      assert.deepEqual(await router.queue({ offset: 0, limit: 0 }), []);
      assert.equal((await router.queue()).length, 6, 'no page: the whole queue');
    });

    it('reads what entered the queue after a queue_seq, in order, a bounded batch at a time', async () => {
      for (const n of [5, 3, 1, 4, 2, 6]) await router.enqueueAndDispatch(entry(n));
      assert.deepEqual(await router.queuedAfter(0, 2), [entry(1), entry(2)]);
      assert.deepEqual(await router.queuedAfter(2, 3), [entry(3), entry(4), entry(5)]);
      assert.deepEqual(await router.queuedAfter(5, 10), [entry(6)]);
      assert.deepEqual(await router.queuedAfter(6, 10), []);
      await router.remove('c4');
      assert.deepEqual(await router.queuedAfter(3, 10), [entry(5), entry(6)]);
    });

    it('answers many positions in one call, with their queue_seq, 0 and null when not queued', async () => {
      for (const n of [1, 2, 3, 4]) await router.enqueueAndDispatch(entry(n));
      assert.deepEqual(await router.positions(['c3', 'c9', 'c1']), [
        { position: 3, queueSeq: 3 },
        { position: 0, queueSeq: null },
        { position: 1, queueSeq: 1 },
      ]);
      assert.deepEqual(await router.positions([]), []);
    });

    it('keeps ranks, the oldest wait and the head right through a long drain with requeues in the middle', async () => {
      const n = 300;
      for (let i = 1; i <= n; i++) await router.enqueueAndDispatch(entry(i));
      await router.setRep(slot(1, 1));
      // One slot: each release hands the head to the rep; every 7th chat goes back to its place instead.
      let held = 'c1';
      let remaining = n - 1;
      for (let step = 0; step < 120; step++) {
        const k = Number(held.slice(1));
        if (step % 7 === 3) {
          const back = await router.requeue(entry(k, { version: 2 }), 1);
          assert.deepEqual(pairs(back), [[held, 1]], 'a requeued head is its own next proposal');
          continue;
        }
        const next = await router.releaseAndDispatch(held, 1);
        assert.equal(next.length, 1);
        held = next[0].conversationId;
        remaining--;
        const stats = await router.stats();
        assert.equal(stats.length, remaining);
        const head = (await router.queue({ offset: 0, limit: 1 }))[0];
        assert.equal(await router.position(head.conversationId), 1);
        assert.equal(stats.oldestQueuedAt, head.queuedAt, 'nothing requeued stays queued: the head waited longest');
      }
      const all = await router.queue();
      const places = await router.positions(all.map((e) => e.conversationId));
      assert.deepEqual(places.map((p) => p.position), all.map((_, i) => i + 1));
    });

    it("requeueRep releases only that rep's chats, among many reps holding many", async () => {
      for (let r = 1; r <= 12; r++) await router.setRep(slot(r, 5));
      for (let i = 1; i <= 60; i++) await router.enqueueAndDispatch(entry(i));
      const before = await router.inspect();
      const mine = [...before.held].filter(([, rep]) => rep === 10).map(([id]) => id).sort();
      assert.equal(mine.length, 5);
      await router.requeueRep(slot(10, 5, { status: 'offline' }), mine.map((id) => entry(Number(id.slice(1)), { version: 2 })));
      const after = await router.inspect();
      assert.equal([...after.held].filter(([, rep]) => rep === 10).length, 0, "the rep's chats are released");
      assert.equal(after.held.size, 55, "the other reps' chats are untouched");
      assert.deepEqual([...after.queued].sort(), mine, 'its chats are queued again');
      assert.equal(after.reps.get(10)?.load, 0);
      assert.equal(after.reps.get(1)?.load, 5);
    });
  });
}
