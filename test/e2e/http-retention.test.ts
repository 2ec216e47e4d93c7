// Data retention over a real server: RETENTION_DAYS's sweeper deletes closed conversations past the limit in
// batches and leaves open and recent ones (SQLite and PostgreSQL); an admin exports one customer's data
// (complete; admins only) and erases it (data gone, its tokens and sockets dead, other customers untouched).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openPostgres, openSqlite } from '../../src/store/open.ts';
import type { Store } from '../../src/store/port.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createTempDatabase, requirePostgres } from '../helpers/pg.ts';
import { eventually } from '../helpers/wait.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep, type Account, type TestSocket } from '../helpers/client.ts';
import { assertClientError, createAdmin } from '../helpers/http-fixtures.ts';

const DAY = 86_400_000;
// More than the sweeper's batch (100), so that it needs a second batch.
const EXPIRED = 130;

/** Stores, before the server starts, closed conversations past 2 days, one closed an hour ago, and open old ones. */
async function seedOld(store: Store) {
  const now = Date.now();
  const { user, profile } = await store.createCustomer({ username: `old_${now}`, email: '', firstName: '', lastName: '', passwordHash: 'scrypt$stub' }, 1);
  const expired: string[] = [];
  for (let i = 0; i < EXPIRED; i++) {
    const at = now - 5 * DAY + i;
    const c = await store.createConversation(profile.id, at);
    await store.appendMessage({ conversationId: c.id, authorId: user.id, text: `old ${i}`, clientId: null, timestamp: at });
    await store.closeConversation(c.id, 'customer', now - 3 * DAY + i);
    expired.push(c.id);
  }
  const recent = await store.createConversation(profile.id, now - 5 * DAY);
  await store.appendMessage({ conversationId: recent.id, authorId: user.id, text: 'recent', clientId: null, timestamp: now - 5 * DAY });
  await store.closeConversation(recent.id, 'customer', now - 3_600_000);
  const open = await store.createConversation(profile.id, now - 5 * DAY);
  await store.appendMessage({ conversationId: open.id, authorId: user.id, text: 'open', clientId: null, timestamp: now - 5 * DAY });
  return { expired, kept: [recent.id, open.id] };
}

const skipPg = await requirePostgres();

