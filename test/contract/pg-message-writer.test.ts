// Two instances on one PostgreSQL database, each with its own message writer and pool, appending to the same
// conversations at once: their batches lock conversation rows in one order (no deadlock), seqs stay gap-free,
// and a client_id sent through both is stored once (the loser's batch is retried and answers `duplicate`).
// Skipped with a reason when PostgreSQL is unreachable; under CI=true that is a failure instead.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../helpers/pg.ts';
import { openPostgres } from '../../src/store/open.ts';
import type { AppendResult } from '../../src/store/port.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';

const skip = await requirePostgres();

describe('PostgreSQL message writer, two instances', { skip: skip || undefined }, () => {
  let db: TempDatabase;
  let one: SqlStore;
  let two: SqlStore;

  before(async () => {
    db = await createTempDatabase('sbpgwriter');
    one = await openPostgres({ url: db.url, poolSize: 4 });
    two = await openPostgres({ url: db.url, poolSize: 4 });
  });

  after(async () => {
    await one?.close();
    await two?.close();
    await db?.drop();
  });

  it('keeps seqs gap-free and each client_id once when both write to the same conversations', async () => {
    const chats = [];
    for (let i = 0; i < 4; i++) {
      const username = `pw_${randomUUID().slice(0, 12)}`;
      const cust = await one.createCustomer({ username, email: `${username}@example.com`, firstName: 'F', lastName: 'L', passwordHash: 'x' }, 5551234);
      chats.push({ id: (await one.createConversation(cust.profile.id, Date.now())).id, author: cust.user.id });
    }
    const calls: Promise<AppendResult>[] = [];
    for (let round = 0; round < 20; round++) {
      for (const [k, store] of [one, two].entries()) {
        // Each instance walks the conversations in its own order, so their batches would cross without one lock order.
        const order = k === 0 ? chats : [...chats].reverse();
        for (const c of order) {
          calls.push(store.appendMessage({ conversationId: c.id, authorId: c.author, text: `r${round}`, clientId: `same-${round}`, timestamp: Date.now() }));
          calls.push(store.appendMessage({ conversationId: c.id, authorId: c.author, text: `i${k}r${round}`, clientId: null, timestamp: Date.now() }));
        }
      }
      await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(calls);
    const stored = results.filter((r) => r.kind === 'stored');
    assert.equal(results.filter((r) => r.kind === 'duplicate').length, 20 * chats.length, 'each shared client_id lost once');
    assert.equal(stored.length, 3 * 20 * chats.length);
    for (const c of chats) {
      const rows = await one.messagesAfter(c.id, 0);
      assert.deepEqual(
        rows.map((m) => m.seq),
        rows.map((_, i) => i + 1),
      );
      assert.equal(rows.length, 60);
      assert.equal(new Set(rows.filter((m) => m.clientId).map((m) => m.clientId)).size, 20);
      assert.equal((await one.getConversation(c.id))?.lastSeq, 60);
    }
    for (const r of results) {
      if (r.kind !== 'duplicate') continue;
      const winner = stored.find((s) => s.kind === 'stored' && s.message.conversationId === r.message.conversationId && s.message.clientId === r.message.clientId);
      assert.deepEqual(r.message, winner?.kind === 'stored' ? winner.message : undefined, 'the duplicate answers with the row the other instance stored');
    }
  });
});
