// Store contract cases for the router-first enqueue: a conversation enqueued at the place the router admitted
// it (Router.admit), only at the version it was read at; the queue_seq floor a rebuilt router starts above; the
// queue's digest the reconciler compares. Run inside the Store contract (both dialects).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NewUser, Store } from '../../src/store/port.ts';

const newUser = (): NewUser => {
  const username = `qp_${randomUUID().slice(0, 12)}`;
  return { username, email: `${username}@example.com`, firstName: 'First', lastName: 'Last', passwordHash: 'scrypt$stub' };
};

export function queuePlaceCases(store: () => Store, tick: () => number): void {
  describe('enqueue at an admitted place', () => {
    it('takes the queue_seq it is given, only at the version read, and raises the floor to it', async () => {
      const s = store();
      const cust = (await s.createCustomer(newUser(), 5551234)).profile;
      const a = await s.createConversation(cust.id, tick());
      const floor = (await s.routingSnapshot()).queueSeqFloor;
      assert.equal(await s.enqueue(a.id, tick(), { queueSeq: floor + 500, fromVersion: a.version + 1 }), undefined, 'enqueued at a version it was not read at');
      const q = await s.enqueue(a.id, tick(), { queueSeq: floor + 500, fromVersion: a.version });
      assert.equal(q?.status, 'queued');
      assert.equal(q?.queueSeq, floor + 500);
      assert.equal(q?.version, a.version + 1);
      assert.equal((await s.routingSnapshot()).queueSeqFloor, floor + 500);
      // A lower place later does not lower the floor; the store's own next seq goes above it.
      const b = await s.createConversation(cust.id, tick());
      await s.enqueue(b.id, tick(), { queueSeq: floor + 10, fromVersion: b.version });
      assert.equal((await s.routingSnapshot()).queueSeqFloor, floor + 500);
      const c = await s.enqueue((await s.createConversation(cust.id, tick())).id, tick());
      assert.ok(c!.queueSeq! > floor + 500);
    });

    it('refuses a place read at an older version, after the conversation moved on and came back to abandoned', async () => {
      const s = store();
      const cust = (await s.createCustomer(newUser(), 5551235)).profile;
      const a = await s.createConversation(cust.id, tick());
      const floor = (await s.routingSnapshot()).queueSeqFloor;
      const queued = await s.enqueue(a.id, tick(), { queueSeq: floor + 1, fromVersion: a.version });
      const abandoned = await s.abandon(a.id, queued!.version, tick());
      assert.equal(abandoned?.status, 'abandoned');
      assert.equal(await s.enqueue(a.id, tick(), { queueSeq: floor + 2, fromVersion: a.version }), undefined, 'enqueued at a version older than the current one');
      assert.equal((await s.getConversation(a.id))?.status, 'abandoned', 'the refused enqueue changed nothing');
      const back = await s.enqueue(a.id, tick(), { queueSeq: floor + 3, fromVersion: abandoned!.version });
      assert.equal(back?.queueSeq, floor + 3);
    });

    it('gives the queue digest (count and queue_seq sum of the queued), and leaves the queue out of a light snapshot', async () => {
      const s = store();
      const before = await s.queueDigest();
      const cust = (await s.createCustomer(newUser(), 5551234)).profile;
      const seqs: number[] = [];
      for (let i = 0; i < 3; i++) seqs.push((await s.enqueue((await s.createConversation(cust.id, tick())).id, tick()))!.queueSeq!);
      const after = await s.queueDigest();
      assert.equal(after.length - before.length, 3);
      assert.equal(after.seqSum - before.seqSum, seqs[0] + seqs[1] + seqs[2]);
      const light = await s.routingSnapshot({ queue: false });
      assert.deepEqual(light.queue, []);
      assert.equal((await s.routingSnapshot()).queue.length, after.length);
    });
  });
}
