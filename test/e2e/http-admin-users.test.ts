// Admin account endpoints over a real server: list, create a rep, deactivate (tokens and sockets die at
// once, a rep's chats go back to the queue), reactivate, reset a password; who may register a rep, and
// the capacity cap.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, login, openChat, registerCustomer, registerRep, uniqueName, type Account } from '../helpers/client.ts';
import { assertClientError, createAdmin, registerRepRaw } from '../helpers/http-fixtures.ts';

const USER_KEYS = ['email', 'first_name', 'id', 'is_active', 'last_name', 'profile_id', 'role', 'username'];

describe('admin account endpoints', () => {
  let server: TestServer;
  let base: string;
  let admin: Account;

  before(async () => {
    server = await startServer();
    base = server.url;
    admin = await createAdmin(base, server.store);
  });
  after(async () => {
    await server.stop({ wipe: true });
  });

  test('every admin route: 401 without a token, 403 for a customer or a rep, and nothing changes', async () => {
    const cust = await registerCustomer(base);
    const rep = await registerRep(base, 2);
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/admin/users/'],
      ['POST', '/api/admin/reps/', { user: { username: uniqueName('nope') }, max_capacity: 1, password: 'pw-1', password1: 'pw-1' }],
      ['POST', `/api/admin/users/${cust.userId}/deactivate/`],
      ['POST', `/api/admin/users/${cust.userId}/reactivate/`],
      ['POST', `/api/admin/users/${cust.userId}/password/`, { password: 'stolen-1' }],
      ['GET', '/api/admin/username-clashes/'],
    ];
    for (const [method, path, body] of routes) {
      assertClientError(await http(base, method, path, { body }), 401, `${method} ${path} anonymous`);
      assertClientError(await http(base, method, path, { token: cust.access, body }), 403, `${method} ${path} customer`);
      assertClientError(await http(base, method, path, { token: rep.access, body }), 403, `${method} ${path} rep`);
    }
    // The customer still logs in with its own password and is active.
    await login(base, cust.username, 'pw-123456');
    const me = await http(base, 'GET', '/api/me/', { token: cust.access });
    assert.equal(me.status, 200);
  });

  test('GET /api/admin/users/: the agreed shape, filters by role and substring, pages', async () => {
    const tag = uniqueName('Zq').toLowerCase();
    const cust = await registerCustomer(base, `${tag}_cust`);
    const rep = await registerRep(base, 2, `${tag}_rep`);
    const all = await http(base, 'GET', `/api/admin/users/?q=${encodeURIComponent(tag.toUpperCase())}`, { token: admin.access });
    assert.equal(all.status, 200, JSON.stringify(all.body));
    assert.deepEqual(all.body, [
      { id: cust.userId, username: cust.username, email: `${cust.username}@example.com`, first_name: 'C', last_name: 'X', role: 'customer', is_active: true, profile_id: cust.id },
      { id: rep.userId, username: rep.username, email: `${rep.username}@example.com`, first_name: 'Rep', last_name: 'X', role: 'rep', is_active: true, profile_id: rep.id },
    ]);
    for (const u of all.body) assert.deepEqual(Object.keys(u).sort(), USER_KEYS);

    const reps = await http(base, 'GET', `/api/admin/users/?role=rep&q=${tag}`, { token: admin.access });
    assert.deepEqual(reps.body.map((u: { id: number }) => u.id), [rep.userId]);
    const admins = await http(base, 'GET', '/api/admin/users/?role=admin', { token: admin.access });
    assert.ok(admins.body.some((u: { id: number; profile_id: unknown }) => u.id === admin.userId && u.profile_id === null));

    const page = await http(base, 'GET', `/api/admin/users/?q=${tag}&limit=1&offset=1`, { token: admin.access });
    assert.deepEqual(page.body.map((u: { id: number }) => u.id), [rep.userId]);
    // LIKE's wildcards are matched literally.
    const wild = await http(base, 'GET', `/api/admin/users/?q=${encodeURIComponent('%')}`, { token: admin.access });
    assert.deepEqual(wild.body, []);
    assertClientError(await http(base, 'GET', '/api/admin/users/?role=root', { token: admin.access }), 400);
    assertClientError(await http(base, 'GET', '/api/admin/users/?limit=0', { token: admin.access }), 400);
    assertClientError(await http(base, 'GET', '/api/admin/users/?limit=100000', { token: admin.access }), 400);
  });

  test('POST /api/admin/reps/: 201 in the registration shape; the rep logs in; the capacity cap holds', async () => {
    const username = uniqueName('hired');
    const body = { user: { username, email: '', first_name: 'Hi', last_name: 'Red' }, max_capacity: 4, password: 'pw-hired-1', password1: 'pw-hired-1' };
    const r = await http(base, 'POST', '/api/admin/reps/', { token: admin.access, body });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.deepEqual(r.body, { id: r.body.id, user: { id: r.body.user.id, username, email: '', first_name: 'Hi', last_name: 'Red' }, max_capacity: 4, status: 'online', load: 0 });
    const t = await login(base, username, 'pw-hired-1');
    assert.equal((await http(base, 'GET', '/api/reps/me/', { token: t.access })).body.id, r.body.id);

    const tooBig = await http(base, 'POST', '/api/admin/reps/', { token: admin.access, body: { ...body, user: { username: uniqueName('big') }, max_capacity: 101 } });
    assertClientError(tooBig, 400);
    assert.ok(Array.isArray(tooBig.body.max_capacity), JSON.stringify(tooBig.body));
    const taken = await http(base, 'POST', '/api/admin/reps/', { token: admin.access, body });
    assertClientError(taken, 400);
  });

  test('reset password: 204; the old password and the old tokens stop working, the new password works', async () => {
    const cust = await registerCustomer(base);
    const r = await http(base, 'POST', `/api/admin/users/${cust.userId}/password/`, { token: admin.access, body: { password: 'brand-new-1' } });
    assert.equal(r.status, 204);
    assertClientError(await http(base, 'POST', '/auth/token/', { body: { username: cust.username, password: 'pw-123456' } }), 401);
    assertClientError(await http(base, 'GET', '/api/me/', { token: cust.access }), 401);
    assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: cust.refresh } }), 401);
    await login(base, cust.username, 'brand-new-1');
    assertClientError(await http(base, 'POST', `/api/admin/users/${cust.userId}/password/`, { token: admin.access, body: { password: '' } }), 400);
    assertClientError(await http(base, 'POST', `/api/admin/users/${cust.userId}/password/`, { token: admin.access, body: {} }), 400);
    assertClientError(await http(base, 'POST', '/api/admin/users/999999999/password/', { token: admin.access, body: { password: 'x-1' } }), 404);
  });

  test('the admin routes appear in the OpenAPI document behind /docs', async () => {
    const doc = (await http(base, 'GET', '/openapi.json')).body;
    for (const path of ['/api/admin/users/', '/api/admin/reps/', '/api/admin/users/{id}/deactivate/', '/api/admin/users/{id}/reactivate/', '/api/admin/users/{id}/password/']) {
      assert.ok(doc.paths[path], `${path} in ${Object.keys(doc.paths).join(', ')}`);
    }
    const item = doc.paths['/api/admin/users/'].get.responses['200'].content['application/json'].schema.items;
    assert.deepEqual(Object.keys(item.properties).sort(), USER_KEYS);
  });

  test('PATCH /api/reps/me/ refuses a capacity over MAX_REP_CAPACITY and keeps the old one', async () => {
    const rep = await registerRep(base, 2);
    const r = await http(base, 'PATCH', '/api/reps/me/', { token: rep.access, body: { max_capacity: 101 } });
    assertClientError(r, 400);
    assert.equal((await http(base, 'GET', '/api/reps/me/', { token: rep.access })).body.max_capacity, 2);
    assert.equal((await http(base, 'PATCH', '/api/reps/me/', { token: rep.access, body: { max_capacity: 100 } })).body.max_capacity, 100);
    assertClientError(await registerRepRaw(base, uniqueName('big'), { max_capacity: 101 }), 400);
  });
});

