// A representative subset of the HTTP suites against PostgreSQL: a fresh temp database per run.
// Outside CI a down PostgreSQL skips this file loudly; under CI=true it fails (test/helpers/pg.ts).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, login, openConversation, registerCustomer, registerRep, uniqueName } from '../helpers/client.ts';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../helpers/pg.ts';
import { assertClientError, createAdmin, ISO_MS_Z, registerCustomerRaw, seedAssigned, seedMessages, UUID } from '../helpers/http-fixtures.ts';

const skip = await requirePostgres();

describe('HTTP on PostgreSQL', { skip }, () => {
  let db: TempDatabase;
  let server: TestServer;
  let base: string;

  before(async () => {
    db = await createTempDatabase('sbhttp');
    server = await startServer({ databaseUrl: db.url });
    base = server.url;
    assert.equal(server.store.dialect, 'postgres');
  });
  after(async () => {
    await server?.stop();
    if (server) rmSync(server.dataDir, { recursive: true, force: true });
    await db?.drop();
  });

  test('register a customer and a rep: shapes, ids, taken username', async () => {
    const username = uniqueName('pgc');
    const r = await registerCustomerRaw(base, username, { phone_number: 999_999_999_999 });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body, {
      id: r.body.id,
      user: { id: r.body.user.id, username, email: `${username}@example.com`, first_name: 'Cee', last_name: 'Ex' },
      phone_number: 999_999_999_999,
    });
    assert.equal(typeof r.body.id, 'number', 'bigint ids come back as JSON numbers');
    const taken = await registerCustomerRaw(base, username);
    assertClientError(taken, 400);
    assert.ok(Array.isArray(taken.body.user?.username));

    const rep = await registerRep(base, 2);
    const me = await http(base, 'GET', '/api/me/', { token: rep.access });
    assert.equal(me.body.role, 'rep');
    assert.equal(me.body.profile.id, rep.id);
    assert.equal(me.body.profile.max_capacity, 2);
  });

  test('login, wrong password, refresh rotation and family revocation, logout', async () => {
    const c = await registerCustomer(base);
    assertClientError(await http(base, 'POST', '/auth/token/', { body: { username: c.username, password: 'nope' } }), 401);
    const alias = await http(base, 'POST', '/auth/login/', { body: { username: c.username, password: 'pw-123456' } });
    assert.equal(alias.status, 200);

    const rotated = await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: c.refresh } });
    assert.equal(rotated.status, 200, JSON.stringify(rotated.body));
    assert.notEqual(rotated.body.refresh, c.refresh);
    assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: c.refresh } }), 401);
    assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: rotated.body.refresh } }), 401);
    const survivor = await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: alias.body.refresh } });
    assert.equal(survivor.status, 200, 'another family lives on');
    // The replay also ended the access tokens minted before it (which side is the thief is unknown).
    assertClientError(await http(base, 'GET', '/api/me/', { token: c.access }), 401);

    assert.equal((await http(base, 'POST', '/auth/logout/', { token: survivor.body.access })).status, 200);
    assertClientError(await http(base, 'GET', '/api/me/', { token: survivor.body.access }), 401);
    const fresh = await login(base, c.username, 'pw-123456');
    assert.equal((await http(base, 'GET', '/api/me/', { token: fresh.access })).status, 200);
  });

  test('open, list (newest first, paged), detail with messages; 404 for a foreign reader', async () => {
    const c = await registerCustomer(base);
    const other = await registerCustomer(base);
    const rep = await registerRep(base, 3);
    const never = await registerRep(base, 3);

    const opened = await http(base, 'POST', '/api/conversations/', { token: c.access, body: { customer: c.id } });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    assert.match(opened.body.id, UUID);
    assert.equal(opened.body.customer, c.id);
    assert.equal(opened.body.status, 'new');
    assert.equal(opened.body.customer_rep, null);
    assert.equal(opened.body.latest_message, null);
    assert.match(opened.body.created_at, ISO_MS_Z);
    assertClientError(await http(base, 'POST', '/api/conversations/', { token: c.access, body: { customer: other.id } }), 403);
    assertClientError(await http(base, 'POST', '/api/conversations/', { token: rep.access, body: {} }), 403);

    const second = await openConversation(base, c);
    const third = await openConversation(base, c);
    const list = await http(base, 'GET', '/api/conversations/', { token: c.access });
    assert.deepEqual(list.body.map((x: any) => x.id), [third, second, opened.body.id]);
    const page = await http(base, 'GET', '/api/conversations/?limit=2&offset=1', { token: c.access });
    assert.deepEqual(page.body.map((x: any) => x.id), [second, opened.body.id]);
    assert.match(page.headers.get('link') ?? '', /rel="first"/);

    await seedAssigned(server.store, second, rep.id);
    const seeded = await seedMessages(server.store, second, [c, rep], 4);
    const detail = await http(base, 'GET', `/api/conversations/${second}/`, { token: c.access });
    assert.equal(detail.status, 200, JSON.stringify(detail.body));
    assert.equal(detail.body.status, 'assigned');
    assert.equal(detail.body.customer_rep, rep.id);
    assert.deepEqual(detail.body.messages.map((m: any) => m.seq), [4, 3, 2, 1]);
    assert.deepEqual(detail.body.messages.map((m: any) => m.id), seeded.map((m) => m.id).reverse());
    assert.equal(detail.body.messages[0].user, rep.username);
    assert.equal(detail.body.messages[0].conversation, second);
    assert.match(detail.body.messages[0].timestamp, ISO_MS_Z);
    const paged = await http(base, 'GET', `/api/conversations/${second}/messages/?before_seq=3&limit=1`, { token: rep.access });
    assert.deepEqual(paged.body.map((m: any) => m.seq), [2]);

    assert.deepEqual((await http(base, 'GET', '/api/conversations/', { token: rep.access })).body.map((x: any) => x.id), [second]);
    const admin = await createAdmin(base, server.store);
    assert.ok((await http(base, 'GET', '/api/conversations/', { token: admin.access })).body.some((x: any) => x.id === second));

    for (const who of [other, never]) {
      assertClientError(await http(base, 'GET', `/api/conversations/${second}/`, { token: who.access }), 404);
      assertClientError(await http(base, 'GET', `/api/conversations/${second}/messages/`, { token: who.access }), 404);
    }
    assertClientError(await http(base, 'GET', '/api/conversations/not-a-uuid/', { token: c.access }), 404);
    assertClientError(await http(base, 'GET', `/api/conversations/${'a'.repeat(4096)}/`, { token: c.access }), 404);
  });

  test('bad input changes nothing and the store stays ready', async () => {
    const username = uniqueName('pgnul');
    assertClientError(await registerCustomerRaw(base, username, { user: { username, first_name: 'x\u0000' } }), 400);
    const hugePhone = `{"user":{"username":"${username}"},"phone_number":99999999999999999999,"password":"pw-123456","password1":"pw-123456"}`;
    assertClientError(await http(base, 'POST', '/api/register_customer/', { raw: hugePhone }), 400);
    assertClientError(await http(base, 'POST', '/auth/token/', { body: { username, password: 'pw-123456' } }), 401);
    const ready = await http(base, 'GET', '/readyz');
    assert.equal(ready.status, 200);
    assert.equal(ready.body.checks.store, 'ok');
  });
});