for (const [name, skip] of [
  ['SQLite', false],
  ['PostgreSQL', skipPg],
] as const) {
  describe(`RETENTION_DAYS on ${name}`, { skip: skip || undefined }, () => {
    it('deletes the closed conversations past the limit with their messages, in batches, and keeps open and recent ones', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'sb-retention-'));
      const db = name === 'PostgreSQL' ? await createTempDatabase('sbretention') : undefined;
      let server: TestServer | undefined;
      try {
        const seeding = db ? await openPostgres({ url: db.url, poolSize: 2 }) : await openSqlite({ file: join(dataDir, 'switchboard.sqlite3') });
        const seeded = await seedOld(seeding);
        await seeding.close();
        // The sweeper's first pass runs a second after start.
        server = await startServer({ dataDir, databaseUrl: db?.url, env: { RETENTION_DAYS: '2' } });
        const store = server.store;
        await eventually(async () => (await Promise.all(seeded.expired.map((id) => store.getConversation(id)))).every((c) => c === undefined), { what: 'every expired conversation deleted', timeoutMs: 60_000 });
        for (const id of seeded.expired.slice(0, 3)) assert.deepEqual(await store.listMessages(id), [], 'its messages went too');
        for (const id of seeded.kept) {
          assert.ok(await store.getConversation(id), `kept ${id}`);
          assert.equal((await store.listMessages(id)).length, 1, `${id} keeps its messages`);
        }
      } finally {
        await server?.stop();
        await db?.drop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}

describe("an admin's export and erasure of one customer", () => {
  let server: TestServer;
  let admin: Account;
  let rep: Account;
  before(async () => {
    server = await startServer();
    admin = await createAdmin(server.url, server.store);
    rep = await registerRep(server.url, 3);
  });
  after(async () => {
    await server?.stop({ wipe: true });
  });

  /** A customer with one closed conversation and one live chat with the rep, two messages each way... */
  async function customerWithHistory() {
    const chat = await openChat(server, rep);
    const say = async (sock: TestSocket, text: string) => {
      sock.send({ type: 'message', text });
      await chat.c.waitFor((f) => f.type === 'message' && f.message === text);
      await chat.r.waitFor((f) => f.type === 'message' && f.message === text);
    };
    await say(chat.c, `hello from ${chat.cust.username}`);
    await say(chat.r, 'hi, how can I help?');
    await say(chat.c, 'my order is late');
    const earlier = await openConversation(server.url, chat.cust);
    assert.equal((await http(server.url, 'POST', `/api/conversations/${earlier}/close/`, { token: chat.cust.access })).status, 200);
    return { ...chat, earlier };
  }
  const exportOf = (userId: number, token = admin.access) => http(server.url, 'GET', `/api/admin/customers/${userId}/export/`, { token });

  it("exports the customer's profile and every conversation with its whole history, to admins only", async () => {
    const a = await customerWithHistory();
    const other = await registerCustomer(server.url);
    await openConversation(server.url, other);
    const r = await exportOf(a.cust.userId);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.customer.id, a.cust.id);
    assert.equal(r.body.customer.user.username, a.cust.username);
    assert.equal(r.body.customer.phone_number, 5550100);
    const byId = new Map(r.body.conversations.map((c: any) => [c.id, c]));
    assert.deepEqual([...byId.keys()].sort(), [a.conv, a.earlier].sort(), 'both of its conversations, nobody else\'s');
    const live: any = byId.get(a.conv);
    assert.deepEqual(
      live.messages.map((m: any) => [m.seq, m.user, m.text]),
      [
        [1, a.cust.username, `hello from ${a.cust.username}`],
        [2, rep.username, 'hi, how can I help?'],
        [3, a.cust.username, 'my order is late'],
      ],
    );
    assert.equal((byId.get(a.earlier) as any).status, 'closed');
    assert.deepEqual((byId.get(a.earlier) as any).messages, []);

    for (const token of [a.cust.access, other.access, rep.access]) {
      assertClientError(await exportOf(a.cust.userId, token), 403, 'not an admin');
      assertClientError(await http(server.url, 'DELETE', `/api/admin/customers/${a.cust.userId}/`, { token }), 403, 'not an admin');
    }
    assertClientError(await http(server.url, 'GET', `/api/admin/customers/${a.cust.userId}/export/`), 401);
    assertClientError(await exportOf(rep.userId), 404, 'a rep is no customer');
    assertClientError(await exportOf(987654321), 404);
    assert.equal((await http(server.url, 'GET', '/api/me/', { token: a.cust.access })).status, 200, 'refused attempts changed nothing');
    a.c.close();
    a.r.close();
  });

  it("erasure deletes the customer's data, ends its tokens and sockets, frees the rep, and leaves other customers alone", async () => {
    const a = await customerWithHistory();
    const b = await customerWithHistory();
    const loadBefore = (await http(server.url, 'GET', '/api/reps/me/', { token: rep.access })).body.load;

    const r = await http(server.url, 'DELETE', `/api/admin/customers/${a.cust.userId}/`, { token: admin.access });
    assert.equal(r.status, 204, JSON.stringify(r.body));

    // Its socket is closed, its tokens are dead, it cannot sign in again, and its data is gone.
    assert.equal(await a.c.waitClose(), 4401);
    assertClientError(await http(server.url, 'GET', '/api/me/', { token: a.cust.access }), 401);
    assertClientError(await http(server.url, 'POST', '/auth/token/refresh/', { body: { refresh: a.cust.refresh } }), 401);
    assertClientError(await http(server.url, 'POST', '/auth/token/', { body: { username: a.cust.username, password: 'pw-123456' } }), 401);
    assertClientError(await exportOf(a.cust.userId), 404);
    for (const id of [a.conv, a.earlier]) {
      assert.equal(await server.store.getConversation(id), undefined, id);
      assert.deepEqual(await server.store.listMessages(id), []);
      assertClientError(await http(server.url, 'GET', `/api/conversations/${id}/`, { token: rep.access }), 404, 'the rep cannot read it either');
    }
    // The rep's slot for the erased chat is free; its chat with the other customer is not.
    await eventually(async () => (await http(server.url, 'GET', '/api/reps/me/', { token: rep.access })).body.load === loadBefore - 1, { what: 'the rep got its slot back' });

    // The other customer: its socket still works, its data is whole, and it can sign in.
    b.c.send({ type: 'message', text: 'still here' });
    await b.r.waitFor((f) => f.type === 'message' && f.message === 'still here');
    const detail = await http(server.url, 'GET', `/api/conversations/${b.conv}/`, { token: b.cust.access });
    assert.equal(detail.status, 200);
    assert.equal(detail.body.status, 'assigned');
    assert.deepEqual(detail.body.messages.map((m: any) => m.text).reverse(), [`hello from ${b.cust.username}`, 'hi, how can I help?', 'my order is late', 'still here']);
    assert.equal((await http(server.url, 'POST', '/auth/token/', { body: { username: b.cust.username, password: 'pw-123456' } })).status, 200);
    assert.equal((await exportOf(b.cust.userId)).body.conversations.length, 2);
    assertClientError(await http(server.url, 'DELETE', `/api/admin/customers/${a.cust.userId}/`, { token: admin.access }), 404, 'erased already');
    for (const s of [a.r, b.c, b.r]) s.close();
  });

  it("erasure also closes a customer's socket on a queued chat, and refuses a new one", async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const sock = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await sock.settle();
    assert.equal((await http(server.url, 'DELETE', `/api/admin/customers/${cust.userId}/`, { token: admin.access })).status, 204);
    assert.equal(await sock.waitClose(), 4401);
    const again = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await again.opened;
    assert.equal(await again.waitClose(), 4401);
  });
});
