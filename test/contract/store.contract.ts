// The Store contract: one suite of cases, run unchanged against every adapter (SQLite, PostgreSQL).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { UsernameTaken, type ConversationScope, type NewUser, type Store } from '../../src/store/port.ts';
import type { Conversation, CustomerProfile, RepProfile, User } from '../../src/domain/types.ts';
import { adminAccountCases } from './store-admin-accounts.contract.ts';
import { closeAndAssignCases } from './store-close-assign.contract.ts';
import { closeManyCases } from './store-close-many.contract.ts';
import { assignManyCases } from './store-assign-many.contract.ts';
import { queuePlaceCases } from './store-queue-place.contract.ts';
import { usernameCases } from './store-usernames.contract.ts';
import { retentionCases } from './store-retention.contract.ts';
import { reportingCases } from './store-reporting.contract.ts';
import { messageBatchCases } from './store-message-batches.contract.ts';

export type StoreFactory = () => Promise<{ store: Store; cleanup: () => Promise<void> }>;

export interface ContractOptions {
  /** A reason to skip the whole suite (e.g. the database is not reachable). */
  skip?: string | false;
}

let serial = 0;
const unique = (prefix: string) => `${prefix}_${process.pid}_${++serial}_${randomUUID().slice(0, 8)}`;

const newUser = (username = unique('u')): NewUser => ({
  username,
  email: `${username}@example.com`,
  firstName: 'First',
  lastName: 'Last',
  passwordHash: 'scrypt$stub',
});

/** A clock that only moves forward, so that every case gets distinct, ordered times. */
let clock = Date.UTC(2026, 0, 1);
const tick = (ms = 1) => (clock += ms);

