// Store contract cases for deleting data on purpose, run inside the Store contract (both dialects): the
// retention batch (closed conversations past a cutoff, with their messages, oldest first, a bounded number
// at a time) and one customer's export and erasure.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NewUser, Store } from '../../src/store/port.ts';
import type { Conversation } from '../../src/domain/types.ts';

const newUser = (prefix: string): NewUser => {
  const username = `${prefix}_${randomUUID().slice(0, 8)}`;
  return { username, email: `${username}@example.com`, firstName: 'F', lastName: 'L', passwordHash: 'scrypt$stub' };
};
// Long before the rest of the contract's clock (2026 on), so that these cutoffs touch only these cases' rows.
const DAY = 86_400_000;
const T0 = Date.UTC(2000, 0, 1);

export function retentionCases(store: () => Store): void {
  const s = () => store();

  async function conversationWithMessages(customer: { user: { id: number }; profile: { id: number } }, at: number, texts: string[], rep?: { userId: number; id: number }) {
    const c = await s().createConversation(customer.profile.id, at);
    if (rep) {
      assert.ok(await s().enqueue(c.id, at));
      assert.equal((await s().assign(c.id, rep.id, at)).ok, true);
    }
    for (const [i, text] of texts.entries()) {
      const author = rep && i % 2 === 1 ? rep.userId : customer.user.id;
      const r = await s().appendMessage({ conversationId: c.id, authorId: author, text, clientId: null, timestamp: at + i, repId: author === rep?.userId ? rep.id : undefined });
      assert.equal(r.kind, 'stored', text);
    }
    return c;
  }

  const closedAt = async (customer: Parameters<typeof conversationWithMessages>[0], at: number, texts = ['a', 'b']) => {
    const c = await conversationWithMessages(customer, at - DAY, texts);
    assert.ok(await s().closeConversation(c.id, 'customer', at));
    return c;
  };
  const gone = async (c: Conversation) => (await s().getConversation(c.id)) === undefined && (await s().listMessages(c.id)).length === 0;

  describe('retention and erasure', () => {
    it('deletes closed conversations closed before the cutoff with their messages, oldest first, at most `limit` a batch', async () => {
      const customer = await s().createCustomer(newUser('ret'), 1);
      // Five old ones closed in this order (oldest first), one closed just after the cutoff.
      const old = [];
      for (let i = 0; i < 5; i++) old.push(await closedAt(customer, T0 + i * 1000, ['x', 'y', 'z']));
      const cutoff = T0 + 10 * DAY;
      const recent = await closedAt(customer, cutoff + 1);
      assert.equal(await s().retention.deleteClosedBefore(cutoff, 2), 2);
      assert.deepEqual(await Promise.all(old.map(gone)), [true, true, false, false, false], 'the two oldest went first');
      assert.equal((await s().listMessages(old[2].id)).length, 3, 'the rest keep their messages');
      assert.equal(await s().retention.deleteClosedBefore(cutoff, 2), 2);
      assert.equal(await s().retention.deleteClosedBefore(cutoff, 2), 1);
      assert.equal(await s().retention.deleteClosedBefore(cutoff, 2), 0);
      assert.ok((await Promise.all(old.map(gone))).every(Boolean));
      assert.equal((await s().getConversation(recent.id))?.status, 'closed', 'closed after the cutoff: kept');
      assert.equal((await s().listMessages(recent.id)).length, 2);
    });

    it('never deletes an open conversation, however old: new, queued, assigned, abandoned', async () => {
      const customer = await s().createCustomer(newUser('ret'), 1);
      const rep = await s().createRep(newUser('retrep'), 3);
      const at = T0 + 100;
      const fresh = await conversationWithMessages(customer, at, ['new one']);
      const queued = await conversationWithMessages(customer, at, ['queued one']);
      assert.ok(await s().enqueue(queued.id, at));
      const assigned = await conversationWithMessages(customer, at, ['assigned', 'reply'], { userId: rep.user.id, id: rep.profile.id });
      const abandoned = await conversationWithMessages(customer, at, ['left']);
      const q = await s().enqueue(abandoned.id, at);
      assert.ok(q && (await s().abandon(abandoned.id, q.version, at)));
      const cutoff = T0 + 1000 * DAY;
      while ((await s().retention.deleteClosedBefore(cutoff, 100)) > 0);
      for (const [c, status, n] of [[fresh, 'new', 1], [queued, 'queued', 1], [assigned, 'assigned', 2], [abandoned, 'abandoned', 1]] as const) {
        assert.equal((await s().getConversation(c.id))?.status, status, status);
        assert.equal((await s().listMessages(c.id)).length, n, `${status} keeps its messages`);
      }
      assert.equal(await s().hasHeld(assigned.id, rep.profile.id), true);
      // Out of the way of the other cases (the queue, the rep's load), closed after the cutoff.
      for (const c of [fresh, queued, assigned, abandoned]) await s().closeConversation(c.id, 'admin', cutoff + 1);
    });

    it("exports one customer's profile and every conversation with its whole history, and nobody else's", async () => {
      const customer = await s().createCustomer(newUser('exp'), 5550123);
      const other = await s().createCustomer(newUser('exp'), 1);
      const rep = await s().createRep(newUser('exprep'), 3);
      const first = await conversationWithMessages(customer, T0 + 1, ['hello', 'hi, how can I help?', 'thanks'], { userId: rep.user.id, id: rep.profile.id });
      await s().closeConversation(first.id, 'rep', T0 + 50);
      const second = await conversationWithMessages(customer, T0 + 100, ['still there?']);
      await conversationWithMessages(other, T0 + 2, ['not yours']);
      const data = await s().retention.exportCustomer(customer.user.id);
      assert.ok(data);
      assert.equal(data.customerId, customer.profile.id);
      assert.equal(data.phoneNumber, 5550123);
      assert.deepEqual(data.conversations.map((c) => [c.id, c.status]), [[first.id, 'closed'], [second.id, 'new']]);
      assert.deepEqual(
        data.conversations[0].messages.map((m) => [m.seq, m.username, m.text]),
        [
          [1, customer.user.username, 'hello'],
          [2, rep.user.username, 'hi, how can I help?'],
          [3, customer.user.username, 'thanks'],
        ],
      );
      assert.deepEqual(data.conversations[1].messages.map((m) => m.text), ['still there?']);
      assert.equal(await s().retention.exportCustomer(rep.user.id), undefined, 'a rep is no customer');
      assert.equal(await s().retention.exportCustomer(987654321), undefined);
      await s().closeConversation(second.id, 'admin', T0 + 200);
    });

    it("erasure deletes the customer's conversations, messages, tokens and account, and nothing of anyone else's", async () => {
      const customer = await s().createCustomer(newUser('era'), 1);
      const other = await s().createCustomer(newUser('era'), 2);
      const rep = await s().createRep(newUser('erarep'), 3);
      const repSide = { userId: rep.user.id, id: rep.profile.id };
      const mine = [await closedAt(customer, T0 + 10), await closedAt(customer, T0 + 20)];
      const shared = await conversationWithMessages(customer, T0 + 30, ['q', 'a'], repSide);
      await s().closeConversation(shared.id, 'admin', T0 + 40);
      const theirs = await conversationWithMessages(other, T0 + 30, ['q', 'a'], repSide);
      const jti = randomUUID();
      await s().insertRefreshToken({ jti, familyId: 'erase', userId: customer.user.id, expiresAt: Date.now() + 60_000 });
      const otherJti = randomUUID();
      await s().insertRefreshToken({ jti: otherJti, familyId: 'keep', userId: other.user.id, expiresAt: Date.now() + 60_000 });

      assert.equal(await s().retention.deleteCustomer(customer.user.id), true);
      for (const c of [...mine, shared]) assert.ok(await gone(c), c.id);
      assert.equal(await s().getIdentity(customer.user.id), undefined);
      assert.equal(await s().findUserByUsername(customer.user.username), undefined);
      assert.equal(await s().getCustomer(customer.profile.id), undefined);
      assert.equal((await s().consumeRefreshToken(jti, Date.now())).kind, 'unknown', 'its refresh tokens are gone');
      assert.equal(await s().retention.exportCustomer(customer.user.id), undefined);
      assert.equal(await s().retention.deleteCustomer(customer.user.id), false, 'a second erasure finds nothing');

      assert.equal((await s().getConversation(theirs.id))?.status, 'assigned', "another customer's chat is untouched");
      assert.deepEqual((await s().listMessages(theirs.id)).map((m) => m.text), ['a', 'q']);
      assert.equal((await s().getIdentity(other.user.id))?.customer?.id, other.profile.id);
      assert.equal((await s().consumeRefreshToken(otherJti, Date.now())).kind, 'ok', "another customer's token still works");
      assert.equal((await s().getIdentity(rep.user.id))?.rep?.id, rep.profile.id, 'the rep is untouched');
      await s().closeConversation(theirs.id, 'admin', T0 + 50);
    });
  });
}
