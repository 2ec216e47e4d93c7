// The Router contract: one suite of cases, run unchanged against every adapter (memory, Redis).
import { afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Proposal, QueueEntry, Router } from '../../src/routing/port.ts';
import type { RepSlot } from '../../src/domain/policy.ts';
import type { RoutingSnapshot } from '../../src/store/port.ts';
import type { Conversation, ConversationStatus, RepProfile } from '../../src/domain/types.ts';

export type RouterFactory = () => Promise<{ router: Router; cleanup(): Promise<void> }>;

export interface RouterContractOptions {
  /** A reason to skip the whole suite (e.g. Redis is not reachable). */
  skip?: string | false;
}

const T0 = Date.UTC(2026, 0, 1);

/** Conversation n: id `c<n>`, queue_seq n, queued at T0 + n. */
export const entry = (n: number, o: Partial<QueueEntry> = {}): QueueEntry => ({
  conversationId: `c${n}`,
  queueSeq: n,
  customerId: 1000 + n,
  queuedAt: T0 + n * 1000,
  version: 1,
  ...o,
});

export const slot = (repId: number, maxCapacity: number, o: Partial<RepSlot> = {}): RepSlot => ({
  repId,
  status: 'online',
  load: 0,
  maxCapacity,
  lastAssignedAt: null,
  ...o,
});

export const proposal = (e: QueueEntry, repId: number): Proposal => ({ ...e, repId });

/** Proposals as [conversationId, repId] pairs, in order: enough to read a dispatch at a glance. */
export const pairs = (ps: Proposal[]): Array<[string, number]> => ps.map((p) => [p.conversationId, p.repId]);

export const repProfile = (s: RepSlot): RepProfile => ({
  id: s.repId,
  userId: 500 + s.repId,
  maxCapacity: s.maxCapacity,
  status: s.status,
  load: s.load,
  lastAssignedAt: s.lastAssignedAt,
  watched: false,
  offlineReason: null,
});

export const conversation = (e: QueueEntry, status: ConversationStatus, repId: number | null = null): Conversation => ({
  id: e.conversationId,
  customerId: e.customerId,
  repId,
  status,
  queueSeq: e.queueSeq,
  queuedAt: e.queuedAt,
  assignedAt: repId === null ? null : e.queuedAt + 1,
  closedAt: null,
  closedBy: null,
  lastSeq: 0,
  version: e.version,
  rating: null,
  ratingComment: null,
  createdAt: e.queuedAt - 1,
});

export function snapshotOf(reps: RepSlot[], queue: QueueEntry[], assigned: Array<[QueueEntry, number]>): RoutingSnapshot {
  return {
    reps: reps.map(repProfile),
    queue: queue.map((e) => conversation(e, 'queued')),
    assigned: assigned.map(([e, repId]) => conversation(e, 'assigned', repId)),
    queueSeqFloor: Math.max(0, ...queue.map((e) => e.queueSeq), ...assigned.map(([e]) => e.queueSeq)),
  };
}

/** Inside a describe: a fresh router from the factory before each case, cleaned up after it. */
export function freshRouterEachCase(factory: RouterFactory): () => Router {
  let router: Router | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  beforeEach(async () => {
    ({ router, cleanup } = await factory());
  });
  afterEach(async () => {
    await cleanup?.();
    cleanup = undefined;
  });
  return () => router!;
}