describe('deactivation (a server of its own, so that no other rep takes the chat)', () => {
  let server: TestServer;
  let base: string;
  let admin: Account;

  before(async () => {
    server = await startServer();
    base = server.url;
    admin = await createAdmin(base, server.store);
  });
  after(async () => {
    await server.stop({ wipe: true });
  });

  test('deactivate: access token, refresh token, login and open sockets all end at once; a rep\'s chat goes back to the queue', async () => {
    const rep = await registerRep(base, 1);
    const agent = connect(server.wsUrl, '/ws/agent/', { token: rep.access });
    await agent.opened;
    const { c, r, conv } = await openChat(server, rep);

    const res = await http(base, 'POST', `/api/admin/users/${rep.userId}/deactivate/`, { token: admin.access });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body, { id: rep.userId, username: rep.username, email: `${rep.username}@example.com`, first_name: 'Rep', last_name: 'X', role: 'rep', is_active: false, profile_id: rep.id });

    await r.waitClose();
    await agent.waitClose();
    assertClientError(await http(base, 'GET', '/api/me/', { token: rep.access }), 401);
    assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: rep.refresh } }), 401);
    assertClientError(await http(base, 'POST', '/auth/token/', { body: { username: rep.username, password: 'pw-123456' } }), 401);
    // The customer's chat is back in the queue, not stuck with an account that can no longer answer.
    await c.waitFor((f) => f.type === 'queued');
    const convNow = await server.store.getConversation(conv);
    assert.equal(convNow?.status, 'queued');
    const repNow = await server.store.getRep(rep.id);
    assert.equal(repNow?.status, 'offline');
    assert.equal(repNow?.load, 0);
    // A new socket with the old token is refused too.
    const again = connect(server.wsUrl, chatPath(conv), { token: rep.access });
    await again.waitClose();
    c.close();

    const back = await http(base, 'POST', `/api/admin/users/${rep.userId}/reactivate/`, { token: admin.access });
    assert.equal(back.status, 200);
    assert.equal(back.body.is_active, true);
    const t = await login(base, rep.username, 'pw-123456');
    // Reactivated, the rep stays offline until it says otherwise.
    assert.equal((await http(base, 'GET', '/api/reps/me/', { token: t.access })).body.status, 'offline');
  });

  test('deactivate: a customer\'s sockets close; own account 400; an unknown user 404; bad ids 400', async () => {
    const cust = await registerCustomer(base);
    const conv = (await http(base, 'POST', '/api/conversations/', { token: cust.access, body: {} })).body.id;
    const sock = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await sock.waitType('queued');
    assert.equal((await http(base, 'POST', `/api/admin/users/${cust.userId}/deactivate/`, { token: admin.access })).status, 200);
    await sock.waitClose();
    assertClientError(await http(base, 'POST', `/api/admin/users/${admin.userId}/deactivate/`, { token: admin.access }), 400);
    assertClientError(await http(base, 'POST', '/api/admin/users/999999999/deactivate/', { token: admin.access }), 404);
    assertClientError(await http(base, 'POST', '/api/admin/users/999999999/reactivate/', { token: admin.access }), 404);
    assertClientError(await http(base, 'POST', '/api/admin/users/abc/deactivate/', { token: admin.access }), 400);
    // The admin itself still works.
    assert.equal((await http(base, 'GET', '/api/me/', { token: admin.access })).status, 200);
  });

});

