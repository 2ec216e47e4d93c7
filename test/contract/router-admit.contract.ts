// The Router contract for admissions (Router.admit): the router hands out queue_seqs and places before the
// store commits an enqueue. Run unchanged against every adapter (memory, Redis, Redis Cluster).
import { beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { QueueEntry, Router } from '../../src/routing/port.ts';
import { entry, freshRouterEachCase, pairs, slot, snapshotOf, type RouterContractOptions, type RouterFactory } from './router.contract.ts';

/** What an enqueue admits: an entry without its queue_seq (the router gives it one). */
const bare = (n: number, o: Partial<QueueEntry> = {}): Omit<QueueEntry, 'queueSeq'> => {
  const { queueSeq: _seq, ...rest } = entry(n, o);
  return rest;
};

export function routerAdmitContract(name: string, factory: RouterFactory, opts: RouterContractOptions = {}): void {
  describe(`Router admissions: ${name}`, { skip: opts.skip || undefined }, () => {
    const current = freshRouterEachCase(factory);
    let router: Router;
    beforeEach(() => {
      router = current();
    });

    it('places each admission at the tail with the next queue_seq, and counts it in every position', async () => {
      await router.rebuild(snapshotOf([], [entry(1), entry(2)], []));
      const a = await router.admit(bare(10));
      const b = await router.admit(bare(11));
      assert.ok(a.queueSeq > 2, `a queue_seq at or below the tail: ${a.queueSeq}`);
      assert.equal(b.queueSeq, a.queueSeq + 1);
      assert.deepEqual([a.position, b.position], [3, 4]);
      assert.deepEqual((await router.positions(['c10', 'c11'])).map((p) => p.position), [3, 4]);
      assert.deepEqual(new Set((await router.inspect()).pending), new Set(['c10', 'c11']));
    });

    it('is idempotent: a second admission of the same conversation gets the same place', async () => {
      const a = await router.admit(bare(1));
      const again = await router.admit(bare(1));
      assert.deepEqual(again, a);
      assert.equal((await router.stats()).length, 1);
    });

    it('never proposes a pending entry, offers the committed ones behind it, and offers it once confirmed', async () => {
      const a = await router.admit(bare(1));
      const b = await router.admit(bare(2));
      assert.deepEqual(await router.enqueueAndDispatch({ ...bare(2), queueSeq: b.queueSeq }), []);
      assert.deepEqual(pairs(await router.setRep(slot(1, 1))), [['c2', 1]], 'the committed one behind the pending head');
      assert.equal(await router.position('c1'), 1, 'the pending head kept its place');
      assert.deepEqual(pairs(await router.setRep(slot(2, 1))), [], 'a pending entry was proposed');
      const proposals = await router.enqueueAndDispatch({ ...bare(1), queueSeq: a.queueSeq });
      assert.deepEqual(pairs(proposals), [['c1', 2]]);
      assert.equal(proposals[0].queueSeq, a.queueSeq);
      assert.deepEqual((await router.inspect()).pending, []);
    });

    it('takes a pending entry out on remove, and the positions behind it move up', async () => {
      await router.admit(bare(1));
      await router.admit(bare(2));
      await router.remove('c1');
      assert.deepEqual(await router.positions(['c1', 'c2']).then((p) => p.map((x) => x.position)), [0, 1]);
      assert.deepEqual((await router.inspect()).pending, ['c2']);
    });

    it('gives a held (or stale) conversation a queue_seq but no place: the store decides', async () => {
      await router.setRep(slot(1, 1));
      assert.deepEqual(pairs(await router.enqueueAndDispatch(entry(1))), [['c1', 1]]);
      const held = await router.admit(bare(1, { version: 2 }));
      assert.equal(held.position, 0);
      await router.enqueueAndDispatch(entry(2, { version: 5 }));
      await router.remove('c2');
      const stale = await router.admit(bare(2, { version: 3 }));
      assert.equal(stale.position, 0);
      assert.ok(stale.queueSeq > held.queueSeq, 'queue_seqs handed out go up');
      assert.deepEqual(await router.queue(), []);
    });

    it('starts above the store floor after a rebuild, and above the tail whatever the floor says', async () => {
      await router.rebuild({ ...snapshotOf([], [entry(3)], []), queueSeqFloor: 50_000 });
      const a = await router.admit(bare(5));
      assert.ok(a.queueSeq > 50_000, `queue_seq ${a.queueSeq} is not above the floor`);
      await router.rebuild({ ...snapshotOf([], [entry(7, { queueSeq: 90_000 })], []), queueSeqFloor: 10 });
      const b = await router.admit(bare(8));
      assert.ok(b.queueSeq > 90_000, `queue_seq ${b.queueSeq} jumps the queue`);
      assert.equal(b.position, 2);
    });

    it('never hands out a queue_seq again after a rebuild from a lower floor (admissions it erased may still commit)', async () => {
      await router.rebuild({ ...snapshotOf([], [], []), queueSeqFloor: 5000 });
      const a = await router.admit(bare(1));
      // The rebuild erases a's pending entry; the store's floor is lower than what was handed out.
      await router.rebuild({ ...snapshotOf([], [], []), queueSeqFloor: 0 });
      const b = await router.admit(bare(2));
      assert.ok(b.queueSeq > a.queueSeq, `queue_seq ${b.queueSeq} handed out again (or below ${a.queueSeq})`);
    });

    it('confirms only an entry still there: one taken out since (a close) is not put back', async () => {
      await router.admit(bare(1));
      await router.remove('c1', true);
      const out = await router.confirm('c1');
      assert.equal(out.present, false);
      assert.deepEqual(await router.queue(), []);
      await router.admit(bare(2));
      assert.equal((await router.confirm('c2')).present, true);
      assert.deepEqual((await router.inspect()).pending, []);
    });

    it('takes back only a pending admission, at its queue_seq', async () => {
      const a = await router.admit(bare(1));
      assert.equal(await router.unadmit('c1', a.queueSeq + 1), false, 'took back an admission at another queue_seq');
      await router.confirm('c1');
      assert.equal(await router.unadmit('c1', a.queueSeq), false, 'took back a confirmed entry');
      assert.equal(await router.position('c1'), 1);
      await router.admit(bare(2));
      assert.equal(await router.unadmit('c2'), true);
      assert.equal(await router.position('c2'), 0);
    });
  });
}