export function routerContract(name: string, factory: RouterFactory, opts: RouterContractOptions = {}): void {
  describe(`Router contract: ${name}`, { skip: opts.skip || undefined }, () => {
    const current = freshRouterEachCase(factory);
    let router: Router;
    beforeEach(() => {
      router = current();
    });

    const queueIds = async () => (await router.queue()).map((e) => e.conversationId);
    const enqueue = (n: number, o: Partial<QueueEntry> = {}) => router.enqueueAndDispatch(entry(n, o));

    describe('queue', () => {
      it('proposes nothing when there is no rep, and keeps the queue ordered by queueSeq whatever the insertion order', async () => {
        for (const n of [3, 1, 4, 2]) assert.deepEqual(await enqueue(n), []);
        assert.deepEqual(await router.queue(), [entry(1), entry(2), entry(3), entry(4)]);
      });

      it('keeps every field of an entry as given', async () => {
        const e = entry(7, { customerId: 42, queuedAt: 1_767_225_600_123, version: 9, queueSeq: 123_456_789 });
        await router.enqueueAndDispatch(e);
        assert.deepEqual(await router.queue(), [e]);
      });

      it('orders entries with the same queueSeq by conversation id', async () => {
        await router.enqueueAndDispatch(entry(1, { queueSeq: 5 }));
        await router.enqueueAndDispatch(entry(3, { queueSeq: 4 }));
        await router.enqueueAndDispatch(entry(2, { queueSeq: 5 }));
        assert.deepEqual(await queueIds(), ['c3', 'c1', 'c2']);
      });

      it('enqueues a conversation once, however often it is enqueued', async () => {
        await enqueue(1);
        await enqueue(1);
        await enqueue(1, { version: 2 });
        assert.deepEqual(await queueIds(), ['c1']);
        assert.equal((await router.stats()).length, 1);
      });

      it('ignores an enqueue of a conversation it holds for a rep', async () => {
        await router.setRep(slot(1, 1));
        assert.deepEqual(pairs(await enqueue(1)), [['c1', 1]]);
        await router.setRep(slot(2, 1));
        assert.deepEqual(await enqueue(1), []);
        assert.deepEqual(await queueIds(), []);
      });

      it('ignores an operation that carries an older version than one it has seen', async () => {
        await enqueue(1, { version: 5 });
        await router.remove('c1');
        assert.deepEqual(await enqueue(1, { version: 4 }), []);
        assert.deepEqual(await queueIds(), [], 'a stale enqueue does not bring the conversation back');

        // A stale requeue neither releases the current hold nor queues the conversation.
        await router.setRep(slot(1, 1));
        assert.deepEqual(pairs(await enqueue(2, { version: 3 })), [['c2', 1]]);
        assert.deepEqual(await enqueue(3), []);
        assert.deepEqual(await router.requeue(entry(2, { version: 2 }), 1), []);
        assert.deepEqual(await queueIds(), ['c3'], 'c2 stays held by rep 1, which stays full');
        assert.deepEqual(await router.reject(proposal(entry(9), 1), { requeue: entry(2, { version: 1 }) }), []);
        assert.deepEqual(await queueIds(), ['c3'], 'a stale reject does not queue a held conversation');
      });

      it('reports a conversation\'s 1-based position, and 0 once it is not queued', async () => {
        for (const n of [3, 1, 2]) await enqueue(n);
        assert.deepEqual([await router.position('c1'), await router.position('c2'), await router.position('c3')], [1, 2, 3]);
        assert.equal(await router.position('c9'), 0);
        await router.setRep(slot(1, 1));
        assert.equal(await router.position('c1'), 0, 'the head was proposed to the rep');
        assert.equal(await router.position('c2'), 1);
      });

      it('shows its whole state through inspect(): the queue, held conversations and reps', async () => {
        await router.setRep(slot(1, 1));
        await enqueue(1);
        await enqueue(2);
        const view = await router.inspect();
        assert.deepEqual(view.queued, ['c2']);
        assert.deepEqual([...view.held], [['c1', 1]]);
        assert.deepEqual(view.reps.get(1), { status: 'online', maxCapacity: 1, load: 1 });
      });

      it('reports the length and the oldest queuedAt, which need not be the head', async () => {
        assert.deepEqual(await router.stats(), { length: 0, oldestQueuedAt: null });
        await enqueue(1, { queuedAt: T0 + 500 });
        await enqueue(2, { queuedAt: T0 + 100 });
        await enqueue(3, { queuedAt: T0 + 900 });
        assert.deepEqual(await router.stats(), { length: 3, oldestQueuedAt: T0 + 100 });
        await router.remove('c2');
        assert.deepEqual(await router.stats(), { length: 2, oldestQueuedAt: T0 + 500 });
      });
    });

    describe('reps and policy', () => {
      it('pulls the queue head(s), in order, when a rep comes online with capacity', async () => {
        for (const n of [1, 2, 3, 4]) await enqueue(n);
        assert.deepEqual(await router.setRep(slot(1, 3)), [proposal(entry(1), 1), proposal(entry(2), 1), proposal(entry(3), 1)]);
        assert.deepEqual(await queueIds(), ['c4']);
        assert.deepEqual(await router.stats(), { length: 1, oldestQueuedAt: entry(4).queuedAt });
      });

      it('gives a conversation to the rep with the most free slots', async () => {
        await router.setRep(slot(1, 3));
        await router.setRep(slot(2, 1));
        const got: Array<[string, number]> = [];
        for (const n of [1, 2, 3, 4, 5]) got.push(...pairs(await enqueue(n)));
        // c1: 3 free vs 1; c2: 2 vs 1; c3: 1 vs 1, and rep 2 was never assigned; c4: only rep 1 is left.
        assert.deepEqual(got, [
          ['c1', 1],
          ['c2', 1],
          ['c3', 2],
          ['c4', 1],
        ]);
        assert.deepEqual(await queueIds(), ['c5']);
      });

      it('breaks a tie on free slots by the rep least recently assigned (never assigned first), then by id', async () => {
        await router.setRep(slot(4, 1, { lastAssignedAt: 1000 }));
        await router.setRep(slot(1, 1, { lastAssignedAt: 2000 }));
        await router.setRep(slot(2, 1, { lastAssignedAt: 1000 }));
        await router.setRep(slot(3, 1));
        const got: Array<[string, number]> = [];
        for (const n of [1, 2, 3, 4]) got.push(...pairs(await enqueue(n)));
        assert.deepEqual(got, [
          ['c1', 3],
          ['c2', 2],
          ['c3', 4],
          ['c4', 1],
        ]);
      });

      it('orders reps assigned within one dispatch by when they were assigned', async () => {
        // Rep 1 was assigned long ago, rep 2 never. One dispatch hands out three conversations:
        // c1 -> 2 (tie on 2 free, never assigned), c2 -> 1 (2 free vs 1), then c3 ties on 1 free
        // and goes to rep 2, whose last assignment (c1) came before rep 1's (c2).
        await router.rebuild(snapshotOf([slot(1, 2, { lastAssignedAt: 100 }), slot(2, 2)], [entry(1), entry(2)], []));
        assert.deepEqual(pairs(await enqueue(3)), [
          ['c1', 2],
          ['c2', 1],
          ['c3', 2],
        ]);
      });

      it('offers nothing to away or offline reps, and pulls the queue when one comes online', async () => {
        await router.setRep(slot(1, 5, { status: 'away' }));
        await router.setRep(slot(2, 5, { status: 'offline' }));
        assert.deepEqual(await enqueue(1), []);
        assert.deepEqual(await enqueue(2), []);
        assert.deepEqual(await router.setRep(slot(2, 5, { status: 'away' })), []);
        assert.deepEqual(pairs(await router.setRep(slot(1, 5))), [
          ['c1', 1],
          ['c2', 1],
        ]);
      });

      it('keeps the open chats of a rep whose capacity drops below its load, and offers it nothing until the load drops', async () => {
        await router.setRep(slot(1, 3));
        for (const n of [1, 2, 3]) assert.deepEqual(pairs(await enqueue(n)), [[`c${n}`, 1]]);
        assert.deepEqual(await router.setRep(slot(1, 1)), []);
        assert.deepEqual(await enqueue(4), []);
        assert.deepEqual(await router.releaseAndDispatch('c1', 1), [], 'load 2 of capacity 1');
        assert.deepEqual(await router.releaseAndDispatch('c2', 1), [], 'load 1 of capacity 1');
        assert.deepEqual(await router.releaseAndDispatch('c3', 1), [proposal(entry(4), 1)]);
        assert.deepEqual(await router.setRep(slot(1, 2)), [], 'raising the capacity with an empty queue proposes nothing');
        assert.deepEqual(pairs(await enqueue(5)), [['c5', 1]]);
      });

      it('keeps its own load when setRep carries another one for a known rep', async () => {
        await router.setRep(slot(1, 2));
        await enqueue(1);
        await router.setRep(slot(1, 2, { load: 0 }));
        assert.deepEqual(pairs(await enqueue(2)), [['c2', 1]]);
        assert.deepEqual(await enqueue(3), [], 'rep 1 holds two of two');
      });
    });

    describe('release, remove, transfer', () => {
      it('frees a slot on release and proposes the head to the best rep', async () => {
        await router.setRep(slot(1, 1));
        await router.setRep(slot(2, 1));
        assert.deepEqual(pairs(await enqueue(1)), [['c1', 1]]);
        assert.deepEqual(pairs(await enqueue(2)), [['c2', 2]]);
        await enqueue(3);
        await enqueue(4);
        assert.deepEqual(await router.releaseAndDispatch('c2', 2), [proposal(entry(3), 2)]);
        assert.deepEqual(await router.releaseAndDispatch('c1', 2), [], 'rep 2 does not hold c1: nothing is freed');
        assert.deepEqual(await router.releaseAndDispatch('c1', 1), [proposal(entry(4), 1)]);
        assert.deepEqual(await router.releaseAndDispatch('c1', 1), [], 'a second release is a no-op');
        assert.deepEqual(await queueIds(), []);
      });

      it('forgets the versions of closed conversations, and only those, so its state does not grow forever', async () => {
        await router.setRep(slot(1, 3));
        for (let n = 1; n <= 10; n++) await enqueue(n, { version: 2 });
        assert.equal((await router.inspect()).versionsKept, 10);
        // Closed while assigned (release) and closed while queued (final remove): forgotten.
        for (const n of [1, 2, 3]) await router.releaseAndDispatch(`c${n}`, 1);
        for (const n of [7, 8]) await router.remove(`c${n}`, true);
        // Abandoned (a plain remove) may come back: its version is kept, so a stale retry stays ignored.
        await router.remove('c9');
        const view = await router.inspect();
        assert.equal(view.versionsKept, 5, 'c4, c5, c6 (held) and c10 (queued), c9 (abandoned)');
        assert.deepEqual(await enqueue(9, { version: 1 }), [], 'a stale enqueue of the abandoned one is still ignored');
        assert.ok(!(await queueIds()).includes('c9'));
      });

      it('drops a queued entry on remove, and also a held reservation (which frees its slot)', async () => {
        await router.setRep(slot(1, 1));
        await enqueue(1);
        await enqueue(2);
        await enqueue(3);
        await router.remove('c2');
        assert.deepEqual(await queueIds(), ['c3']);
        await router.remove('c1');
        assert.deepEqual(await queueIds(), ['c3'], 'remove does not dispatch');
        assert.deepEqual(pairs(await enqueue(4)), [['c3', 1]], 'the freed slot takes the head at the next dispatch');
        assert.deepEqual(await queueIds(), ['c4']);
        await router.remove('nope');
        assert.deepEqual(await queueIds(), ['c4']);
      });

      it('transfers a held conversation to an online rep with a free slot, and refuses otherwise', async () => {
        await router.setRep(slot(1, 1));
        await router.setRep(slot(2, 2));
        assert.deepEqual(pairs(await enqueue(1)), [['c1', 2]]);
        assert.deepEqual(pairs(await enqueue(2)), [['c2', 1]]);

        assert.deepEqual(await router.transfer('c2', 1, 2), { ok: true, proposals: [] });
        assert.deepEqual(pairs(await enqueue(3)), [['c3', 1]], "rep 1's slot was freed");
        assert.deepEqual(await enqueue(4), [], 'rep 2 took c2: it is full');

        assert.deepEqual(await router.transfer('c3', 1, 2), { ok: false, proposals: [], refused: 'rep' }, 'target full');
        assert.deepEqual(await router.transfer('c1', 1, 2), { ok: false, proposals: [], refused: 'conversation' }, 'rep 1 does not hold c1');
        assert.deepEqual(await router.transfer('c3', 1, 1), { ok: false, proposals: [], refused: 'conversation' }, 'same rep');
        assert.deepEqual(await router.transfer('c3', 1, 9), { ok: false, proposals: [], refused: 'rep' }, 'unknown target');
        assert.deepEqual(await router.transfer('c4', 1, 2), { ok: false, proposals: [], refused: 'conversation' }, 'c4 is queued, not held');

        await router.setRep(slot(3, 2, { status: 'away' }));
        assert.deepEqual(await router.transfer('c3', 1, 3), { ok: false, proposals: [], refused: 'rep' }, 'target away');
        await router.setRep(slot(3, 2, { status: 'offline' }));
        assert.deepEqual(await router.transfer('c3', 1, 3), { ok: false, proposals: [], refused: 'rep' }, 'target offline');
        assert.deepEqual(await queueIds(), ['c4'], 'refused transfers change nothing');

        // Rep 3 online takes c4, then c3 from rep 1, whose freed slot has nothing to take.
        assert.deepEqual(pairs(await router.setRep(slot(3, 2))), [['c4', 3]]);
        assert.deepEqual(await router.transfer('c3', 1, 3), { ok: true, proposals: [] });
        assert.deepEqual(await router.transfer('c3', 1, 3), { ok: false, proposals: [], refused: 'conversation' }, 'rep 1 no longer holds c3');
        assert.deepEqual(pairs(await enqueue(5)), [['c5', 1]]);
      });

      it('dispatches the slot a transfer frees to the queue head', async () => {
        await router.setRep(slot(1, 1));
        await router.setRep(slot(2, 1));
        assert.deepEqual(pairs(await enqueue(1)), [['c1', 1]]);
        assert.deepEqual(pairs(await enqueue(2)), [['c2', 2]]);
        // c2 goes back to the queue and rep 2 is excluded: rep 2 keeps a free slot while c2 waits.
        assert.deepEqual(await router.requeue(entry(2, { version: 3 }), 2, 2), []);
        assert.deepEqual(await router.transfer('c1', 1, 2), { ok: true, proposals: [proposal(entry(2, { version: 3 }), 1)] });
        assert.deepEqual(await queueIds(), []);
      });
    });

    describe('requeue', () => {
      it('puts a conversation back at its original place, and does not offer it to excludeRep in that dispatch', async () => {
        await router.setRep(slot(1, 1));
        await router.setRep(slot(2, 1));
        assert.deepEqual(pairs(await enqueue(1)), [['c1', 1]]);
        assert.deepEqual(pairs(await enqueue(2)), [['c2', 2]]);
        await enqueue(3);
        await enqueue(4);
        // c1 goes back ahead of c3 and c4; rep 1 is excluded for c1, so its freed slot takes c3.
        assert.deepEqual(await router.requeue(entry(1, { version: 3 }), 1, 1), [proposal(entry(3), 1)]);
        assert.deepEqual(await router.queue(), [entry(1, { version: 3 }), entry(4)]);
        // The exclusion lasted one dispatch: the next free slot takes c1 first.
        assert.deepEqual(await router.releaseAndDispatch('c3', 1), [proposal(entry(1, { version: 3 }), 1)]);
        assert.deepEqual(await queueIds(), ['c4']);
      });

      it('offers a requeued conversation straight back when no rep is excluded', async () => {
        await router.setRep(slot(1, 1));
        await enqueue(1);
        await enqueue(2);
        assert.deepEqual(await router.requeue(entry(1, { version: 3 }), 1), [proposal(entry(1, { version: 3 }), 1)]);
        assert.deepEqual(await queueIds(), ['c2']);
      });

      it('offers an excluded conversation to another rep with a free slot', async () => {
        await router.setRep(slot(1, 1));
        assert.deepEqual(pairs(await enqueue(1)), [['c1', 1]]);
        await router.setRep(slot(2, 1));
        assert.deepEqual(await router.requeue(entry(1, { version: 3 }), 1, 1), [proposal(entry(1, { version: 3 }), 2)]);
        assert.deepEqual(await queueIds(), []);
      });

      it("releases all of a rep's conversations on requeueRep and queues them at their places", async () => {
        await router.setRep(slot(1, 2));
        await router.setRep(slot(2, 1));
        assert.deepEqual(pairs(await enqueue(1)), [['c1', 1]]);
        assert.deepEqual(pairs(await enqueue(2)), [['c2', 2]]);
        assert.deepEqual(pairs(await enqueue(4)), [['c4', 1]]);
        await enqueue(3);
        await enqueue(5);
        assert.deepEqual(await router.requeueRep(slot(1, 2, { status: 'offline' }), [entry(1, { version: 3 }), entry(4, { version: 3 })]), []);
        assert.deepEqual(await router.queue(), [entry(1, { version: 3 }), entry(3), entry(4, { version: 3 }), entry(5)]);
        assert.deepEqual(await router.transfer('c2', 2, 1), { ok: false, proposals: [], refused: 'rep' }, 'rep 1 is offline');
        assert.deepEqual(pairs(await router.setRep(slot(1, 2))), [
          ['c1', 1],
          ['c3', 1],
        ]);
        assert.deepEqual(await queueIds(), ['c4', 'c5']);
      });

      it('requeueRep to a status that can take chats dispatches at once, and skips stale entries', async () => {
        await router.setRep(slot(1, 1));
        await enqueue(1, { version: 4 });
        await enqueue(2);
        assert.deepEqual(await router.requeueRep(slot(1, 1, { status: 'online' }), [entry(1, { version: 3 })]), [proposal(entry(2), 1)]);
        assert.deepEqual(await queueIds(), [], 'the stale entry for c1 was not queued');
      });
    });

    describe('reject', () => {
      it('puts a refused conversation back in the queue and dispatches again', async () => {
        await router.setRep(slot(1, 1));
        const [p] = await enqueue(1);
        await enqueue(2);
        assert.deepEqual(await router.reject(p, { requeue: entry(1, { version: 2 }) }), [proposal(entry(1, { version: 2 }), 1)]);
        assert.deepEqual(await queueIds(), ['c2']);
      });

      it('drops a refused conversation that the store no longer has queued, freeing the slot', async () => {
        await router.setRep(slot(1, 1));
        const [p] = await enqueue(1);
        await enqueue(2);
        assert.deepEqual(await router.reject(p, { requeue: null }), [proposal(entry(2), 1)]);
        assert.deepEqual(await queueIds(), []);
      });

      it("applies the store's view of the rep, and offers the conversation to another rep", async () => {
        await router.setRep(slot(1, 2));
        await router.setRep(slot(2, 1, { status: 'away' }));
        const [p] = await enqueue(1);
        assert.equal(p.repId, 1);
        assert.deepEqual(await router.reject(p, { requeue: entry(1, { version: 2 }), rep: slot(1, 2, { status: 'away' }) }), []);
        assert.deepEqual(await queueIds(), ['c1']);
        assert.deepEqual(pairs(await router.setRep(slot(2, 1))), [['c1', 2]]);
      });

      it('does not offer again a rep that the store reports full', async () => {
        await router.setRep(slot(1, 2));
        const [p] = await enqueue(1);
        assert.deepEqual(await router.reject(p, { requeue: entry(1, { version: 2 }), rep: slot(1, 2, { load: 2 }) }), []);
        assert.deepEqual(await queueIds(), ['c1']);
      });

      it('applies a rep fix whose capacity was lowered', async () => {
        await router.setRep(slot(1, 3));
        await router.setRep(slot(2, 1));
        const [p] = await enqueue(1);
        assert.equal(p.repId, 1);
        assert.deepEqual(pairs(await router.reject(p, { requeue: entry(1, { version: 2 }), rep: slot(1, 0) })), [['c1', 2]]);
        assert.deepEqual(await enqueue(2), []);
      });
    });

    describe('rebuild', () => {
      it('restores the queue order, the loads and the held assignments from a snapshot', async () => {
        await router.setRep(slot(7, 9));
        await enqueue(99);
        await router.rebuild(
          snapshotOf(
            // Profile loads are ignored: the router counts the assignments it is given.
            [slot(1, 2, { lastAssignedAt: 5000 }), slot(2, 1, { load: 2 }), slot(3, 3, { status: 'away', lastAssignedAt: 100 })],
            [entry(6), entry(3), entry(5, { version: 4 })],
            [
              [entry(1, { version: 2 }), 1],
              [entry(2, { version: 2 }), 2],
              [entry(4, { version: 2 }), 3],
            ],
          ),
        );
        assert.deepEqual(await router.queue(), [entry(3), entry(5, { version: 4 }), entry(6)], 'the old state is gone');
        assert.deepEqual(await router.stats(), { length: 3, oldestQueuedAt: entry(3).queuedAt });
        // Rebuild does not dispatch. Rep 2 holds c2; rep 1 holds c1 and has one free slot.
        assert.deepEqual(await router.transfer('c2', 2, 1), { ok: true, proposals: [proposal(entry(3), 2)] });
        assert.deepEqual(await router.setRep(slot(1, 2)), [], 'rep 1 holds c1 and c2');
        assert.deepEqual(await router.releaseAndDispatch('c1', 1), [proposal(entry(5, { version: 4 }), 1)]);
        assert.deepEqual(await router.releaseAndDispatch('c4', 3), [], 'rep 3 is away');
        assert.deepEqual(await router.setRep(slot(3, 3)), [proposal(entry(6), 3)]);
        assert.deepEqual(await router.setRep(slot(7, 9)), [], 'rep 7 was not in the snapshot; it comes back empty');
        assert.deepEqual(pairs(await enqueue(10)), [['c10', 7]]);
      });

      it('holds what the snapshot says is assigned', async () => {
        await router.rebuild(
          snapshotOf(
            [slot(1, 2, { lastAssignedAt: 5000 }), slot(2, 1), slot(3, 1, { status: 'away' })],
            [entry(5), entry(3)],
            [
              [entry(1, { version: 2 }), 1],
              [entry(4, { version: 2 }), 3],
            ],
          ),
        );
        assert.deepEqual(await router.queue(), [entry(3), entry(5)]);
        // Rebuild does not dispatch; the next operation does: rep 2 (1 free, never assigned) then rep 1.
        assert.deepEqual(pairs(await router.setRep(slot(3, 1, { status: 'away' }))), [
          ['c3', 2],
          ['c5', 1],
        ]);
        assert.deepEqual(await router.transfer('c4', 3, 1), { ok: false, proposals: [], refused: 'rep' }, 'rep 1 is full: c1 + c5');
        assert.deepEqual(await router.releaseAndDispatch('c1', 1), []);
        assert.deepEqual(await router.transfer('c4', 3, 1), { ok: true, proposals: [] }, 'rep 3 held c4');
        assert.deepEqual(await router.remove('c4'), undefined);
        assert.deepEqual(pairs(await enqueue(8)), [['c8', 1]], 'removing the held c4 freed rep 1');
        assert.deepEqual(await enqueue(4, { version: 1 }), [], 'versions came from the snapshot: c4 at version 1 is stale');
        assert.deepEqual(await queueIds(), []);
      });
    });

    describe('load', () => {
      it('proposes exactly the total capacity for 200 enqueues, never over a rep capacity, and keeps the rest in order', async () => {
        const caps = new Map([
          [1, 3],
          [2, 5],
          [3, 6],
          [4, 7],
          [5, 9],
        ]);
        for (const [id, cap] of caps) await router.setRep(slot(id, cap));
        // A fixed shuffle of 1..200, sent all at once.
        const order = Array.from({ length: 200 }, (_, i) => ((i * 73) % 200) + 1);
        const results = await Promise.all(order.map((n) => enqueue(n)));
        const all = results.flat();
        assert.equal(all.length, 30);
        assert.equal(new Set(all.map((p) => p.conversationId)).size, 30, 'no conversation proposed twice');
        const perRep = new Map<number, number>();
        for (const p of all) perRep.set(p.repId, (perRep.get(p.repId) ?? 0) + 1);
        for (const [id, cap] of caps) assert.equal(perRep.get(id), cap, `rep ${id} filled to its capacity`);
        const queued = await router.queue();
        assert.equal(queued.length, 170);
        const seqs = queued.map((e) => e.queueSeq);
        assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b));
        const proposed = new Set(all.map((p) => p.conversationId));
        assert.deepEqual(new Set([...queued.map((e) => e.conversationId), ...proposed]).size, 200, 'nothing lost');
        assert.deepEqual(await router.stats(), { length: 170, oldestQueuedAt: queued[0].queuedAt });
      });
    });
  });
}
