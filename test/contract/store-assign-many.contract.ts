// Store contract cases for assignMany: several assignments in one transaction, each assign()'s conditional
// update decided on its own and seeing the ones before it. Run inside the Store contract (both dialects).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NewUser, Store } from '../../src/store/port.ts';
import type { Conversation } from '../../src/domain/types.ts';
import { storedEvents } from './store-close-assign.contract.ts';

const newUser = (): NewUser => {
  const username = `am_${randomUUID().slice(0, 12)}`;
  return { username, email: `${username}@example.com`, firstName: 'First', lastName: 'Last', passwordHash: 'scrypt$stub' };
};

export function assignManyCases(store: () => Store, tick: () => number): void {
  describe('assignMany', () => {
    const setup = async (capacities: number[], queued: number) => {
      const s = store();
      const cust = (await s.createCustomer(newUser(), 5551234)).profile;
      const reps: number[] = [];
      for (const capacity of capacities) {
        const rep = (await s.createRep(newUser(), capacity)).profile;
        await s.updateRep(rep.id, { status: 'online' });
        reps.push(rep.id);
      }
      const convs: Conversation[] = [];
      for (let i = 0; i < queued; i++) convs.push((await s.enqueue((await s.createConversation(cust.id, tick())).id, tick()))!);
      return { s, reps, convs };
    };

    it('commits each in order, with its event, as lone assignments would', async () => {
      const { s, reps, convs } = await setup([2, 1], 3);
      const at = tick();
      const out = await s.assignMany(
        [
          { conversationId: convs[0].id, repId: reps[0] },
          { conversationId: convs[1].id, repId: reps[1] },
          { conversationId: convs[2].id, repId: reps[0] },
        ],
        at,
      );
      assert.deepEqual(
        out.map((r) => (r.ok ? [r.conversation.id, r.conversation.repId, r.conversation.status, r.rep.load] : r)),
        [
          [convs[0].id, reps[0], 'assigned', 1],
          [convs[1].id, reps[1], 'assigned', 1],
          [convs[2].id, reps[0], 'assigned', 2],
        ],
      );
      for (const [k, c] of convs.entries()) {
        const now = await s.getConversation(c.id);
        assert.equal(now?.status, 'assigned');
        assert.equal(now?.version, c.version + 1);
        assert.equal(now?.assignedAt, at);
        assert.equal(await s.hasHeld(c.id, k === 1 ? reps[1] : reps[0]), true);
      }
      assert.equal((await s.getRep(reps[0]))?.load, 2);
      assert.equal((await s.getRep(reps[1]))?.load, 1);
      assert.deepEqual(await storedEvents(s, convs.map((c) => c.id)), [`assigned 0 ${reps[0]}`, `assigned 1 ${reps[1]}`, `assigned 2 ${reps[0]}`]);
    });

    it('a refused one (rep full after an earlier one, or conversation no longer queued) changes nothing; the others commit', async () => {
      const { s, reps, convs } = await setup([1, 1], 3);
      const out = await s.assignMany(
        [
          { conversationId: convs[0].id, repId: reps[0] },
          // The earlier one in this transaction filled the rep: R1 refuses it.
          { conversationId: convs[1].id, repId: reps[0] },
          // Assigned just above: refused.
          { conversationId: convs[0].id, repId: reps[1] },
          { conversationId: convs[2].id, repId: reps[1] },
        ],
        tick(),
      );
      assert.deepEqual(
        out.map((r) => (r.ok ? r.conversation.id : r.reason)),
        [convs[0].id, 'rep', 'conversation', convs[2].id],
      );
      assert.deepEqual(await s.getConversation(convs[1].id), convs[1], 'the refused one changed nothing');
      assert.equal((await s.getConversation(convs[0].id))?.repId, reps[0]);
      assert.equal((await s.getRep(reps[0]))?.load, 1);
      assert.equal((await s.getRep(reps[1]))?.load, 1);
      assert.equal(await s.hasHeld(convs[0].id, reps[1]), false);
      assert.deepEqual(await storedEvents(s, convs.map((c) => c.id)), [`assigned 0 ${reps[0]}`, `assigned 2 ${reps[1]}`], 'no event for a refused one');
    });

    it('an offline rep refuses; an empty list commits nothing and answers nothing', async () => {
      const { s, reps, convs } = await setup([1], 1);
      await s.updateRep(reps[0], { status: 'offline' });
      assert.deepEqual(await s.assignMany([{ conversationId: convs[0].id, repId: reps[0] }], tick()), [{ ok: false, reason: 'rep' }]);
      assert.deepEqual(await s.getConversation(convs[0].id), convs[0]);
      assert.deepEqual(await s.assignMany([], tick()), []);
    });
  });
}
