// Store contract cases for closeAndAssign: a close and the assignments of the slot it frees, in one
// transaction whose conditional updates still decide. Run inside the Store contract (both dialects).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NewUser, Store } from '../../src/store/port.ts';
import type { Conversation } from '../../src/domain/types.ts';
import type { Kysely } from 'kysely';
import type { Database } from '../../src/store/schema.ts';

const newUser = (): NewUser => {
  const username = `ca_${randomUUID().slice(0, 12)}`;
  return { username, email: `${username}@example.com`, firstName: 'First', lastName: 'Last', passwordHash: 'scrypt$stub' };
};

/** The assigned and closed events stored for these conversations, in the order written (both adapters are SqlStores). */
export async function storedEvents(s: Store, ids: string[]): Promise<string[]> {
  const db = (s as unknown as { db: Kysely<Database> }).db;
  const rows = await db.selectFrom('conversation_events').select(['conversation_id', 'kind', 'rep_id']).where('conversation_id', 'in', ids).where('kind', 'in', ['assigned', 'closed']).orderBy('id').execute();
  return rows.map((r) => `${r.kind} ${ids.indexOf(r.conversation_id)} ${r.rep_id}`);
}

export function closeAndAssignCases(store: () => Store, tick: () => number): void {
  describe('closeAndAssign', () => {
    const setup = async (capacity = 1) => {
      const s = store();
      const cust = (await s.createCustomer(newUser(), 5551234)).profile;
      const rep = (await s.createRep(newUser(), capacity)).profile;
      await s.updateRep(rep.id, { status: 'online' });
      const queue = async (): Promise<Conversation> => (await s.enqueue((await s.createConversation(cust.id, tick())).id, tick()))!;
      const held = await queue();
      const r = await s.assign(held.id, rep.id, tick());
      assert.equal(r.ok, true);
      return { s, cust, rep, queue, held: r.ok ? r.conversation : held };
    };

    it('closes, frees the slot and assigns the proposal in one step', async () => {
      const { s, rep, queue, held } = await setup();
      const next = await queue();
      const seen: Conversation[] = [];
      const at = tick();
      const out = await s.closeAndAssign(held.id, 'rep', at, rep.id, async (before) => {
        seen.push(before);
        return [{ conversationId: next.id, repId: rep.id, tag: 'x' }];
      });
      assert.ok(out);
      assert.deepEqual(out.before, held, 'the conversation as it was before the close');
      assert.deepEqual(seen, [held], 'next sees the same');
      assert.equal(out.assigned.length, 1);
      assert.equal(out.assigned[0].proposal.tag, 'x', 'the proposal comes back as given');
      const res = out.assigned[0].result;
      assert.equal(res.ok, true);
      if (!res.ok) return;
      assert.equal(res.conversation.id, next.id);
      assert.equal(res.conversation.status, 'assigned');
      assert.equal(res.conversation.assignedAt, at);
      assert.equal(res.rep.load, 1);
      const closed = await s.getConversation(held.id);
      assert.equal(closed?.status, 'closed');
      assert.equal(closed?.closedBy, 'rep');
      assert.equal(closed?.version, held.version + 1);
      assert.deepEqual(await s.getConversation(next.id), res.conversation);
      assert.equal((await s.getRep(rep.id))?.load, 1);
      assert.equal(await s.hasHeld(next.id, rep.id), true);
      assert.deepEqual((await s.assignedTo(rep.id)).map((c) => c.id), [next.id]);
      assert.deepEqual(await storedEvents(s, [held.id, next.id]), [`assigned 0 ${rep.id}`, `closed 0 ${rep.id}`, `assigned 1 ${rep.id}`]);
    });

    it('a refused proposal changes nothing, and the close and the other proposals still commit', async () => {
      const { s, cust, rep, queue, held } = await setup();
      const full = (await s.createRep(newUser(), 0)).profile;
      await s.updateRep(full.id, { status: 'online' });
      const waiting = await queue();
      const next = await queue();
      const fresh = await s.createConversation(cust.id, tick());
      const out = await s.closeAndAssign(held.id, 'customer', tick(), undefined, async () => [
        { conversationId: fresh.id, repId: rep.id },
        { conversationId: waiting.id, repId: full.id },
        { conversationId: next.id, repId: rep.id },
      ]);
      assert.ok(out);
      assert.deepEqual(
        out.assigned.map((a) => (a.result.ok ? 'ok' : a.result.reason)),
        ['conversation', 'rep', 'ok'],
      );
      assert.deepEqual(await s.getConversation(fresh.id), fresh, 'a conversation that was not queued is untouched');
      assert.deepEqual(await s.getConversation(waiting.id), waiting, 'refused by the rep: the conversation stays queued as it was');
      assert.equal((await s.getRep(full.id))?.load, 0);
      assert.equal(await s.hasHeld(waiting.id, full.id), false);
      assert.equal((await s.getConversation(held.id))?.status, 'closed');
      assert.equal((await s.getConversation(next.id))?.repId, rep.id);
      assert.equal((await s.getRep(rep.id))?.load, 1);
      // A refused assignment leaves no event behind; the close's and the one that committed are stored, in order.
      assert.deepEqual(await storedEvents(s, [held.id, fresh.id, waiting.id, next.id]), [`assigned 0 ${rep.id}`, `closed 0 ${rep.id}`, `assigned 3 ${rep.id}`]);
    });

    it('refuses a close the store would refuse, without calling next or changing anything', async () => {
      const { s, rep, queue, held } = await setup(2);
      const other = (await s.createRep(newUser(), 2)).profile;
      const next = await queue();
      let called = 0;
      const propose = async () => {
        called++;
        return [{ conversationId: next.id, repId: rep.id }];
      };
      assert.equal(await s.closeAndAssign(held.id, 'rep', tick(), other.id, propose), undefined, 'not the holder');
      assert.equal(await s.closeAndAssign(next.id, 'rep', tick(), rep.id, propose), undefined, 'a queued chat has no holder');
      assert.equal(await s.closeAndAssign(randomUUID(), 'system', tick(), undefined, propose), undefined, 'no such conversation');
      assert.equal(called, 0);
      assert.deepEqual(await s.getConversation(held.id), held);
      assert.deepEqual(await s.getConversation(next.id), next);
      assert.equal((await s.getRep(rep.id))?.load, 1);
      assert.ok(await s.closeAndAssign(held.id, 'rep', tick(), rep.id, async () => []));
      assert.equal(await s.closeAndAssign(held.id, 'rep', tick(), rep.id, propose), undefined, 'already closed');
      assert.equal(called, 0);
      assert.equal((await s.getRep(rep.id))?.load, 0);
    });

    it('closes a queued conversation without touching any rep, and passes it to next', async () => {
      const { s, rep, queue } = await setup();
      const q = await queue();
      const out = await s.closeAndAssign(q.id, 'system', tick(), undefined, async (before) => {
        assert.equal(before.status, 'queued');
        return [];
      });
      assert.deepEqual(out, { before: q, assigned: [] });
      assert.equal((await s.getConversation(q.id))?.status, 'closed');
      assert.equal((await s.getRep(rep.id))?.load, 1);
    });

    it('when next fails, the close is undone as well', async () => {
      const { s, rep, queue, held } = await setup();
      const next = await queue();
      await assert.rejects(
        s.closeAndAssign(held.id, 'rep', tick(), rep.id, async () => {
          throw new Error('router down');
        }),
        /router down/,
      );
      assert.deepEqual(await s.getConversation(held.id), held);
      assert.deepEqual(await s.getConversation(next.id), next);
      assert.equal((await s.getRep(rep.id))?.load, 1);
    });

    it('closes once and assigns once when several callers close the same conversation at once', async () => {
      const { s, rep, queue, held } = await setup();
      const next = await queue();
      let called = 0;
      const results = await Promise.all(
        Array.from({ length: 5 }, () =>
          s.closeAndAssign(held.id, 'rep', tick(), rep.id, async () => {
            called++;
            return [{ conversationId: next.id, repId: rep.id }];
          }),
        ),
      );
      assert.equal(results.filter((r) => r !== undefined).length, 1);
      assert.equal(called, 1);
      assert.equal((await s.getRep(rep.id))?.load, 1);
      assert.equal((await s.getConversation(next.id))?.repId, rep.id);
    });
  });
}
