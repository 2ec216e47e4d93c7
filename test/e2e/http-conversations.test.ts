// Conversations over HTTP: opening, listing (order, paging, who sees what), detail with messages,
// message paging, and 404 for anyone who may not read. Assignments and messages only arrive over the
// WebSocket, so they are seeded through the store's own transitions.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { assertClientError, createAdmin, ISO_MS_Z, seedAssigned, seedMessages, UUID } from '../helpers/http-fixtures.ts';

const LIST_ITEM_KEYS = ['id', 'customer', 'customer_rep', 'latest_message', 'created_at', 'status', 'queued_at', 'assigned_at', 'closed_at'];
const MESSAGE_KEYS = ['id', 'text', 'user', 'conversation', 'timestamp', 'seq'];

function assertListItem(item: any) {
  for (const k of LIST_ITEM_KEYS) assert.ok(k in item, `list item has ${k}: ${JSON.stringify(item)}`);
  assert.match(item.id, UUID);
  assert.ok(Number.isInteger(item.customer));
  assert.ok(item.customer_rep === null || Number.isInteger(item.customer_rep));
  assert.match(item.created_at, ISO_MS_Z);
  for (const k of ['queued_at', 'assigned_at', 'closed_at']) assert.ok(item[k] === null || ISO_MS_Z.test(item[k]), `${k}: ${item[k]}`);
}

function assertMessage(m: any, conversationId: string) {
  for (const k of MESSAGE_KEYS) assert.ok(k in m, `message has ${k}: ${JSON.stringify(m)}`);
  assert.ok(Number.isInteger(m.id));
  assert.equal(typeof m.text, 'string');
  assert.equal(typeof m.user, 'string');
  assert.equal(m.conversation, conversationId);
  assert.match(m.timestamp, ISO_MS_Z);
  assert.ok(Number.isInteger(m.seq) && m.seq >= 1);
}

/** Parses a Link header into {rel: url}. */
function links(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(',')) {
    const m = /<([^>]+)>\s*;\s*rel="([^"]+)"/.exec(part.trim());
    if (m) out[m[2]] = m[1];
  }
  return out;
}

