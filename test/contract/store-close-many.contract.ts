// Store contract cases for closeAndAssignMany: several closes, each with the assignments of the slot it
// frees, in one transaction; each is closeAndAssign's conditional close, decided on its own, in order.
// Run inside the Store contract (both dialects).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NewUser, Store } from '../../src/store/port.ts';
import type { Conversation } from '../../src/domain/types.ts';

const newUser = (): NewUser => {
  const username = `cm_${randomUUID().slice(0, 12)}`;
  return { username, email: `${username}@example.com`, firstName: 'First', lastName: 'Last', passwordHash: 'scrypt$stub' };
};

export function closeManyCases(store: () => Store, tick: () => number): void {
  describe('closeAndAssignMany', () => {
    const setup = async (reps: number) => {
      const s = store();
      const cust = (await s.createCustomer(newUser(), 5551234)).profile;
      const queue = async (): Promise<Conversation> => (await s.enqueue((await s.createConversation(cust.id, tick())).id, tick()))!;
      const held: Array<{ repId: number; conv: Conversation }> = [];
      for (let i = 0; i < reps; i++) {
        const rep = (await s.createRep(newUser(), 1)).profile;
        await s.updateRep(rep.id, { status: 'online' });
        const r = await s.assign((await queue()).id, rep.id, tick());
        assert.ok(r.ok);
        held.push({ repId: rep.id, conv: r.conversation });
      }
      return { s, queue, held };
    };

    it('closes each in order and assigns each one its proposal, as lone closes would', async () => {
      const { s, queue, held } = await setup(3);
      const next = [await queue(), await queue(), await queue()];
      const order: string[] = [];
      const at = tick();
      const out = await s.closeAndAssignMany(
        held.map((h, k) => ({
          conversationId: h.conv.id,
          by: 'rep' as const,
          heldBy: h.repId,
          next: async (before: Conversation) => {
            order.push(before.id);
            return [{ conversationId: next[k].id, repId: h.repId }];
          },
        })),
        at,
      );
      assert.deepEqual(order, held.map((h) => h.conv.id), 'next ran for each close, in the order given');
      assert.equal(out.length, 3);
      for (const [k, h] of held.entries()) {
        const o = out[k];
        assert.ok(o, `close ${k}`);
        assert.deepEqual(o.before, h.conv);
        const res = o.assigned[0].result;
        assert.ok(res.ok);
        assert.equal(res.conversation.id, next[k].id);
        assert.equal(res.conversation.repId, h.repId);
        assert.equal((await s.getConversation(h.conv.id))?.status, 'closed');
        assert.equal((await s.getConversation(h.conv.id))?.version, h.conv.version + 1);
        assert.equal((await s.getConversation(next[k].id))?.status, 'assigned');
        assert.equal((await s.getRep(h.repId))?.load, 1);
      }
    });

    it('a refused close changes nothing and never calls next; the others commit', async () => {
      const { s, queue, held } = await setup(3);
      const next = await queue();
      const called: string[] = [];
      const out = await s.closeAndAssignMany(
        [
          { conversationId: held[0].conv.id, by: 'rep' as const, heldBy: held[0].repId, next: async (b: Conversation) => (called.push(b.id), []) },
          // Not this rep's chat: refused.
          { conversationId: held[2].conv.id, by: 'rep' as const, heldBy: held[1].repId, next: async (b: Conversation) => (called.push(b.id), []) },
          // Closed just above, in the same transaction: refused.
          { conversationId: held[0].conv.id, by: 'rep' as const, heldBy: held[0].repId, next: async (b: Conversation) => (called.push(b.id), []) },
          { conversationId: held[1].conv.id, by: 'rep' as const, heldBy: held[1].repId, next: async (b: Conversation) => (called.push(b.id), [{ conversationId: next.id, repId: held[1].repId }]) },
        ],
        tick(),
      );
      assert.deepEqual(
        out.map((o) => o !== undefined),
        [true, false, false, true],
      );
      assert.deepEqual(called, [held[0].conv.id, held[1].conv.id]);
      assert.deepEqual(await s.getConversation(held[2].conv.id), held[2].conv, 'the refused close changed nothing');
      assert.equal((await s.getRep(held[2].repId))?.load, 1);
      assert.equal((await s.getRep(held[0].repId))?.load, 0);
      assert.equal((await s.getConversation(next.id))?.repId, held[1].repId);
    });

    it('a refused assignment undoes only itself; an error undoes every close', async () => {
      const { s, queue, held } = await setup(2);
      const next = await queue();
      // Both closes propose the same conversation: the second assignment is refused (no longer queued).
      const out = await s.closeAndAssignMany(
        held.map((h) => ({ conversationId: h.conv.id, by: 'rep' as const, heldBy: h.repId, next: async () => [{ conversationId: next.id, repId: h.repId }] })),
        tick(),
      );
      assert.equal(out[0]?.assigned[0].result.ok, true);
      assert.deepEqual(out[1]?.assigned[0].result, { ok: false, reason: 'conversation' });
      assert.equal((await s.getRep(held[1].repId))?.load, 0, 'the refused assignment took no slot');
      assert.equal((await s.getConversation(held[1].conv.id))?.status, 'closed');

      const more = await setup(2);
      await assert.rejects(
        more.s.closeAndAssignMany(
          [
            { conversationId: more.held[0].conv.id, by: 'rep' as const, heldBy: more.held[0].repId, next: async () => [] },
            {
              conversationId: more.held[1].conv.id,
              by: 'rep' as const,
              heldBy: more.held[1].repId,
              next: async () => {
                throw new Error('router down');
              },
            },
          ],
          tick(),
        ),
        /router down/,
      );
      for (const h of more.held) {
        assert.deepEqual(await more.s.getConversation(h.conv.id), h.conv, 'nothing committed');
        assert.equal((await more.s.getRep(h.repId))?.load, 1);
      }
    });
  });
}