export function storeContract(name: string, factory: StoreFactory, opts: ContractOptions = {}): void {
  describe(`Store contract: ${name}`, { skip: opts.skip || undefined }, () => {
    let store: Store;
    let cleanup: (() => Promise<void>) | undefined;

    before(async () => {
      const made = await factory();
      store = made.store;
      cleanup = made.cleanup;
    });

    after(async () => {
      await cleanup?.();
    });

    const customer = async (): Promise<{ user: User; profile: CustomerProfile }> => store.createCustomer(newUser(), 5551234);
    const rep = async (maxCapacity = 2): Promise<RepProfile> => (await store.createRep(newUser(), maxCapacity)).profile;
    const queued = async (customerId: number): Promise<Conversation> => {
      const c = await store.createConversation(customerId, tick());
      const q = await store.enqueue(c.id, tick());
      assert.ok(q, 'enqueue of a new conversation succeeds');
      return q;
    };
    const assigned = async (customerId: number, repId: number): Promise<Conversation> => {
      const c = await queued(customerId);
      const r = await store.assign(c.id, repId, tick());
      assert.equal(r.ok, true, 'assignment succeeds');
      return r.ok ? r.conversation : c;
    };
    const loadOf = async (repId: number) => (await store.getRep(repId))!.load;

    // ---- accounts

    adminAccountCases(() => store);
    closeAndAssignCases(() => store, tick);
    closeManyCases(() => store, tick);
    assignManyCases(() => store, tick);
    queuePlaceCases(() => store, tick);
    usernameCases(() => store);
    retentionCases(() => store);
    reportingCases(factory);
    messageBatchCases(() => store, tick);

    describe('accounts', () => {
      it('creates a customer with its profile and reads it back', async () => {
        const username = unique('cust');
        const { user, profile } = await store.createCustomer(newUser(username), 4155550100);
        assert.equal(user.username, username);
        assert.equal(user.role, 'customer');
        assert.equal(user.email, `${username}@example.com`);
        assert.equal(user.firstName, 'First');
        assert.equal(user.lastName, 'Last');
        assert.equal(user.tokenEpoch, 0);
        assert.equal(typeof user.id, 'number');
        assert.equal(profile.userId, user.id);
        assert.equal(profile.phoneNumber, 4155550100);

        const identity = await store.getIdentity(user.id);
        assert.deepEqual(identity, { user, customer: profile });

        const c = await store.getCustomer(profile.id);
        assert.deepEqual(c, { profile, user });

        const found = await store.findUserByUsername(username);
        assert.ok(found);
        assert.equal(found.id, user.id);
        assert.equal(found.passwordHash, 'scrypt$stub');
      });

      it('creates a rep online with load 0 and reads it back', async () => {
        const username = unique('rep');
        const { user, profile } = await store.createRep(newUser(username), 3);
        assert.equal(user.role, 'rep');
        assert.deepEqual(profile, { id: profile.id, userId: user.id, maxCapacity: 3, status: 'online', load: 0, lastAssignedAt: null, watched: false, offlineReason: null, presenceGen: 0 });
        // Why a rep is offline is kept: its own choice survives a console reconnect, presence's does not.
        assert.equal((await store.updateRep(profile.id, { status: 'offline' }))!.offlineReason, 'manual');
        assert.equal((await store.updateRep(profile.id, { status: 'offline', offlineReason: 'presence' }))!.offlineReason, 'presence');
        assert.equal((await store.updateRep(profile.id, { status: 'online' }))!.offlineReason, null);
        const identity = await store.getIdentity(user.id);
        assert.deepEqual(identity, { user, rep: profile });
        const withUser = await store.getRep(profile.id);
        assert.deepEqual(withUser, { ...profile, user });
        const all = await store.listReps();
        assert.deepEqual(
          all.find((r) => r.id === profile.id),
          { ...profile, user },
        );
        const ids = all.map((r) => r.id);
        assert.deepEqual(ids, [...ids].sort((a, b) => a - b), 'listReps is ordered by id');
      });

      it('creates an admin with no profile', async () => {
        const admin = await store.createAdmin(newUser());
        assert.equal(admin.role, 'admin');
        assert.deepEqual(await store.getIdentity(admin.id), { user: admin });
      });

      it('refuses a taken username with UsernameTaken, whatever the role, and stores nothing', async () => {
        const username = unique('dup');
        const first = await store.createCustomer(newUser(username), 1);
        await assert.rejects(store.createCustomer(newUser(username), 2), UsernameTaken);
        await assert.rejects(store.createRep(newUser(username), 2), UsernameTaken);
        await assert.rejects(store.createAdmin(newUser(username)), UsernameTaken);
        const found = await store.findUserByUsername(username);
        assert.equal(found?.id, first.user.id);
        assert.equal(found?.role, 'customer');
        const reps = await store.listReps();
        assert.equal(reps.filter((r) => r.user.username === username).length, 0, 'no rep profile was left behind');
      });

      it('lets exactly one of several concurrent registrations of one username through', async () => {
        const username = unique('race');
        const results = await Promise.allSettled(Array.from({ length: 6 }, (_, i) => store.createCustomer(newUser(username), i)));
        const ok = results.filter((r) => r.status === 'fulfilled');
        const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
        assert.equal(ok.length, 1);
        for (const f of failed) assert.ok(f.reason instanceof UsernameTaken, `expected UsernameTaken, got ${String(f.reason)}`);
      });

      it('answers undefined for unknown ids and names', async () => {
        assert.equal(await store.getIdentity(987654321), undefined);
        assert.equal(await store.getCustomer(987654321), undefined);
        assert.equal(await store.getRep(987654321), undefined);
        assert.equal(await store.findUserByUsername(unique('nobody')), undefined);
        assert.equal(await store.getConversation(randomUUID()), undefined);
        assert.equal(await store.getConversationWithLatest(randomUUID()), undefined);
      });

      it('bumps the token epoch', async () => {
        const { user } = await customer();
        await store.bumpTokenEpoch(user.id);
        await store.bumpTokenEpoch(user.id);
        assert.equal((await store.getIdentity(user.id))?.user.tokenEpoch, 2);
      });
    });

    // ---- refresh tokens

    describe('refresh tokens', () => {
      const now = Date.UTC(2026, 5, 1);
      const token = async (userId: number, familyId = randomUUID(), expiresAt = now + 60_000) => {
        const jti = randomUUID();
        await store.insertRefreshToken({ jti, familyId, userId, expiresAt });
        return { jti, familyId };
      };

      it('consumes a live token once; a second consume is reuse', async () => {
        const { user } = await customer();
        const t = await token(user.id);
        assert.deepEqual(await store.consumeRefreshToken(t.jti, now), { kind: 'ok', familyId: t.familyId, userId: user.id });
        assert.deepEqual(await store.consumeRefreshToken(t.jti, now + 1), { kind: 'reused', familyId: t.familyId, userId: user.id });
      });

      it('lets exactly one of several concurrent consumes of one token succeed', async () => {
        const { user } = await customer();
        const t = await token(user.id);
        const results = await Promise.all(Array.from({ length: 8 }, () => store.consumeRefreshToken(t.jti, now)));
        assert.equal(results.filter((r) => r.kind === 'ok').length, 1);
        assert.equal(results.filter((r) => r.kind === 'reused').length, 7);
      });

      it('answers unknown for a token it never stored', async () => {
        assert.equal((await store.consumeRefreshToken(randomUUID(), now)).kind, 'unknown');
      });

      it('revokes a whole family and nothing else', async () => {
        const { user } = await customer();
        const family = randomUUID();
        const a = await token(user.id, family);
        const b = await token(user.id, family);
        const other = await token(user.id);
        await store.revokeFamily(family);
        assert.equal((await store.consumeRefreshToken(a.jti, now)).kind, 'reused');
        assert.equal((await store.consumeRefreshToken(b.jti, now)).kind, 'reused');
        assert.equal((await store.consumeRefreshToken(other.jti, now)).kind, 'ok');
      });

      it("revokes every token of one user and nobody else's", async () => {
        const alice = await customer();
        const bob = await customer();
        const a1 = await token(alice.user.id);
        const a2 = await token(alice.user.id);
        const b1 = await token(bob.user.id);
        await store.revokeUserTokens(alice.user.id);
        assert.equal((await store.consumeRefreshToken(a1.jti, now)).kind, 'reused');
        assert.equal((await store.consumeRefreshToken(a2.jti, now)).kind, 'reused');
        assert.equal((await store.consumeRefreshToken(b1.jti, now)).kind, 'ok');
      });

      it('never accepts an expired token, and does not report it as reused', async () => {
        const { user } = await customer();
        const t = await token(user.id, randomUUID(), now);
        const r = await store.consumeRefreshToken(t.jti, now);
        assert.equal(r.kind, 'expired');
        const later = await store.consumeRefreshToken(t.jti, now + 1000);
        assert.equal(later.kind, 'expired');
        // A live token of the same user is unaffected.
        const live = await token(user.id);
        assert.equal((await store.consumeRefreshToken(live.jti, now)).kind, 'ok');
      });
    });

    // ---- conversations and listing

    describe('conversations', () => {
      it('creates a new conversation with a UUID id and nothing set', async () => {
        const { profile } = await customer();
        const at = tick();
        const c = await store.createConversation(profile.id, at);
        assert.match(c.id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
        assert.deepEqual(c, {
          id: c.id,
          customerId: profile.id,
          repId: null,
          status: 'new',
          queueSeq: null,
          queuedAt: null,
          assignedAt: null,
          closedAt: null,
          closedBy: null,
          lastSeq: 0,
          version: 0,
          rating: null,
          ratingComment: null,
          createdAt: at,
          presenceGen: 0,
        });
        assert.deepEqual(await store.getConversation(c.id), c);
        assert.deepEqual(await store.getConversationWithLatest(c.id), { ...c, latestMessage: null });
      });

      it("lists a customer's own conversations, newest first, with paging and a count", async () => {
        const me = await customer();
        const other = await customer();
        const mine: Conversation[] = [];
        for (let i = 0; i < 5; i++) mine.push(await store.createConversation(me.profile.id, tick()));
        await store.createConversation(other.profile.id, tick());
        const scope: ConversationScope = { kind: 'customer', customerId: me.profile.id };
        const newestFirst = [...mine].reverse().map((c) => c.id);

        const all = await store.listConversations(scope);
        assert.deepEqual(
          all.map((c) => c.id),
          newestFirst,
        );
        assert.ok(all.every((c) => c.customerId === me.profile.id));
        assert.equal(await store.countConversations(scope), 5);

        const page = await store.listConversations(scope, { limit: 2, offset: 2 });
        assert.deepEqual(
          page.map((c) => c.id),
          newestFirst.slice(2, 4),
        );
        const tail = await store.listConversations(scope, { limit: 10, offset: 4 });
        assert.deepEqual(
          tail.map((c) => c.id),
          newestFirst.slice(4),
        );
        assert.deepEqual(await store.listConversations(scope, { limit: 10, offset: 5 }), []);
      });

      it('orders conversations created in the same millisecond by creation', async () => {
        const me = await customer();
        const at = tick();
        const ids: string[] = [];
        for (let i = 0; i < 5; i++) ids.push((await store.createConversation(me.profile.id, at)).id);
        const listed = await store.listConversations({ kind: 'customer', customerId: me.profile.id });
        assert.deepEqual(
          listed.map((c) => c.id),
          ids.reverse(),
        );
      });

      it("lists a rep's current conversations (assigned to it) and, with history, every one it held", async () => {
        const cust = await customer();
        const r = await rep(5);
        const r2 = await rep(5);
        const current = await assigned(cust.profile.id, r.id);
        const closed = await assigned(cust.profile.id, r.id);
        await store.closeConversation(closed.id, 'rep', tick());
        const movedAway = await assigned(cust.profile.id, r.id);
        assert.equal((await store.transfer(movedAway.id, r.id, r2.id, tick())).ok, true);
        const requeued = await assigned(cust.profile.id, r.id);
        assert.ok(await store.requeue(requeued.id, r.id, tick()));
        const neverHeld = await assigned(cust.profile.id, r2.id);
        await queued(cust.profile.id);

        const currentScope: ConversationScope = { kind: 'rep', repId: r.id, history: false };
        const cur = await store.listConversations(currentScope);
        assert.deepEqual(
          cur.map((c) => c.id),
          [current.id],
        );
        assert.equal(await store.countConversations(currentScope), 1);

        const historyScope: ConversationScope = { kind: 'rep', repId: r.id, history: true };
        const hist = await store.listConversations(historyScope);
        assert.deepEqual(
          hist.map((c) => c.id),
          [requeued.id, movedAway.id, closed.id, current.id],
        );
        assert.equal(await store.countConversations(historyScope), 4);
        assert.ok(!hist.some((c) => c.id === neverHeld.id));

        const r2Current = await store.listConversations({ kind: 'rep', repId: r2.id, history: false });
        assert.deepEqual(
          r2Current.map((c) => c.id),
          [neverHeld.id, movedAway.id],
        );
      });

      it('lists everything for the all scope, newest first, and counts it', async () => {
        const a = await customer();
        const b = await customer();
        const c1 = await store.createConversation(a.profile.id, tick());
        const c2 = await store.createConversation(b.profile.id, tick());
        const c3 = await store.createConversation(a.profile.id, tick());
        const all = await store.listConversations({ kind: 'all' });
        assert.equal(await store.countConversations({ kind: 'all' }), all.length);
        const ids = all.map((c) => c.id);
        const mine = ids.filter((id) => id === c1.id || id === c2.id || id === c3.id);
        assert.deepEqual(mine, [c3.id, c2.id, c1.id]);
        const created = all.map((c) => c.createdAt);
        assert.deepEqual(
          created,
          [...created].sort((x, y) => y - x),
          'newest first',
        );
        const first = await store.listConversations({ kind: 'all' }, { limit: 2, offset: 0 });
        assert.deepEqual(
          first.map((c) => c.id),
          ids.slice(0, 2),
        );
      });

      it('carries the latest message in lists and in getConversationWithLatest', async () => {
        const cust = await customer();
        const empty = await store.createConversation(cust.profile.id, tick());
        const busy = await store.createConversation(cust.profile.id, tick());
        for (const text of ['one', 'two', 'three']) {
          await store.appendMessage({ conversationId: busy.id, authorId: cust.user.id, text, clientId: null, timestamp: tick() });
        }
        const listed = await store.listConversations({ kind: 'customer', customerId: cust.profile.id });
        const byId = new Map(listed.map((c) => [c.id, c]));
        assert.equal(byId.get(empty.id)?.latestMessage, null);
        const latest = byId.get(busy.id)?.latestMessage;
        assert.ok(latest);
        assert.equal(latest.text, 'three');
        assert.equal(latest.seq, 3);
        assert.equal(latest.username, cust.user.username);
        assert.equal(latest.authorId, cust.user.id);
        assert.equal(latest.conversationId, busy.id);
        const one = await store.getConversationWithLatest(busy.id);
        assert.deepEqual(one?.latestMessage, latest);
        assert.equal(one?.lastSeq, 3);
      });
    });

    // ---- messages

    describe('messages', () => {
      const open = async () => {
        const cust = await customer();
        const c = await store.createConversation(cust.profile.id, tick());
        return { cust, c };
      };

      it('stores a message with seq 1 and its fields', async () => {
        const { cust, c } = await open();
        const at = tick();
        const r = await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'hello', clientId: 'c-1', timestamp: at });
        assert.equal(r.kind, 'stored');
        if (r.kind !== 'stored') return;
        assert.deepEqual(r.message, {
          id: r.message.id,
          conversationId: c.id,
          authorId: cust.user.id,
          username: cust.user.username,
          text: 'hello',
          seq: 1,
          clientId: 'c-1',
          timestamp: at,
        });
        assert.deepEqual(await store.listMessages(c.id), [r.message]);
        assert.equal((await store.getConversation(c.id))?.lastSeq, 1);
      });

      it('gives 50 concurrent appends the seqs 1..50 exactly, without gaps', async () => {
        const { cust, c } = await open();
        const results = await Promise.all(
          Array.from({ length: 50 }, (_, i) =>
            store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: `m${i}`, clientId: i % 2 ? `k${i}` : null, timestamp: tick() }),
          ),
        );
        assert.ok(results.every((r) => r.kind === 'stored'));
        const seqs = results.map((r) => (r.kind === 'stored' ? r.message.seq : -1)).sort((a, b) => a - b);
        assert.deepEqual(
          seqs,
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        const stored = await store.messagesAfter(c.id, 0);
        assert.deepEqual(
          stored.map((m) => m.seq),
          Array.from({ length: 50 }, (_, i) => i + 1),
        );
        assert.equal((await store.getConversation(c.id))?.lastSeq, 50);
        assert.equal(new Set(stored.map((m) => m.id)).size, 50);
      });

      it('keeps seqs independent per conversation under concurrency', async () => {
        const a = await open();
        const b = await open();
        await Promise.all(
          Array.from({ length: 20 }, (_, i) => {
            const t = i % 2 ? a : b;
            return store.appendMessage({ conversationId: t.c.id, authorId: t.cust.user.id, text: `x${i}`, clientId: null, timestamp: tick() });
          }),
        );
        for (const t of [a, b]) {
          assert.deepEqual(
            (await store.messagesAfter(t.c.id, 0)).map((m) => m.seq),
            [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
          );
        }
      });

      it('does not store a retried client_id twice', async () => {
        const { cust, c } = await open();
        const first = await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'hi', clientId: 'retry-me', timestamp: tick() });
        assert.equal(first.kind, 'stored');
        const again = await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'hi', clientId: 'retry-me', timestamp: tick() });
        assert.equal(again.kind, 'duplicate');
        assert.deepEqual(again.kind === 'duplicate' && again.message, first.kind === 'stored' && first.message);
        // The same client_id in another conversation is a different message.
        const other = await open();
        const elsewhere = await store.appendMessage({ conversationId: other.c.id, authorId: other.cust.user.id, text: 'hi', clientId: 'retry-me', timestamp: tick() });
        assert.equal(elsewhere.kind, 'stored');
        // Messages with no client_id never collide.
        await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'a', clientId: null, timestamp: tick() });
        await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'a', clientId: null, timestamp: tick() });
        assert.deepEqual(
          (await store.listMessages(c.id)).map((m) => m.seq),
          [3, 2, 1],
        );
        assert.equal((await store.getConversation(c.id))?.lastSeq, 3);
      });

      it('stores exactly one of 10 concurrent appends with one client_id; the rest are duplicates of it', async () => {
        const { cust, c } = await open();
        const results = await Promise.all(
          Array.from({ length: 10 }, () =>
            store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'once', clientId: 'same', timestamp: tick(), username: cust.user.username }),
          ),
        );
        const stored = results.filter((r) => r.kind === 'stored');
        const dupes = results.filter((r) => r.kind === 'duplicate');
        assert.equal(stored.length, 1);
        assert.equal(dupes.length, 9);
        const winner = stored[0].kind === 'stored' ? stored[0].message : undefined;
        assert.ok(winner);
        assert.equal(winner.seq, 1);
        for (const d of dupes) {
          if (d.kind !== 'duplicate') continue;
          assert.equal(d.message.id, winner.id);
          assert.equal(d.message.seq, winner.seq);
          assert.equal(d.message.clientId, 'same');
        }
        const all = await store.listMessages(c.id);
        assert.equal(all.length, 1);
        assert.equal((await store.getConversation(c.id))?.lastSeq, 1, 'the losers left no gap');
        const next = await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'next', clientId: null, timestamp: tick() });
        assert.equal(next.kind === 'stored' && next.message.seq, 2);
      });

      it('accepts messages while new, queued or assigned', async () => {
        const cust = await customer();
        const r = await rep(1);
        const c = await store.createConversation(cust.profile.id, tick());
        const send = (text: string) => store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text, clientId: null, timestamp: tick() });
        assert.equal((await send('new')).kind, 'stored');
        await store.enqueue(c.id, tick());
        assert.equal((await send('queued')).kind, 'stored');
        assert.equal((await store.assign(c.id, r.id, tick())).ok, true);
        assert.equal((await send('assigned')).kind, 'stored');
      });

      it("stores a rep's message only while that rep holds the conversation", async () => {
        const cust = await customer();
        const holder = await store.createRep(newUser(), 2);
        const other = await store.createRep(newUser(), 2);
        const c = await assigned(cust.profile.id, holder.profile.id);
        const send = (who: { user: User; profile: RepProfile }, text: string) =>
          store.appendMessage({ conversationId: c.id, authorId: who.user.id, text, clientId: null, timestamp: tick(), repId: who.profile.id });
        assert.equal((await send(holder, 'mine')).kind, 'stored');
        assert.deepEqual(await send(other, 'not mine'), { kind: 'refused', status: 'assigned' });
        assert.ok(await store.requeue(c.id, holder.profile.id, tick()));
        assert.deepEqual(await send(holder, 'no longer mine'), { kind: 'refused', status: 'queued' });
        assert.equal((await store.getConversation(c.id))?.lastSeq, 1, 'no seq was taken by a refused message');
        assert.deepEqual((await store.listMessages(c.id)).map((m) => m.text), ['mine']);
        // The customer still writes while it waits.
        assert.equal((await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'hello?', clientId: null, timestamp: tick() })).kind, 'stored');
      });

      it('refuses appends to a closed conversation, and to an unknown one', async () => {
        const { cust, c } = await open();
        await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'before', clientId: null, timestamp: tick() });
        await store.closeConversation(c.id, 'customer', tick());
        const r = await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: 'after', clientId: 'late', timestamp: tick() });
        assert.deepEqual(r, { kind: 'refused', status: 'closed' });
        assert.equal((await store.listMessages(c.id)).length, 1);
        assert.equal((await store.getConversation(c.id))?.lastSeq, 1);
        const unknown = await store.appendMessage({ conversationId: randomUUID(), authorId: cust.user.id, text: 'x', clientId: null, timestamp: tick() });
        assert.deepEqual(unknown, { kind: 'refused', status: null });
      });

      it('pages messages newest first with beforeSeq and limit, and reads after a seq oldest first', async () => {
        const { cust, c } = await open();
        for (let i = 1; i <= 10; i++) {
          await store.appendMessage({ conversationId: c.id, authorId: cust.user.id, text: `t${i}`, clientId: null, timestamp: tick() });
        }
        const seqs = (ms: { seq: number }[]) => ms.map((m) => m.seq);
        assert.deepEqual(seqs(await store.listMessages(c.id)), [10, 9, 8, 7, 6, 5, 4, 3, 2, 1]);
        assert.deepEqual(seqs(await store.listMessages(c.id, { limit: 3 })), [10, 9, 8]);
        assert.deepEqual(seqs(await store.listMessages(c.id, { beforeSeq: 5 })), [4, 3, 2, 1]);
        assert.deepEqual(seqs(await store.listMessages(c.id, { beforeSeq: 8, limit: 2 })), [7, 6]);
        assert.deepEqual(seqs(await store.listMessages(c.id, { beforeSeq: 1 })), []);
        assert.deepEqual((await store.listMessages(c.id, { limit: 1 }))[0].text, 't10');

        assert.deepEqual(seqs(await store.messagesAfter(c.id, 7)), [8, 9, 10]);
        assert.deepEqual(seqs(await store.messagesAfter(c.id, 0, 3)), [1, 2, 3]);
        assert.deepEqual(seqs(await store.messagesAfter(c.id, 10)), []);
        const after = await store.messagesAfter(c.id, 9);
        assert.equal(after[0].text, 't10');
        assert.equal(after[0].username, cust.user.username);
      });
    });

    // ---- routing transitions

    describe('enqueue', () => {
      it('moves new -> queued with a fresh, increasing queue_seq and bumps the version', async () => {
        const cust = await customer();
        const a = await store.createConversation(cust.profile.id, tick());
        const b = await store.createConversation(cust.profile.id, tick());
        const at = tick();
        const qa = await store.enqueue(a.id, at);
        const qb = await store.enqueue(b.id, tick());
        assert.ok(qa && qb);
        assert.equal(qa.status, 'queued');
        assert.equal(qa.queuedAt, at);
        assert.equal(qa.repId, null);
        assert.equal(qa.version, a.version + 1);
        assert.equal(typeof qa.queueSeq, 'number');
        assert.ok(qb.queueSeq! > qa.queueSeq!);
        assert.deepEqual(await store.getConversation(a.id), qa);
      });

      it('is idempotent: a second enqueue answers undefined and changes nothing', async () => {
        const cust = await customer();
        const q = await queued(cust.profile.id);
        assert.equal(await store.enqueue(q.id, tick()), undefined);
        assert.deepEqual(await store.getConversation(q.id), q);
        assert.equal(await store.enqueue(randomUUID(), tick()), undefined);
      });

      it('lets exactly one of several concurrent enqueues through', async () => {
        const cust = await customer();
        const c = await store.createConversation(cust.profile.id, tick());
        const results = await Promise.all(Array.from({ length: 6 }, () => store.enqueue(c.id, tick())));
        const ok = results.filter((r) => r !== undefined);
        assert.equal(ok.length, 1);
        assert.deepEqual(await store.getConversation(c.id), ok[0]);
      });

      it('refuses assigned and closed conversations', async () => {
        const cust = await customer();
        const r = await rep(1);
        const a = await assigned(cust.profile.id, r.id);
        assert.equal(await store.enqueue(a.id, tick()), undefined);
        const c = await store.createConversation(cust.profile.id, tick());
        await store.closeConversation(c.id, 'customer', tick());
        assert.equal(await store.enqueue(c.id, tick()), undefined);
        assert.equal((await store.getConversation(c.id))?.status, 'closed');
      });

      it('sends an abandoned conversation to the tail with a new, larger queue_seq', async () => {
        const cust = await customer();
        const q = await queued(cust.profile.id);
        const later = await queued(cust.profile.id);
        const gone = await store.abandon(q.id, q.version, tick());
        assert.ok(gone);
        const back = await store.enqueue(q.id, tick());
        assert.ok(back);
        assert.equal(back.status, 'queued');
        assert.ok(back.queueSeq! > q.queueSeq!);
        assert.ok(back.queueSeq! > later.queueSeq!, 'behind a conversation that queued after it first did');
        assert.ok(back.version > gone.version);
      });
    });

    describe('assign', () => {
      it('assigns a queued conversation: load+1, last_assigned_at, holder row', async () => {
        const cust = await customer();
        const r = await rep(2);
        const q = await queued(cust.profile.id);
        const at = tick();
        const res = await store.assign(q.id, r.id, at);
        assert.equal(res.ok, true);
        if (!res.ok) return;
        assert.equal(res.conversation.status, 'assigned');
        assert.equal(res.conversation.repId, r.id);
        assert.equal(res.conversation.assignedAt, at);
        assert.equal(res.conversation.queueSeq, q.queueSeq);
        assert.equal(res.conversation.version, q.version + 1);
        assert.equal(res.rep.id, r.id);
        assert.equal(res.rep.load, 1);
        assert.equal(res.rep.lastAssignedAt, at);
        assert.deepEqual(await store.getConversation(q.id), res.conversation);
        const after = await store.getRep(r.id);
        assert.equal(after?.load, 1);
        assert.equal(after?.lastAssignedAt, at);
        assert.equal(await store.hasHeld(q.id, r.id), true);
        assert.deepEqual(
          (await store.assignedTo(r.id)).map((c) => c.id),
          [q.id],
        );
      });

      it("refuses a conversation that is not queued, with reason 'conversation', and leaves the rep alone", async () => {
        const cust = await customer();
        const r = await rep(2);
        const fresh = await store.createConversation(cust.profile.id, tick());
        assert.deepEqual(await store.assign(fresh.id, r.id, tick()), { ok: false, reason: 'conversation' });
        const taken = await assigned(cust.profile.id, r.id);
        const repBefore = await store.getRep(r.id);
        assert.deepEqual(await store.assign(taken.id, r.id, tick()), { ok: false, reason: 'conversation' });
        const closed = await queued(cust.profile.id);
        await store.closeConversation(closed.id, 'customer', tick());
        assert.deepEqual(await store.assign(closed.id, r.id, tick()), { ok: false, reason: 'conversation' });
        const abandoned = await queued(cust.profile.id);
        await store.abandon(abandoned.id, abandoned.version, tick());
        assert.deepEqual(await store.assign(abandoned.id, r.id, tick()), { ok: false, reason: 'conversation' });
        assert.deepEqual(await store.getRep(r.id), repBefore, 'load and last_assigned_at unchanged');
        assert.equal(await store.hasHeld(fresh.id, r.id), false);
        assert.deepEqual(await store.assign(randomUUID(), r.id, tick()), { ok: false, reason: 'conversation' });
      });

      it("refuses a full rep with reason 'rep' and rolls the conversation back to queued", async () => {
        const cust = await customer();
        const r = await rep(1);
        await assigned(cust.profile.id, r.id);
        const repBefore = await store.getRep(r.id);
        const q = await queued(cust.profile.id);
        assert.deepEqual(await store.assign(q.id, r.id, tick()), { ok: false, reason: 'rep' });
        assert.deepEqual(await store.getConversation(q.id), q, 'still queued, same version, no rep');
        assert.deepEqual(await store.getRep(r.id), repBefore);
        assert.equal(await store.hasHeld(q.id, r.id), false);
      });

      it("refuses a rep of capacity 0 with reason 'rep'", async () => {
        const cust = await customer();
        const r = await rep(0);
        const q = await queued(cust.profile.id);
        assert.deepEqual(await store.assign(q.id, r.id, tick()), { ok: false, reason: 'rep' });
        assert.deepEqual(await store.getConversation(q.id), q);
      });

      it("refuses an away or offline rep with reason 'rep' and rolls back", async () => {
        const cust = await customer();
        for (const status of ['away', 'offline'] as const) {
          const r = await rep(3);
          await store.updateRep(r.id, { status });
          const q = await queued(cust.profile.id);
          assert.deepEqual(await store.assign(q.id, r.id, tick()), { ok: false, reason: 'rep' });
          assert.deepEqual(await store.getConversation(q.id), q);
          const after = await store.getRep(r.id);
          assert.equal(after?.load, 0);
          assert.equal(after?.lastAssignedAt, null);
          assert.equal(await store.hasHeld(q.id, r.id), false);
          // The same conversation can still go to an eligible rep afterwards.
          const ok = await rep(1);
          assert.equal((await store.assign(q.id, ok.id, tick())).ok, true);
        }
      });

      it('gives a rep of capacity 3 exactly 3 of 20 concurrent assignments', async () => {
        const cust = await customer();
        const r = await rep(3);
        const convs: Conversation[] = [];
        for (let i = 0; i < 20; i++) convs.push(await queued(cust.profile.id));
        const results = await Promise.all(convs.map((c) => store.assign(c.id, r.id, tick())));
        const ok = results.filter((x) => x.ok);
        assert.equal(ok.length, 3);
        assert.ok(results.filter((x) => !x.ok).every((x) => !x.ok && x.reason === 'rep'));
        assert.equal(await loadOf(r.id), 3);
        const mine = await store.assignedTo(r.id);
        assert.equal(mine.length, 3);
        let stillQueued = 0;
        for (const c of convs) if ((await store.getConversation(c.id))?.status === 'queued') stillQueued++;
        assert.equal(stillQueued, 17, 'every loser is still queued');
      });

      it('assigns one conversation to exactly one of several reps racing for it', async () => {
        const cust = await customer();
        const reps = await Promise.all(Array.from({ length: 5 }, () => rep(2)));
        const q = await queued(cust.profile.id);
        const results = await Promise.all(reps.map((r) => store.assign(q.id, r.id, tick())));
        const ok = results.filter((x) => x.ok);
        assert.equal(ok.length, 1);
        const winner = ok[0].ok ? ok[0].rep.id : -1;
        assert.ok(results.filter((x) => !x.ok).every((x) => !x.ok && x.reason === 'conversation'));
        let total = 0;
        for (const r of reps) {
          const load = await loadOf(r.id);
          total += load;
          assert.equal(load, r.id === winner ? 1 : 0);
          assert.equal(await store.hasHeld(q.id, r.id), r.id === winner);
        }
        assert.equal(total, 1);
      });
    });

    describe('requeue, transfer, close', () => {
      it('requeues at the original queue_seq and frees the slot', async () => {
        const cust = await customer();
        const r = await rep(1);
        const a = await assigned(cust.profile.id, r.id);
        const at = tick();
        const back = await store.requeue(a.id, r.id, at);
        assert.ok(back);
        assert.equal(back.status, 'queued');
        assert.equal(back.repId, null);
        assert.equal(back.queueSeq, a.queueSeq);
        assert.equal(back.version, a.version + 1);
        assert.equal(back.assignedAt, null);
        assert.equal(await loadOf(r.id), 0);
        assert.equal(await store.hasHeld(a.id, r.id), true, 'a past holder keeps read access');
        assert.deepEqual(await store.assignedTo(r.id), []);
        // A second requeue, or one by a rep that does not hold it, does nothing.
        assert.equal(await store.requeue(a.id, r.id, tick()), undefined);
        const other = await rep(1);
        const again = await store.assign(a.id, other.id, tick());
        assert.equal(again.ok, true);
        assert.equal(await store.requeue(a.id, r.id, tick()), undefined);
        assert.equal(await loadOf(other.id), 1);
        assert.equal((await store.getConversation(a.id))?.repId, other.id);
      });

      it('puts a requeued conversation back ahead of later ones in the snapshot queue', async () => {
        const cust = await customer();
        const r = await rep(1);
        const first = await assigned(cust.profile.id, r.id);
        const second = await queued(cust.profile.id);
        await store.requeue(first.id, r.id, tick());
        const snap = await store.routingSnapshot();
        const order = snap.queue.map((c) => c.id).filter((id) => id === first.id || id === second.id);
        assert.deepEqual(order, [first.id, second.id]);
      });

      for (const direction of ['to a higher id', 'to a lower id'] as const) {
        it(`transfers to a rep with a free slot (${direction})`, async () => {
          const cust = await customer();
          const low = await rep(2);
          const high = await rep(2);
          const [from, to] = direction === 'to a higher id' ? [low, high] : [high, low];
          const a = await assigned(cust.profile.id, from.id);
          const at = tick();
          const res = await store.transfer(a.id, from.id, to.id, at);
          assert.equal(res.ok, true);
          if (!res.ok) return;
          assert.equal(res.conversation.repId, to.id);
          assert.equal(res.conversation.status, 'assigned');
          assert.equal(res.conversation.version, a.version + 1);
          assert.equal(res.conversation.queueSeq, a.queueSeq);
          assert.equal(res.rep.id, to.id);
          assert.equal(res.rep.load, 1);
          assert.equal(res.rep.lastAssignedAt, at);
          assert.equal(await loadOf(from.id), 0);
          assert.equal(await loadOf(to.id), 1);
          assert.equal(await store.hasHeld(a.id, from.id), true);
          assert.equal(await store.hasHeld(a.id, to.id), true);
          assert.deepEqual(await store.assignedTo(from.id), []);
          assert.deepEqual(
            (await store.assignedTo(to.id)).map((c) => c.id),
            [a.id],
          );
        });

        it(`refuses a transfer to a full rep and changes nothing (${direction})`, async () => {
          const cust = await customer();
          const low = await rep(2);
          const high = await rep(1);
          const [from, to] = direction === 'to a higher id' ? [low, high] : [high, low];
          if (to.maxCapacity === 2) await assigned(cust.profile.id, to.id);
          await assigned(cust.profile.id, to.id);
          const a = await assigned(cust.profile.id, from.id);
          const fromBefore = await store.getRep(from.id);
          const toBefore = await store.getRep(to.id);
          assert.deepEqual(await store.transfer(a.id, from.id, to.id, tick()), { ok: false, reason: 'rep' });
          assert.deepEqual(await store.getConversation(a.id), a);
          assert.deepEqual(await store.getRep(from.id), fromBefore);
          assert.deepEqual(await store.getRep(to.id), toBefore);
          assert.equal(await store.hasHeld(a.id, to.id), false);
        });
      }

      it("refuses a transfer to an away or offline rep with reason 'rep'", async () => {
        const cust = await customer();
        const from = await rep(2);
        for (const status of ['away', 'offline'] as const) {
          const to = await rep(2);
          await store.updateRep(to.id, { status });
          const a = await assigned(cust.profile.id, from.id);
          assert.deepEqual(await store.transfer(a.id, from.id, to.id, tick()), { ok: false, reason: 'rep' });
          assert.deepEqual(await store.getConversation(a.id), a);
          assert.equal(await loadOf(to.id), 0);
          await store.closeConversation(a.id, 'rep', tick());
        }
        assert.equal(await loadOf(from.id), 0);
      });

      it("refuses a transfer of a conversation the rep does not hold, with reason 'conversation'", async () => {
        const cust = await customer();
        const a = await rep(2);
        const b = await rep(2);
        const c = await rep(2);
        const q = await queued(cust.profile.id);
        assert.deepEqual(await store.transfer(q.id, a.id, b.id, tick()), { ok: false, reason: 'conversation' });
        const held = await assigned(cust.profile.id, a.id);
        assert.deepEqual(await store.transfer(held.id, c.id, b.id, tick()), { ok: false, reason: 'conversation' });
        assert.deepEqual(await store.getConversation(held.id), held);
        assert.equal(await loadOf(a.id), 1);
        assert.equal(await loadOf(b.id), 0);
        assert.equal(await loadOf(c.id), 0);
      });

      it('closes an assigned conversation, frees the slot, and answers undefined the second time', async () => {
        const cust = await customer();
        const r = await rep(1);
        const a = await assigned(cust.profile.id, r.id);
        const at = tick();
        const before = await store.closeConversation(a.id, 'rep', at);
        assert.deepEqual(before, a, 'returns the conversation as it was before the close');
        const after = await store.getConversation(a.id);
        assert.equal(after?.status, 'closed');
        assert.equal(after?.closedAt, at);
        assert.equal(after?.closedBy, 'rep');
        assert.equal(after?.repId, r.id, 'the closing rep stays on record');
        assert.equal(after?.version, a.version + 1);
        assert.equal(await loadOf(r.id), 0);
        assert.deepEqual(await store.assignedTo(r.id), []);
        assert.equal(await store.closeConversation(a.id, 'rep', tick()), undefined);
        assert.equal(await loadOf(r.id), 0);
        // The freed slot can be taken again.
        await assigned(cust.profile.id, r.id);
        assert.equal(await loadOf(r.id), 1);
      });

      it('closes new, queued and abandoned conversations without touching any rep', async () => {
        const cust = await customer();
        const r = await rep(1);
        await assigned(cust.profile.id, r.id);
        const fresh = await store.createConversation(cust.profile.id, tick());
        const q = await queued(cust.profile.id);
        const ab = await queued(cust.profile.id);
        await store.abandon(ab.id, ab.version, tick());
        for (const [c, by] of [
          [fresh, 'customer'],
          [q, 'system'],
          [ab, 'admin'],
        ] as const) {
          const before = await store.closeConversation(c.id, by, tick());
          assert.ok(before);
          const after = await store.getConversation(c.id);
          assert.equal(after?.status, 'closed');
          assert.equal(after?.closedBy, by);
        }
        assert.equal(await loadOf(r.id), 1);
        assert.equal(await store.closeConversation(randomUUID(), 'system', tick()), undefined);
      });

      it("closes for a rep only while that rep holds the conversation, and otherwise changes nothing", async () => {
        const cust = await customer();
        const holder = await rep(2);
        const other = await rep(2);
        const a = await assigned(cust.profile.id, holder.id);
        assert.equal(await store.closeConversation(a.id, 'rep', tick(), other.id), undefined, 'not the holder');
        const q = await queued(cust.profile.id);
        assert.equal(await store.closeConversation(q.id, 'rep', tick(), holder.id), undefined, 'a queued chat has no holder');
        assert.deepEqual(await store.getConversation(a.id), a, 'nothing changed');
        assert.equal((await store.getConversation(q.id))?.status, 'queued');
        assert.equal(await loadOf(holder.id), 1);
        assert.deepEqual(await store.closeConversation(a.id, 'rep', tick(), holder.id), a);
        assert.equal(await loadOf(holder.id), 0);
      });

      it('frees exactly one slot when one conversation is closed by several callers at once', async () => {
        const cust = await customer();
        const r = await rep(3);
        const a = await assigned(cust.profile.id, r.id);
        await assigned(cust.profile.id, r.id);
        const results = await Promise.all(Array.from({ length: 5 }, () => store.closeConversation(a.id, 'rep', tick())));
        assert.equal(results.filter((x) => x !== undefined).length, 1);
        assert.equal(await loadOf(r.id), 1);
      });

      it('abandons only a queued conversation at the given version', async () => {
        const cust = await customer();
        const q = await queued(cust.profile.id);
        assert.equal(await store.abandon(q.id, q.version + 1, tick()), undefined, 'a newer version is refused');
        assert.equal(await store.abandon(q.id, q.version - 1, tick()), undefined, 'an older version is refused');
        const gone = await store.abandon(q.id, q.version, tick());
        assert.ok(gone);
        assert.equal(gone.status, 'abandoned');
        assert.equal(gone.version, q.version + 1);
        assert.equal(await store.abandon(q.id, gone.version, tick()), undefined, 'an abandoned conversation is not queued');

        const r = await rep(1);
        const a = await assigned(cust.profile.id, r.id);
        assert.equal(await store.abandon(a.id, a.version, tick()), undefined);
        assert.equal((await store.getConversation(a.id))?.status, 'assigned');
        const fresh = await store.createConversation(cust.profile.id, tick());
        assert.equal(await store.abandon(fresh.id, fresh.version, tick()), undefined);
      });

      it('rates once, and only after the close', async () => {
        const cust = await customer();
        const r = await rep(1);
        const a = await assigned(cust.profile.id, r.id);
        assert.equal(await store.rate(a.id, 5, 'great'), false);
        assert.equal((await store.getConversation(a.id))?.rating, null);
        await store.closeConversation(a.id, 'rep', tick());
        assert.equal(await store.rate(a.id, 4, 'good'), true);
        assert.equal(await store.rate(a.id, 1, 'changed my mind'), false);
        const after = await store.getConversation(a.id);
        assert.equal(after?.rating, 4);
        assert.equal(after?.ratingComment, 'good');
        const other = await store.createConversation(cust.profile.id, tick());
        await store.closeConversation(other.id, 'customer', tick());
        assert.equal(await store.rate(other.id, 3, null), true);
        assert.equal((await store.getConversation(other.id))?.ratingComment, null);
      });
    });

    describe('reps and routing reads', () => {
      it('updates status, capacity and watched, and returns the rep after the change', async () => {
        const r = await rep(2);
        const away = await store.updateRep(r.id, { status: 'away' });
        assert.deepEqual(away, { ...r, status: 'away' });
        const bigger = await store.updateRep(r.id, { maxCapacity: 7, watched: true });
        assert.deepEqual(bigger, { ...r, status: 'away', maxCapacity: 7, watched: true });
        assert.deepEqual(await store.updateRep(r.id, {}), bigger);
        const both = await store.updateRep(r.id, { status: 'online', maxCapacity: 1, watched: false });
        assert.deepEqual(both, { ...r, maxCapacity: 1 });
        const { user: _user, ...plain } = (await store.getRep(r.id))!;
        assert.deepEqual(plain, both);
        assert.equal(await store.updateRep(987654321, { status: 'away' }), undefined);
        assert.equal(await store.updateRep(987654321, {}), undefined);
      });

      it('keeps the load when the capacity drops below it, and assigns nothing more', async () => {
        const cust = await customer();
        const r = await rep(3);
        await assigned(cust.profile.id, r.id);
        await assigned(cust.profile.id, r.id);
        const lowered = await store.updateRep(r.id, { maxCapacity: 1 });
        assert.equal(lowered?.load, 2);
        assert.equal(lowered?.maxCapacity, 1);
        const q = await queued(cust.profile.id);
        assert.deepEqual(await store.assign(q.id, r.id, tick()), { ok: false, reason: 'rep' });
      });

      it('reports who has held a conversation', async () => {
        const cust = await customer();
        const a = await rep(1);
        const b = await rep(1);
        const c = await assigned(cust.profile.id, a.id);
        assert.equal(await store.hasHeld(c.id, a.id), true);
        assert.equal(await store.hasHeld(c.id, b.id), false);
        await store.transfer(c.id, a.id, b.id, tick());
        assert.equal(await store.hasHeld(c.id, a.id), true);
        assert.equal(await store.hasHeld(c.id, b.id), true);
        assert.equal(await store.hasHeld(randomUUID(), a.id), false);
      });

      it('lists the open conversations assigned to a rep', async () => {
        const cust = await customer();
        const r = await rep(5);
        const x = await assigned(cust.profile.id, r.id);
        const y = await assigned(cust.profile.id, r.id);
        const z = await assigned(cust.profile.id, r.id);
        await store.closeConversation(y.id, 'rep', tick());
        const mine = await store.assignedTo(r.id);
        assert.deepEqual(
          mine.map((c) => c.id),
          [x.id, z.id],
        );
        assert.ok(mine.every((c) => c.status === 'assigned' && c.repId === r.id));
        assert.deepEqual(await store.assignedTo(987654321), []);
      });

      it('takes a routing snapshot: the queue by queue_seq, open assignments, and every rep', async () => {
        const cust = await customer();
        const r = await rep(2);
        const busy = await assigned(cust.profile.id, r.id);
        const q1 = await queued(cust.profile.id);
        const q2 = await queued(cust.profile.id);
        const q3 = await queued(cust.profile.id);
        // q1 leaves and comes back: it goes to the tail.
        await store.abandon(q1.id, q1.version, tick());
        await store.enqueue(q1.id, tick());
        const snap = await store.routingSnapshot();

        assert.ok(snap.queue.every((c) => c.status === 'queued'));
        const seqs = snap.queue.map((c) => c.queueSeq!);
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
          'ordered by queue_seq',
        );
        assert.equal(new Set(seqs).size, seqs.length, 'queue_seq is unique');
        const mine = snap.queue.map((c) => c.id).filter((id) => [q1.id, q2.id, q3.id].includes(id));
        assert.deepEqual(mine, [q2.id, q3.id, q1.id]);

        assert.ok(snap.assigned.every((c) => c.status === 'assigned' && c.repId !== null));
        assert.deepEqual(
          snap.assigned.find((c) => c.id === busy.id),
          busy,
        );
        assert.ok(!snap.queue.some((c) => c.id === busy.id));

        const snapRep = snap.reps.find((x) => x.id === r.id);
        assert.equal(snapRep?.load, 1);
        assert.equal(snapRep?.maxCapacity, 2);
        const ids = snap.reps.map((x) => x.id);
        assert.deepEqual(
          ids,
          [...ids].sort((a, b) => a - b),
        );

        // Every rep's load equals its open assignments in the snapshot (nothing leaked by earlier cases).
        for (const x of snap.reps) {
          assert.equal(x.load, snap.assigned.filter((c) => c.repId === x.id).length, `rep ${x.id} load matches its assignments`);
        }
      });

      it('reports recent handle times in seconds, newest close first', async () => {
        const cust = await customer();
        const r = await rep(2);
        const a = await queued(cust.profile.id);
        const t0 = tick(1000);
        await store.assign(a.id, r.id, t0);
        await store.closeConversation(a.id, 'rep', t0 + 90_000);
        const b = await queued(cust.profile.id);
        const t1 = tick(100_000);
        await store.assign(b.id, r.id, t1);
        await store.closeConversation(b.id, 'rep', t1 + 30_000);
        clock = t1 + 30_000;
        const never = await store.createConversation(cust.profile.id, tick());
        await store.closeConversation(never.id, 'customer', tick());
        const times = await store.recentHandleTimesS(2);
        assert.deepEqual(times, [30, 90]);
      });
    });
  });
}
