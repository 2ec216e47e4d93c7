// The Router contract for gaps in queue_seq: entries reach the router after their commit, so across instances a
// later queue_seq may arrive first. It must not be served before the earlier one within the gap hold, its
// position counts the missing one, and a gap whose entry never comes is skipped once the hold runs out.
import { afterEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Router } from '../../src/routing/port.ts';
import { entry, pairs, slot, snapshotOf, type RouterFactory } from './router.contract.ts';

/** Long enough that no test machine reaches it: a hold that runs out would hide the failure it checks. */
const LONG_HOLD_MS = 120_000;

export function routerGapsContract(name: string, factory: RouterFactory, opts: { skip?: string | false } = {}): void {
  describe(`Router contract, queue_seq gaps: ${name}`, { skip: opts.skip || undefined }, () => {
    const cleanups: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const c of cleanups.splice(0)) await c();
    });
    /** A router whose queue_seqs up to 10 are all accounted for (the store's counter was at 10). */
    const make = async (gapHoldMs: number): Promise<Router> => {
      const made = await factory({ gapHoldMs });
      cleanups.push(made.cleanup);
      await made.router.rebuild({ ...snapshotOf([], [], []), queueSeq: 10 });
      return made.router;
    };

    it('does not serve a later queue_seq before an earlier one that has not arrived, and counts it in positions', async () => {
      const router = await make(LONG_HOLD_MS);
      await router.setRep(slot(1, 2));
      // 12 arrives before 11 (another instance committed 11 first; its router call is late).
      assert.deepEqual(await router.enqueueAndDispatch(entry(12)), [], 'queue_seq 12 was served while 11 was missing');
      assert.equal(await router.position('c12'), 2, 'the missing queue_seq 11 goes first');
      assert.deepEqual(await router.positions(['c12']), [{ position: 2, queueSeq: 12 }]);
      const waiting = await router.dispatch();
      assert.deepEqual(waiting.proposals, []);
      assert.ok(waiting.waitMs > 0, 'a gap is being waited on');
      // 11 lands: both go, in queue_seq order.
      assert.deepEqual(pairs(await router.enqueueAndDispatch(entry(11))), [
        ['c11', 1],
        ['c12', 1],
      ]);
      assert.deepEqual(await router.dispatch(), { proposals: [], waitMs: 0 });
    });

    it('keeps exact positions behind several gaps, and serves in queue_seq order as they fill', async () => {
      const router = await make(LONG_HOLD_MS);
      for (const n of [14, 12]) assert.deepEqual(await router.enqueueAndDispatch(entry(n)), []);
      assert.deepEqual(
        (await router.positions(['c12', 'c14'])).map((p) => p.position),
        [2, 4],
      );
      await router.setRep(slot(1, 9));
      assert.deepEqual(pairs(await router.enqueueAndDispatch(entry(11))), [
        ['c11', 1],
        ['c12', 1],
      ]);
      assert.equal(await router.position('c14'), 2, '13 is still missing');
      assert.deepEqual(pairs(await router.enqueueAndDispatch(entry(13))), [
        ['c13', 1],
        ['c14', 1],
      ]);
    });

    it('skips a gap once the hold has run out, and serves the late entry first when it comes', async () => {
      const router = await make(0);
      await router.setRep(slot(1, 1));
      // Nothing waits: the hole at 11 is given up on at once (its instance may have died).
      assert.deepEqual(pairs(await router.enqueueAndDispatch(entry(12))), [['c12', 1]]);
      assert.deepEqual(await router.enqueueAndDispatch(entry(13)), []);
      // 11 arrives late (or the reconciler puts it back): below the mark, it goes before 13.
      assert.deepEqual(await router.enqueueAndDispatch(entry(11)), []);
      assert.deepEqual(
        (await router.queue()).map((e) => e.conversationId),
        ['c11', 'c13'],
      );
      assert.deepEqual(pairs(await router.releaseAndDispatch('c12', 1)), [['c11', 1]]);
    });

    it('starts its watermark at the snapshot counter: a rebuild does not hold back what was committed before it', async () => {
      const router = await make(LONG_HOLD_MS);
      await router.rebuild({ ...snapshotOf([slot(1, 3)], [entry(8)], []), queueSeq: 9 });
      // 9 was committed before the snapshot and left the queue; 10 is the next one.
      assert.deepEqual(pairs(await router.enqueueAndDispatch(entry(10))), [
        ['c8', 1],
        ['c10', 1],
      ]);
    });
  });
}
