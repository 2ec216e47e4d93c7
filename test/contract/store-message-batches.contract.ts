// Store contract cases for group-committed chat messages, run inside the Store contract (both dialects):
// appends made together (one tick, or while the previous batch is written) share a transaction, yet each
// keeps the answer it would get alone: seqs per conversation gap-free and in call order, one row per
// client_id, refusals and row errors confined to their own callers, and nothing of a failed batch stored.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { setImmediate as nextTick } from 'node:timers/promises';
import { sql } from 'kysely';
import type { AppendMessage, AppendResult, NewUser, Store } from '../../src/store/port.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';

const newUser = (): NewUser => {
  const username = `mb_${randomUUID().slice(0, 12)}`;
  return { username, email: `${username}@example.com`, firstName: 'First', lastName: 'Last', passwordHash: 'scrypt$stub' };
};

const seqOf = (r: AppendResult) => (r.kind === 'refused' ? -1 : r.message.seq);

export function messageBatchCases(store: () => Store, tick: () => number): void {
  describe('message batches', () => {
    const raw = () => store() as unknown as SqlStore;

    const chats = async (n: number) => {
      const s = store();
      const out = [];
      for (let i = 0; i < n; i++) {
        const cust = await s.createCustomer(newUser(), 5551234);
        const c = await s.createConversation(cust.profile.id, tick());
        out.push({ id: c.id, author: cust.user.id, username: cust.user.username });
      }
      return out;
    };
    const msg = (c: { id: string; author: number }, text: string, clientId: string | null = null): AppendMessage => ({
      conversationId: c.id,
      authorId: c.author,
      text,
      clientId,
      timestamp: tick(),
    });
    const texts = async (id: string) => (await store().messagesAfter(id, 0)).map((m) => `${m.seq}:${m.text}`);

    it('keeps each conversation gap-free and in call order when many appends share a tick and the next batches', async () => {
      const s = store();
      const cs = await chats(5);
      const calls: Array<{ chat: number; text: string; p: Promise<AppendResult> }> = [];
      // Three waves: the first is written as one batch; the next two arrive while it (then the second) is written.
      for (let wave = 0; wave < 3; wave++) {
        for (let i = 0; i < 40; i++) {
          const chat = (i * 7 + wave) % cs.length;
          const text = `w${wave}-${i}`;
          calls.push({ chat, text, p: s.appendMessage(msg(cs[chat], text)) });
        }
        await nextTick();
      }
      const results = await Promise.all(calls.map((c) => c.p));
      assert.ok(results.every((r) => r.kind === 'stored'));
      for (const [k, c] of cs.entries()) {
        const mine: Array<{ text: string; seq: number }> = calls.flatMap((call, i) => (call.chat === k ? [{ text: call.text, seq: seqOf(results[i]) }] : []));
        assert.deepEqual(
          mine.map((m) => m.seq),
          mine.map((_, i) => i + 1),
          'seqs follow call order, from 1, without gaps',
        );
        assert.deepEqual(await texts(c.id), mine.map((m) => `${m.seq}:${m.text}`));
        assert.equal((await s.getConversation(c.id))?.lastSeq, mine.length);
      }
    });

    it('stores one row per client_id, whether the duplicates share a batch or come in a later one', async () => {
      const s = store();
      const [a, b] = await chats(2);
      const first = await Promise.all([
        s.appendMessage(msg(a, 'one', 'k1')),
        s.appendMessage(msg(a, 'plain')),
        s.appendMessage(msg(a, 'one again', 'k1')),
        s.appendMessage(msg(b, 'other chat, same key', 'k1')),
        s.appendMessage(msg(a, 'one, third try', 'k1')),
        s.appendMessage(msg(a, 'two', 'k2')),
      ]);
      assert.deepEqual(
        first.map((r) => r.kind),
        ['stored', 'stored', 'duplicate', 'stored', 'duplicate', 'stored'],
      );
      const k1 = first[0].kind === 'stored' ? first[0].message : undefined;
      assert.ok(k1);
      assert.deepEqual(first[2].kind === 'duplicate' && first[2].message, k1, 'the duplicate answers with the stored message');
      assert.deepEqual(first[4].kind === 'duplicate' && first[4].message, k1);
      assert.deepEqual(first.map(seqOf), [1, 2, 1, 1, 1, 3]);
      const later = await Promise.all([s.appendMessage(msg(a, 'two, retried', 'k2')), s.appendMessage(msg(a, 'three', 'k3')), s.appendMessage(msg(a, 'one, retried', 'k1'))]);
      assert.deepEqual(
        later.map((r) => r.kind),
        ['duplicate', 'stored', 'duplicate'],
      );
      assert.deepEqual(later[0].kind === 'duplicate' && later[0].message, first[5].kind === 'stored' && first[5].message);
      assert.deepEqual(later[2].kind === 'duplicate' && later[2].message, k1);
      assert.deepEqual(later.map(seqOf), [3, 4, 1]);
      assert.deepEqual(await texts(a.id), ['1:one', '2:plain', '3:two', '4:three']);
      assert.deepEqual(await texts(b.id), ['1:other chat, same key']);
      assert.equal((await s.getConversation(a.id))?.lastSeq, 4);
    });

    it('refuses what a conversation does not accept without touching the rest of the batch', async () => {
      const s = store();
      const [open, closed, held] = await chats(3);
      await s.appendMessage(msg(closed, 'before the close'));
      assert.ok(await s.closeConversation(closed.id, 'customer', tick()));
      const holder = await s.createRep(newUser(), 2);
      const other = await s.createRep(newUser(), 2);
      for (const r of [holder, other]) await s.updateRep(r.profile.id, { status: 'online' });
      assert.ok(await s.enqueue(held.id, tick()));
      assert.equal((await s.assign(held.id, holder.profile.id, tick())).ok, true);
      const asRep = (r: typeof holder, text: string, clientId: string | null = null): AppendMessage => ({
        ...msg(held, text, clientId),
        authorId: r.user.id,
        repId: r.profile.id,
      });
      const results = await Promise.all([
        s.appendMessage(msg(open, 'a1')),
        s.appendMessage(msg(closed, 'too late', 'late')),
        s.appendMessage(asRep(other, 'not mine', 'shared')),
        s.appendMessage(msg({ id: randomUUID(), author: open.author }, 'nowhere')),
        s.appendMessage(asRep(holder, 'mine', 'shared')),
        s.appendMessage(msg(open, 'a2')),
        s.appendMessage(msg(held, 'customer')),
      ]);
      assert.deepEqual(results[1], { kind: 'refused', status: 'closed' });
      assert.deepEqual(results[2], { kind: 'refused', status: 'assigned' });
      assert.deepEqual(results[3], { kind: 'refused', status: null });
      assert.deepEqual(
        [0, 4, 5, 6].map((i) => [results[i].kind, seqOf(results[i])]),
        [
          ['stored', 1],
          ['stored', 1],
          ['stored', 2],
          ['stored', 2],
        ],
        "the refused rep's client_id did not stop the holder's message that reuses it",
      );
      assert.deepEqual(await texts(open.id), ['1:a1', '2:a2']);
      assert.deepEqual(await texts(closed.id), ['1:before the close']);
      assert.deepEqual(await texts(held.id), ['1:mine', '2:customer']);
      assert.equal((await s.getConversation(closed.id))?.lastSeq, 1, 'a refused message takes no seq');
    });

    it('fails only the caller whose row the database rejects; the rest of the batch is stored without gaps', async () => {
      const s = raw();
      const [a, b] = await chats(2);
      await rejectTrigger(s, true);
      try {
        const settled = await Promise.allSettled([
          s.appendMessage(msg(a, 'a1')),
          s.appendMessage(msg(b, 'b1')),
          s.appendMessage(msg(a, 'reject: this one', 'bad')),
          s.appendMessage(msg(a, 'a2')),
          s.appendMessage(msg(b, 'b2', 'fine')),
        ]);
        assert.deepEqual(
          settled.map((r) => r.status),
          ['fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
        );
        assert.deepEqual(
          settled.map((r) => (r.status === 'fulfilled' ? seqOf(r.value) : 0)),
          [1, 1, 0, 2, 2],
        );
      } finally {
        await rejectTrigger(s, false);
      }
      assert.deepEqual(await texts(a.id), ['1:a1', '2:a2']);
      assert.deepEqual(await texts(b.id), ['1:b1', '2:b2']);
      assert.equal((await s.getConversation(a.id))?.lastSeq, 2);
      const after = await s.appendMessage(msg(a, 'retried', 'bad'));
      assert.equal(after.kind === 'stored' && after.message.seq, 3, 'the rejected client_id was never stored');
    });

    it('writes what one tick appends to many conversations in one transaction (PostgreSQL)', async (t) => {
      const s = raw();
      if (s.dialect !== 'postgres') return t.skip('row versions (xmin) are PostgreSQL');
      const cs = await chats(3);
      await Promise.all(Array.from({ length: 30 }, (_, i) => s.appendMessage(msg(cs[i % 3], `m${i}`))));
      const { rows } = await sql<{ n: number }>`select count(distinct xmin::text)::int as n from messages where conversation_id in (${sql.join(cs.map((c) => c.id))})`.execute(s.db);
      assert.equal(rows[0].n, 1);
    });

    it('stores nothing of a batch whose connection dies mid-write, fails all its callers, and goes on (PostgreSQL)', async (t) => {
      const s = raw();
      if (s.dialect !== 'postgres') return t.skip('a backend killed mid-statement is PostgreSQL');
      const [a, b] = await chats(2);
      await s.appendMessage(msg(a, 'a1'));
      await sql.raw(`
        create or replace function sb_test_kill() returns trigger language plpgsql as $$
        begin
          if new.text like 'kill:%' then perform pg_terminate_backend(pg_backend_pid()); perform pg_sleep(5); end if;
          return new;
        end $$;
        create trigger sb_test_kill before insert on messages for each row execute function sb_test_kill();`).execute(s.db);
      let settled;
      try {
        settled = await Promise.allSettled([
          s.appendMessage(msg(a, 'a2', 'k')),
          s.appendMessage(msg(b, 'b1')),
          s.appendMessage(msg(a, 'kill: the connection')),
          s.appendMessage(msg(b, 'b2')),
        ]);
      } finally {
        await sql.raw(`drop trigger sb_test_kill on messages; drop function sb_test_kill();`).execute(s.db);
      }
      assert.deepEqual(
        settled.map((r) => r.status),
        ['rejected', 'rejected', 'rejected', 'rejected'],
      );
      assert.deepEqual(await texts(a.id), ['1:a1']);
      assert.deepEqual(await texts(b.id), []);
      assert.equal((await s.getConversation(a.id))?.lastSeq, 1);
      assert.equal((await s.getConversation(b.id))?.lastSeq, 0);
      const again = await Promise.all([s.appendMessage(msg(a, 'a2', 'k')), s.appendMessage(msg(b, 'b1'))]);
      assert.deepEqual(again.map((r) => [r.kind, seqOf(r)]), [
        ['stored', 2],
        ['stored', 1],
      ]);
    });
  });
}

/** A trigger that rejects messages whose text starts with "reject:", as a constraint would. */
async function rejectTrigger(s: SqlStore, on: boolean): Promise<void> {
  if (s.dialect === 'postgres') {
    await sql
      .raw(
        on
          ? `create or replace function sb_test_reject() returns trigger language plpgsql as $$
             begin
               if new.text like 'reject:%' then raise exception 'rejected for the test' using errcode = 'check_violation'; end if;
               return new;
             end $$;
             create trigger sb_test_reject before insert on messages for each row execute function sb_test_reject();`
          : `drop trigger sb_test_reject on messages; drop function sb_test_reject();`,
      )
      .execute(s.db);
    return;
  }
  await sql
    .raw(
      on
        ? `create trigger sb_test_reject before insert on messages when new.text like 'reject:%' begin select raise(abort, 'rejected for the test'); end`
        : `drop trigger sb_test_reject`,
    )
    .execute(s.db);
}
