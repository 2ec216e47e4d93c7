// GET /api/queue/ pages: at most 1000 entries unpaged (with a Link to the rest), ?limit=&offset= pages with
// X-Total-Count and Link rel="next"/"prev", bad values 400 with a JSON detail, and the schema in /docs.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { http, openConversation, registerCustomer, type Account } from '../helpers/client.ts';
import { assertClientError, createAdmin } from '../helpers/http-fixtures.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { enqueueConversation } from '../../src/services/enqueue.ts';

const TOTAL = 1205;

function links(header: string | null): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of (header ?? '').split(',')) {
    const m = /<([^>]+)>;\s*rel="([a-z]+)"/.exec(part.trim());
    if (m) out[m[2]] = m[1];
  }
  return out;
}

describe('GET /api/queue/ pages', () => {
  let server: TestServer;
  let admin: Account;
  let mine: Account;
  const own: string[] = [];

  before(async () => {
    server = await startServer({ env: { CUSTOMER_GRACE_MS: '3600000' } });
    admin = await createAdmin(server.url, server.store);
    mine = await registerCustomer(server.url);
    const other = await registerCustomer(server.url);
    // Seeded through the store and the enqueue service: no rep is online, so all of them wait.
    const ctx = server.services.ctx;
    for (let i = 0; i < TOTAL; i++) {
      const id = i === 1 || i === TOTAL - 1 ? await openConversation(server.url, mine) : (await server.store.createConversation(other.id, Date.now())).id;
      if (i === 1 || i === TOTAL - 1) own.push(id);
      await enqueueConversation(ctx, id);
    }
  });

  after(async () => {
    await server?.stop({ wipe: true });
  });

  test('unpaged: the first 1000 entries and a Link to the rest', async () => {
    const r = await http(server.url, 'GET', '/api/queue/', { token: admin.access });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 1000);
    assert.deepEqual(
      r.body.map((e: { position: number }) => e.position),
      Array.from({ length: 1000 }, (_, i) => i + 1),
    );
    assert.equal(r.headers.get('x-queue-length'), String(TOTAL));
    assert.equal(links(r.headers.get('link')).next, '/api/queue/?limit=1000&offset=1000');
  });

  test('paged: X-Total-Count, next, prev, and the last page has no next', async () => {
    const r = await http(server.url, 'GET', '/api/queue/?limit=100&offset=1100', { token: admin.access });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.map((e: { position: number }) => e.position),
      Array.from({ length: 100 }, (_, i) => 1101 + i),
    );
    assert.equal(r.headers.get('x-total-count'), String(TOTAL));
    const l = links(r.headers.get('link'));
    assert.equal(l.next, '/api/queue/?limit=100&offset=1200');
    assert.equal(l.prev, '/api/queue/?limit=100&offset=1000');
    const last = await http(server.url, 'GET', l.next, { token: admin.access });
    assert.equal(last.status, 200);
    assert.deepEqual(
      last.body.map((e: { position: number }) => e.position),
      [1201, 1202, 1203, 1204, 1205],
    );
    assert.equal(links(last.headers.get('link')).next, undefined);
    // The pages agree with the unpaged read on who is where.
    const whole = await http(server.url, 'GET', '/api/queue/?limit=1000&offset=205', { token: admin.access });
    assert.deepEqual(
      whole.body.slice(-5).map((e: { id: string }) => e.id),
      last.body.map((e: { id: string }) => e.id),
    );
  });

  test('offset alone pages by 100', async () => {
    const r = await http(server.url, 'GET', '/api/queue/?offset=1200', { token: admin.access });
    assert.equal(r.status, 200);
    assert.equal(r.body.length, 5);
  });

  test('a customer sees its own entries only, at their places, paged the same way', async () => {
    const r = await http(server.url, 'GET', '/api/queue/', { token: mine.access });
    assert.equal(r.status, 200);
    assert.deepEqual(
      r.body.map((e: { id: string; position: number }) => [e.id, e.position]),
      [
        [own[0], 2],
        [own[1], TOTAL],
      ],
    );
    const p = await http(server.url, 'GET', '/api/queue/?limit=1', { token: mine.access });
    assert.deepEqual(
      p.body.map((e: { id: string }) => e.id),
      [own[0]],
    );
    assert.equal(p.headers.get('x-total-count'), '2');
    assert.equal(links(p.headers.get('link')).next, '/api/queue/?limit=1&offset=1');
  });

  test('bad limit or offset: 400 with a JSON detail', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'offset=-1', 'offset=1.5', 'offset=1e12', 'limit=5&limit=6']) {
      const r = await http(server.url, 'GET', `/api/queue/?${q}`, { token: admin.access });
      assertClientError(r, 400, q);
    }
  });

  test('the parameters are in the OpenAPI schema', async () => {
    const r = await http(server.url, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    const params = (r.body.paths['/api/queue/'].get.parameters as Array<{ name: string; in: string }>).filter((p) => p.in === 'query').map((p) => p.name);
    assert.deepEqual(params.sort(), ['limit', 'offset']);
  });
});