describe('REP_REGISTRATION', () => {
  test('admin: anonymous 401, a customer 403, an admin 201; production defaults to it', async () => {
    const server = await startServer({ env: { REP_REGISTRATION: 'admin' } });
    try {
      const admin = await createAdmin(server.url, server.store);
      const cust = await registerCustomer(server.url);
      const username = uniqueName('self');
      assertClientError(await registerRepRaw(server.url, username), 401);
      const body = { user: { username }, max_capacity: 1, password: 'pw-1', password1: 'pw-1' };
      assertClientError(await http(server.url, 'POST', '/api/register_customer_rep/', { token: cust.access, body }), 403);
      assert.equal(await server.store.findUserByUsername(username), undefined);
      const ok = await http(server.url, 'POST', '/api/register_customer_rep/', { token: admin.access, body });
      assert.equal(ok.status, 201, JSON.stringify(ok.body));
    } finally {
      await server.stop({ wipe: true });
    }
  });

  test('open stays the default outside production: anyone may register a rep, as the original API', async () => {
    const server = await startServer();
    try {
      assert.equal(server.config.repRegistration, 'open');
      assert.equal((await registerRepRaw(server.url, uniqueName('open'))).status, 201);
    } finally {
      await server.stop({ wipe: true });
    }
  });
});