describe('conversations over HTTP', () => {
  let server: TestServer;
  let base: string;

  before(async () => {
    server = await startServer();
    base = server.url;
  });
  after(async () => {
    await server.stop({ wipe: true });
  });

  describe('POST /api/conversations/', () => {
    test('a customer opens one: 201, list-item shape, status new', async () => {
      const c = await registerCustomer(base);
      const before = Date.now();
      const r = await http(base, 'POST', '/api/conversations/', { token: c.access, body: {} });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assertListItem(r.body);
      assert.equal(r.body.customer, c.id, 'customer is the profile id');
      assert.equal(r.body.customer_rep, null);
      assert.equal(r.body.latest_message, null);
      assert.equal(r.body.status, 'new');
      assert.equal(r.body.queued_at, null);
      assert.equal(r.body.assigned_at, null);
      assert.equal(r.body.closed_at, null);
      const created = Date.parse(r.body.created_at);
      assert.ok(created >= before - 1000 && created <= Date.now() + 1000, r.body.created_at);
      assert.ok(r.body.created_at.endsWith('Z'));

      // Each POST opens a new one.
      const second = await http(base, 'POST', '/api/conversations/', { token: c.access, body: {} });
      assert.equal(second.status, 201);
      assert.notEqual(second.body.id, r.body.id);
    });

    test('no body at all, or an empty JSON body, also opens one', async () => {
      const c = await registerCustomer(base);
      assert.equal((await http(base, 'POST', '/api/conversations/', { token: c.access })).status, 201);
      assert.equal((await http(base, 'POST', '/api/conversations/', { token: c.access, raw: '' })).status, 201);
    });

    test('a rep gets 403, an admin gets 403, nobody gets 401', async () => {
      const rep = await registerRep(base, 1);
      assertClientError(await http(base, 'POST', '/api/conversations/', { token: rep.access, body: {} }), 403);
      const admin = await createAdmin(base, server.store);
      assertClientError(await http(base, 'POST', '/api/conversations/', { token: admin.access, body: {} }), 403);
      assertClientError(await http(base, 'POST', '/api/conversations/', { body: {} }), 401);
      assert.deepEqual((await http(base, 'GET', '/api/conversations/', { token: rep.access })).body, []);
    });

    test('a body customer must be the caller: another profile -> 403 (nothing opened), own profile -> 201', async () => {
      const a = await registerCustomer(base);
      const b = await registerCustomer(base);
      assertClientError(await http(base, 'POST', '/api/conversations/', { token: a.access, body: { customer: b.id } }), 403);
      assert.deepEqual((await http(base, 'GET', '/api/conversations/', { token: a.access })).body, []);
      assert.deepEqual((await http(base, 'GET', '/api/conversations/', { token: b.access })).body, []);
      const own = await http(base, 'POST', '/api/conversations/', { token: a.access, body: { customer: a.id } });
      assert.equal(own.status, 201, JSON.stringify(own.body));
      assert.equal(own.body.customer, a.id);
    });
  });

  describe('GET /api/conversations/', () => {
    test('newest first, a plain array', async () => {
      const c = await registerCustomer(base);
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) ids.push(await openConversation(base, c));
      const r = await http(base, 'GET', '/api/conversations/', { token: c.access });
      assert.equal(r.status, 200);
      assert.ok(Array.isArray(r.body), 'a bare JSON array');
      assert.deepEqual(r.body.map((x: any) => x.id), [...ids].reverse());
      r.body.forEach(assertListItem);
      const created = r.body.map((x: any) => Date.parse(x.created_at));
      for (let i = 1; i < created.length; i++) assert.ok(created[i - 1] >= created[i], 'created_at descending');
    });

    test('?limit=&offset= pages it, with a Link header, still a plain array', async () => {
      const c = await registerCustomer(base);
      const ids: string[] = [];
      for (let i = 0; i < 5; i++) ids.push(await openConversation(base, c));
      const newestFirst = [...ids].reverse();

      const p1 = await http(base, 'GET', '/api/conversations/?limit=2', { token: c.access });
      assert.equal(p1.status, 200);
      assert.ok(Array.isArray(p1.body));
      assert.deepEqual(p1.body.map((x: any) => x.id), newestFirst.slice(0, 2));
      const l1 = links(p1.headers.get('link'));
      assert.ok(l1.next, `next link in ${p1.headers.get('link')}`);
      assert.ok(!l1.prev, 'no prev on the first page');

      // Following the links walks every conversation once.
      const seen: string[] = [...p1.body.map((x: any) => x.id)];
      let next: string | undefined = l1.next;
      let pages = 1;
      while (next) {
        const p = await http(base, 'GET', next, { token: c.access });
        assert.equal(p.status, 200, `${next}: ${JSON.stringify(p.body)}`);
        assert.ok(Array.isArray(p.body));
        seen.push(...p.body.map((x: any) => x.id));
        next = links(p.headers.get('link')).next;
        assert.ok(++pages <= 5, 'the links end');
      }
      assert.deepEqual(seen, newestFirst);

      const mid = await http(base, 'GET', '/api/conversations/?limit=2&offset=2', { token: c.access });
      assert.deepEqual(mid.body.map((x: any) => x.id), newestFirst.slice(2, 4));
      const lm = links(mid.headers.get('link'));
      assert.ok(lm.next && lm.prev, mid.headers.get('link') ?? '');

      const last = await http(base, 'GET', '/api/conversations/?limit=2&offset=4', { token: c.access });
      assert.deepEqual(last.body.map((x: any) => x.id), newestFirst.slice(4));
      assert.ok(!links(last.headers.get('link')).next, 'no next on the last page');

      const past = await http(base, 'GET', '/api/conversations/?offset=50', { token: c.access });
      assert.equal(past.status, 200);
      assert.deepEqual(past.body, []);

      const unpaged = await http(base, 'GET', '/api/conversations/', { token: c.access });
      assert.equal(unpaged.body.length, 5, 'everything by default');
    });

    test('bad paging parameters -> 400', async () => {
      const c = await registerCustomer(base);
      for (const q of ['limit=0', 'limit=-1', 'limit=abc', 'offset=-1', 'limit=1.5', 'scope=everything']) {
        assertClientError(await http(base, 'GET', `/api/conversations/?${q}`, { token: c.access }), 400, q);
      }
    });
  });

  describe('who sees what, detail and messages', () => {
    // c1 has: held (assigned to rep1, with messages), past (assigned to rep1, then requeued), closed (rep1 closed it), fresh (new).
    // c2 has: other (assigned to rep2).
    let c1: Account;
    let c2: Account;
    let rep1: Account;
    let rep2: Account;
    let never: Account;
    let admin: Account;
    const conv: Record<'held' | 'past' | 'closed' | 'fresh' | 'other', string> = { held: '', past: '', closed: '', fresh: '', other: '' };
    let messages: Awaited<ReturnType<typeof seedMessages>>;

    before(async () => {
      c1 = await registerCustomer(base);
      c2 = await registerCustomer(base);
      rep1 = await registerRep(base, 5);
      rep2 = await registerRep(base, 5);
      never = await registerRep(base, 5);
      admin = await createAdmin(base, server.store);
      const store = server.store;

      conv.past = await openConversation(base, c1);
      await seedAssigned(store, conv.past, rep1.id);
      assert.ok(await store.requeue(conv.past, rep1.id, Date.now()));

      conv.closed = await openConversation(base, c1);
      await seedAssigned(store, conv.closed, rep1.id);
      assert.ok(await store.closeConversation(conv.closed, 'rep', Date.now()));

      conv.held = await openConversation(base, c1);
      await seedAssigned(store, conv.held, rep1.id);
      messages = await seedMessages(store, conv.held, [c1, rep1], 7);

      conv.other = await openConversation(base, c2);
      await seedAssigned(store, conv.other, rep2.id);

      conv.fresh = await openConversation(base, c1);
    });

    const ids = (r: { body: any }) => r.body.map((x: any) => x.id);

    test('a customer sees its own conversations only', async () => {
      const r1 = await http(base, 'GET', '/api/conversations/', { token: c1.access });
      assert.deepEqual(ids(r1), [conv.fresh, conv.held, conv.closed, conv.past]);
      for (const item of r1.body) assert.equal(item.customer, c1.id);
      const r2 = await http(base, 'GET', '/api/conversations/', { token: c2.access });
      assert.deepEqual(ids(r2), [conv.other]);
    });

    test('list items carry status, customer_rep, times and latest_message', async () => {
      const list = (await http(base, 'GET', '/api/conversations/', { token: c1.access })).body;
      const byId = Object.fromEntries(list.map((x: any) => [x.id, x]));
      const held = byId[conv.held];
      assertListItem(held);
      assert.equal(held.status, 'assigned');
      assert.equal(held.customer_rep, rep1.id, 'customer_rep is the rep profile id');
      assert.match(held.queued_at, ISO_MS_Z);
      assert.match(held.assigned_at, ISO_MS_Z);
      assert.equal(held.closed_at, null);
      assertMessage(held.latest_message, conv.held);
      assert.equal(held.latest_message.seq, 7);
      assert.equal(held.latest_message.text, messages[6].text);

      assert.equal(byId[conv.past].status, 'queued');
      assert.equal(byId[conv.past].customer_rep, null);
      assert.equal(byId[conv.closed].status, 'closed');
      assert.match(byId[conv.closed].closed_at, ISO_MS_Z);
      assert.equal(byId[conv.fresh].status, 'new');
      assert.equal(byId[conv.fresh].latest_message, null);
    });

    test('a rep sees the conversations it currently holds; ?scope=history adds the ones it held', async () => {
      const current = await http(base, 'GET', '/api/conversations/', { token: rep1.access });
      assert.equal(current.status, 200);
      assert.deepEqual(ids(current), [conv.held]);
      const explicit = await http(base, 'GET', '/api/conversations/?scope=current', { token: rep1.access });
      assert.deepEqual(ids(explicit), [conv.held]);
      const history = await http(base, 'GET', '/api/conversations/?scope=history', { token: rep1.access });
      assert.equal(history.status, 200);
      assert.ok(Array.isArray(history.body));
      assert.deepEqual(ids(history), [conv.held, conv.closed, conv.past]);

      assert.deepEqual(ids(await http(base, 'GET', '/api/conversations/', { token: rep2.access })), [conv.other]);
      assert.deepEqual((await http(base, 'GET', '/api/conversations/', { token: never.access })).body, []);
      assert.deepEqual((await http(base, 'GET', '/api/conversations/?scope=history', { token: never.access })).body, []);

      const paged = await http(base, 'GET', '/api/conversations/?scope=history&limit=1&offset=1', { token: rep1.access });
      assert.deepEqual(ids(paged), [conv.closed]);
      const next = links(paged.headers.get('link')).next;
      assert.ok(next && next.includes('scope=history'), `the Link keeps the scope: ${paged.headers.get('link')}`);
      assert.deepEqual(ids(await http(base, 'GET', next, { token: rep1.access })), [conv.past]);
    });

    test('?scope=history does not widen a customer view', async () => {
      assert.deepEqual(ids(await http(base, 'GET', '/api/conversations/?scope=history', { token: c2.access })), [conv.other]);
    });

    test('an admin sees all of them, newest first', async () => {
      const r = await http(base, 'GET', '/api/conversations/', { token: admin.access });
      assert.equal(r.status, 200);
      const all = ids(r);
      const mine = [conv.fresh, conv.other, conv.held, conv.closed, conv.past];
      assert.deepEqual(all.filter((id: string) => mine.includes(id)), mine);
      const created = r.body.map((x: any) => Date.parse(x.created_at));
      for (let i = 1; i < created.length; i++) assert.ok(created[i - 1] >= created[i]);
    });

    test('detail: the list item plus every message, newest first', async () => {
      const r = await http(base, 'GET', `/api/conversations/${conv.held}/`, { token: c1.access });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assertListItem(r.body);
      assert.equal(r.body.id, conv.held);
      assert.equal(r.body.customer, c1.id);
      assert.equal(r.body.customer_rep, rep1.id);
      assert.ok(Array.isArray(r.body.messages));
      assert.deepEqual(r.body.messages.map((m: any) => m.seq), [7, 6, 5, 4, 3, 2, 1]);
      for (const m of r.body.messages) assertMessage(m, conv.held);
      const expected = [...messages].reverse();
      assert.deepEqual(
        r.body.messages.map((m: any) => ({ id: m.id, text: m.text, user: m.user, seq: m.seq })),
        expected.map((m) => ({ id: m.id, text: m.text, user: m.username, seq: m.seq })),
      );
      assert.equal(r.body.messages[0].user, c1.username, 'user is the author username');
      assert.equal(r.body.messages[1].user, rep1.username, 'user is the author username');
      assert.deepEqual(r.body.latest_message, r.body.messages[0]);

      const empty = await http(base, 'GET', `/api/conversations/${conv.fresh}/`, { token: c1.access });
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body.messages, []);
    });

    test('detail is readable by the current rep, a past rep, and an admin', async () => {
      assert.equal((await http(base, 'GET', `/api/conversations/${conv.held}/`, { token: rep1.access })).status, 200);
      assert.equal((await http(base, 'GET', `/api/conversations/${conv.past}/`, { token: rep1.access })).status, 200);
      assert.equal((await http(base, 'GET', `/api/conversations/${conv.closed}/`, { token: rep1.access })).status, 200);
      assert.equal((await http(base, 'GET', `/api/conversations/${conv.held}/messages/`, { token: rep1.access })).status, 200);
      const a = await http(base, 'GET', `/api/conversations/${conv.held}/`, { token: admin.access });
      assert.equal(a.status, 200);
      assert.equal(a.body.messages.length, 7);
      // The id is matched case-insensitively.
      assert.equal((await http(base, 'GET', `/api/conversations/${conv.held.toUpperCase()}/`, { token: c1.access })).status, 200);
    });

    test('another customer and a never-assigned rep get 404 on detail and on messages/, the same as an unknown id', async () => {
      const unknown = await http(base, 'GET', '/api/conversations/01900000-0000-7000-8000-000000000000/', { token: c2.access });
      assertClientError(unknown, 404);
      for (const who of [c2, never, rep2]) {
        for (const path of [`/api/conversations/${conv.held}/`, `/api/conversations/${conv.held}/messages/`, `/api/conversations/${conv.past}/`]) {
          const r = await http(base, 'GET', path, { token: who.access });
          assertClientError(r, 404, `${who.username} ${path}`);
          assert.deepEqual(r.body, unknown.body, 'nothing tells a foreign id from an unknown one');
          assert.ok(!JSON.stringify(r.body).includes('msg '), 'no message text leaks');
        }
      }
      // The rep who was never assigned cannot reach it through paging parameters either.
      assertClientError(await http(base, 'GET', `/api/conversations/${conv.held}/messages/?before_seq=5&limit=2`, { token: never.access }), 404);
    });

    test('non-UUID and very long ids -> 404', async () => {
      const bad = ['abc', '123', `${conv.held}x`, conv.held.replace(/-/g, ''), `{${conv.held}}`, '..', '%20', 'a'.repeat(4096), `${conv.held}${'0'.repeat(4096 - conv.held.length)}`, 'a'.repeat(4097), 'b'.repeat(8000)];
      for (const id of bad) {
        for (const suffix of ['/', '/messages/']) {
          const r = await http(base, 'GET', `/api/conversations/${id}${suffix}`, { token: admin.access });
          assertClientError(r, 404, `${id.slice(0, 40)}(${id.length})${suffix}`);
        }
      }
    });

    test('/messages/?before_seq=&limit= pages the history newest first', async () => {
      const all = await http(base, 'GET', `/api/conversations/${conv.held}/messages/`, { token: c1.access });
      assert.equal(all.status, 200);
      assert.ok(Array.isArray(all.body));
      assert.deepEqual(all.body.map((m: any) => m.seq), [7, 6, 5, 4, 3, 2, 1]);
      for (const m of all.body) assertMessage(m, conv.held);

      const p1 = await http(base, 'GET', `/api/conversations/${conv.held}/messages/?limit=3`, { token: c1.access });
      assert.deepEqual(p1.body.map((m: any) => m.seq), [7, 6, 5]);
      const p2 = await http(base, 'GET', `/api/conversations/${conv.held}/messages/?before_seq=5&limit=3`, { token: c1.access });
      assert.deepEqual(p2.body.map((m: any) => m.seq), [4, 3, 2]);
      const p3 = await http(base, 'GET', `/api/conversations/${conv.held}/messages/?before_seq=2&limit=3`, { token: c1.access });
      assert.deepEqual(p3.body.map((m: any) => m.seq), [1]);
      const none = await http(base, 'GET', `/api/conversations/${conv.held}/messages/?before_seq=1`, { token: c1.access });
      assert.deepEqual(none.body, []);

      // Following the Link header from the first page visits every message exactly once.
      const seqs: number[] = p1.body.map((m: any) => m.seq);
      let next = links(p1.headers.get('link')).next;
      let guard = 0;
      while (next) {
        const p = await http(base, 'GET', next, { token: c1.access });
        assert.equal(p.status, 200);
        seqs.push(...p.body.map((m: any) => m.seq));
        next = links(p.headers.get('link')).next;
        assert.ok(++guard < 10);
      }
      assert.deepEqual(seqs, [7, 6, 5, 4, 3, 2, 1]);

      for (const q of ['before_seq=0', 'before_seq=abc', 'limit=0', 'limit=-2', 'limit=100000']) {
        assertClientError(await http(base, 'GET', `/api/conversations/${conv.held}/messages/?${q}`, { token: c1.access }), 400, q);
      }
    });
  });
});
