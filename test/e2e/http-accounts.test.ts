// Accounts over a real listening server: the original's registrations and token routes, rotation with
// family revocation, logout, /api/me/ per role, and the per-address rate limits.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, login, registerCustomer, registerRep, uniqueName } from '../helpers/client.ts';
import { assertClientError, createAdmin, registerCustomerRaw, registerRepRaw } from '../helpers/http-fixtures.ts';

const JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

function assertNoPassword(raw: unknown, password: string) {
  const text = JSON.stringify(raw);
  assert.ok(!/password/i.test(text), `no password field in ${text}`);
  assert.ok(!text.includes(password), `the password is not echoed in ${text}`);
}

describe('accounts over HTTP', () => {
  let server: TestServer;
  let base: string;

  before(async () => {
    server = await startServer();
    base = server.url;
  });
  after(async () => {
    await server.stop({ wipe: true });
  });

  describe('POST /api/register_customer/', () => {
    test('201 with the original nested shape plus the profile id; phone_number a JSON number; no password', async () => {
      const username = uniqueName('alice');
      const r = await http(base, 'POST', '/api/register_customer/', {
        body: { user: { username, email: 'alice@example.com', first_name: 'Alice', last_name: 'Liddell' }, phone_number: 5550123, password: 'Wonder-1', password1: 'Wonder-1' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.ok(Number.isInteger(r.body.id) && r.body.id > 0);
      assert.ok(Number.isInteger(r.body.user.id) && r.body.user.id > 0);
      assert.deepEqual(r.body, {
        id: r.body.id,
        user: { id: r.body.user.id, username, email: 'alice@example.com', first_name: 'Alice', last_name: 'Liddell' },
        phone_number: 5550123,
      });
      assert.equal(typeof r.body.phone_number, 'number');
      assertNoPassword(r.body, 'Wonder-1');

      // The top-level id is the customer profile id, the one /api/me/ and conversations use.
      const t = await login(base, username, 'Wonder-1');
      const me = await http(base, 'GET', '/api/me/', { token: t.access });
      assert.equal(me.body.profile.id, r.body.id);
      assert.equal(me.body.user.id, r.body.user.id);
    });

    test('a phone number sent as a numeric string is stored and returned as a number (as DRF does)', async () => {
      const r = await registerCustomerRaw(base, uniqueName('strphone'), { phone_number: '5550199' });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.equal(r.body.phone_number, 5550199);
    });

    test('password != password1 -> 400 on the password field, and nothing is stored', async () => {
      const username = uniqueName('mismatch');
      const r = await registerCustomerRaw(base, username, { password: 'one-1', password1: 'two-2' });
      assertClientError(r, 400);
      assert.ok(Array.isArray(r.body.password) && r.body.password.length > 0, JSON.stringify(r.body));
      const text = JSON.stringify(r.body);
      assert.ok(!text.includes('one-1') && !text.includes('two-2'), `the passwords are not echoed in ${text}`);
      const t = await http(base, 'POST', '/auth/token/', { body: { username, password: 'one-1' } });
      assertClientError(t, 401);
    });

    test('a taken username -> 400 {"user": {"username": [...]}}, for either role', async () => {
      const username = uniqueName('taken');
      assert.equal((await registerCustomerRaw(base, username)).status, 201);
      const again = await registerCustomerRaw(base, username);
      assertClientError(again, 400);
      assert.ok(Array.isArray(again.body.user?.username), JSON.stringify(again.body));
      assert.equal(typeof again.body.user.username[0], 'string');
      const asRep = await registerRepRaw(base, username);
      assertClientError(asRep, 400);
      assert.ok(Array.isArray(asRep.body.user?.username), JSON.stringify(asRep.body));
      // The original account is untouched.
      await login(base, username, 'pw-123456');
    });

    test('missing fields -> 400 with nested field errors', async () => {
      const r = await http(base, 'POST', '/api/register_customer/', { body: { user: { email: 'x@example.com' } } });
      assertClientError(r, 400);
      assert.ok(Array.isArray(r.body.user?.username), JSON.stringify(r.body));
      assert.ok(Array.isArray(r.body.phone_number), JSON.stringify(r.body));
      assert.ok(Array.isArray(r.body.password), JSON.stringify(r.body));
      assert.ok(Array.isArray(r.body.password1), JSON.stringify(r.body));

      const noUser = await http(base, 'POST', '/api/register_customer/', { body: { phone_number: 1, password: 'a', password1: 'a' } });
      assertClientError(noUser, 400);
      assert.ok(Array.isArray(noUser.body.user), JSON.stringify(noUser.body));

      const blank = await registerCustomerRaw(base, '', {});
      assertClientError(blank, 400);
      assert.ok(Array.isArray(blank.body.user?.username), JSON.stringify(blank.body));

      const emptyPassword = await registerCustomerRaw(base, uniqueName('nopw'), { password: '', password1: '' });
      assertClientError(emptyPassword, 400);
      assert.ok(Array.isArray(emptyPassword.body.password), JSON.stringify(emptyPassword.body));
    });
  });

  describe('POST /api/register_customer_rep/', () => {
    test('201 {id, user, max_capacity}; no password', async () => {
      const username = uniqueName('bob');
      const r = await http(base, 'POST', '/api/register_customer_rep/', {
        body: { user: { username, email: 'bob@example.com', first_name: 'Bob', last_name: 'Builder' }, max_capacity: 4, password: 'Can-we-fix-it', password1: 'Can-we-fix-it' },
      });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      assert.ok(Number.isInteger(r.body.id) && r.body.id > 0);
      assert.deepEqual(r.body.user, { id: r.body.user.id, username, email: 'bob@example.com', first_name: 'Bob', last_name: 'Builder' });
      assert.equal(r.body.max_capacity, 4);
      assertNoPassword(r.body, 'Can-we-fix-it');
      const t = await login(base, username, 'Can-we-fix-it');
      const me = await http(base, 'GET', '/api/me/', { token: t.access });
      assert.equal(me.body.profile.id, r.body.id);
    });

    test('password mismatch, missing max_capacity, negative capacity -> 400', async () => {
      const mismatch = await registerRepRaw(base, uniqueName('repmm'), { password1: 'other' });
      assertClientError(mismatch, 400);
      assert.ok(Array.isArray(mismatch.body.password));

      const missing = await http(base, 'POST', '/api/register_customer_rep/', { body: { user: { username: uniqueName('repmiss') }, password: 'a', password1: 'a' } });
      assertClientError(missing, 400);
      assert.ok(Array.isArray(missing.body.max_capacity), JSON.stringify(missing.body));

      const negative = await registerRepRaw(base, uniqueName('repneg'), { max_capacity: -1 });
      assertClientError(negative, 400);
      assert.ok(Array.isArray(negative.body.max_capacity), JSON.stringify(negative.body));
    });
  });

  describe('POST /auth/token/ and /auth/login/', () => {
    test('200 {access, refresh}; the access token works', async () => {
      const c = await registerCustomer(base);
      const r = await http(base, 'POST', '/auth/token/', { body: { username: c.username, password: 'pw-123456' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(r.body.access, JWT);
      assert.match(r.body.refresh, JWT);
      assert.notEqual(r.body.access, r.body.refresh);
      const me = await http(base, 'GET', '/api/me/', { token: r.body.access });
      assert.equal(me.status, 200);
      assert.equal(me.body.user.username, c.username);
    });

    test('a wrong password or an unknown user -> 401, with the same answer', async () => {
      const c = await registerCustomer(base);
      const wrong = await http(base, 'POST', '/auth/token/', { body: { username: c.username, password: 'not-it' } });
      assertClientError(wrong, 401);
      const unknown = await http(base, 'POST', '/auth/token/', { body: { username: uniqueName('ghost'), password: 'pw-123456' } });
      assertClientError(unknown, 401);
      assert.deepEqual(unknown.body, wrong.body, 'the answer does not tell which usernames exist');
      assert.ok(!('access' in wrong.body) && !('refresh' in wrong.body));
    });

    test('a missing field -> 400 naming it', async () => {
      const noPassword = await http(base, 'POST', '/auth/token/', { body: { username: 'someone' } });
      assertClientError(noPassword, 400);
      assert.ok(Array.isArray(noPassword.body.password), JSON.stringify(noPassword.body));
      const noUsername = await http(base, 'POST', '/auth/token/', { body: { password: 'x' } });
      assertClientError(noUsername, 400);
      assert.ok(Array.isArray(noUsername.body.username), JSON.stringify(noUsername.body));
      const nothing = await http(base, 'POST', '/auth/token/', { body: {} });
      assertClientError(nothing, 400);
    });

    test('/auth/login/ is a JSON alias of /auth/token/', async () => {
      const c = await registerCustomer(base);
      const r = await http(base, 'POST', '/auth/login/', { body: { username: c.username, password: 'pw-123456' } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.match(r.body.access, JWT);
      assert.match(r.body.refresh, JWT);
      assert.equal((await http(base, 'GET', '/api/me/', { token: r.body.access })).status, 200);
      assertClientError(await http(base, 'POST', '/auth/login/', { body: { username: c.username, password: 'bad' } }), 401);
      assertClientError(await http(base, 'POST', '/auth/login/', { body: { username: c.username } }), 400);
      // Its refresh token is a normal one.
      assert.equal((await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: r.body.refresh } })).status, 200);
    });
  });

  describe('POST /auth/token/refresh/', () => {
    test('rotates: a new pair, the new refresh differs and works, the new access works', async () => {
      const c = await registerCustomer(base);
      const r1 = await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: c.refresh } });
      assert.equal(r1.status, 200, JSON.stringify(r1.body));
      assert.match(r1.body.access, JWT);
      assert.match(r1.body.refresh, JWT);
      assert.notEqual(r1.body.refresh, c.refresh);
      assert.equal((await http(base, 'GET', '/api/me/', { token: r1.body.access })).status, 200);
      const r2 = await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: r1.body.refresh } });
      assert.equal(r2.status, 200, JSON.stringify(r2.body));
      assert.notEqual(r2.body.refresh, r1.body.refresh);
    });

    test('a reused refresh token -> 401 and revokes its whole family; other sessions live on', async () => {
      const c = await registerCustomer(base);
      const other = await login(base, c.username, 'pw-123456'); // a second session, its own family
      const rotated = await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: c.refresh } });
      assert.equal(rotated.status, 200);

      const replay = await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: c.refresh } });
      assertClientError(replay, 401);
      // The replay means the token leaked: the newer token of the same family is revoked too.
      const newer = await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: rotated.body.refresh } });
      assertClientError(newer, 401);

      const otherFamily = await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: other.refresh } });
      assert.equal(otherFamily.status, 200, 'a different login is another family and survives');
    });

    test('garbage, an access token, or a missing field -> 401 / 400', async () => {
      const c = await registerCustomer(base);
      assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: 'garbage' } }), 401);
      assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: c.access } }), 401);
      assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: {} }), 400);
      // None of that burned the real refresh token.
      assert.equal((await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: c.refresh } })).status, 200);
    });
  });

  describe('POST /auth/logout/', () => {
    test('revokes every refresh token of the caller and makes the old access token 401', async () => {
      const c = await registerCustomer(base);
      const second = await login(base, c.username, 'pw-123456');
      const out = await http(base, 'POST', '/auth/logout/', { token: c.access, body: { refresh: c.refresh } });
      assert.equal(out.status, 200, JSON.stringify(out.body));

      assertClientError(await http(base, 'GET', '/api/me/', { token: c.access }), 401);
      assertClientError(await http(base, 'GET', '/api/me/', { token: second.access }), 401);
      assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: c.refresh } }), 401);
      assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: second.refresh } }), 401);
      assertClientError(await http(base, 'POST', '/auth/logout/', { token: c.access }), 401);

      // Logging in again works, and does not resurrect the old tokens.
      const fresh = await login(base, c.username, 'pw-123456');
      assert.equal((await http(base, 'GET', '/api/me/', { token: fresh.access })).status, 200);
      assertClientError(await http(base, 'GET', '/api/me/', { token: c.access }), 401);
    });

    test('without a token -> 401; one user logging out leaves others alone', async () => {
      const a = await registerCustomer(base);
      const b = await registerCustomer(base);
      assertClientError(await http(base, 'POST', '/auth/logout/', {}), 401);
      assert.equal((await http(base, 'POST', '/auth/logout/', { token: a.access })).status, 200);
      assert.equal((await http(base, 'GET', '/api/me/', { token: b.access })).status, 200);
      assert.equal((await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: b.refresh } })).status, 200);
    });
  });

  describe('GET /api/me/', () => {
    test('a customer: user, role customer, profile with phone_number', async () => {
      const c = await registerCustomer(base);
      const r = await http(base, 'GET', '/api/me/', { token: c.access });
      assert.equal(r.status, 200);
      assert.equal(r.body.role, 'customer');
      assert.deepEqual(r.body.user, { id: c.userId, username: c.username, email: `${c.username}@example.com`, first_name: 'C', last_name: 'X' });
      assert.equal(r.body.profile.id, c.id);
      assert.equal(r.body.profile.phone_number, 5550100);
      assertNoPassword(r.body, 'pw-123456');
    });

    test('a rep: role rep, profile with max_capacity, status online and load 0', async () => {
      const rep = await registerRep(base, 3);
      const r = await http(base, 'GET', '/api/me/', { token: rep.access });
      assert.equal(r.status, 200);
      assert.equal(r.body.role, 'rep');
      assert.deepEqual(r.body.user, { id: rep.userId, username: rep.username, email: `${rep.username}@example.com`, first_name: 'Rep', last_name: 'X' });
      assert.equal(r.body.profile.id, rep.id);
      assert.equal(r.body.profile.max_capacity, 3);
      assert.equal(r.body.profile.status, 'online');
      assert.equal(r.body.profile.load, 0);
      assertNoPassword(r.body, 'pw-123456');
    });

    test('an admin: role admin', async () => {
      const admin = await createAdmin(base, server.store);
      const r = await http(base, 'GET', '/api/me/', { token: admin.access });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.body.role, 'admin');
      assert.equal(r.body.user.username, admin.username);
      assert.equal(r.body.user.id, admin.userId);
    });

    test('no token -> 401', async () => {
      assertClientError(await http(base, 'GET', '/api/me/'), 401);
    });
  });
});

describe('rate limits', () => {
  test('RATE_REGISTER_PER_MIN=3: the 4th registration from one address is 429 with Retry-After, both routes sharing the budget', async () => {
    const server = await startServer({ env: { RATE_REGISTER_PER_MIN: '3' } });
    try {
      assert.equal((await registerCustomerRaw(server.url, uniqueName('rl'))).status, 201);
      assert.equal((await registerRepRaw(server.url, uniqueName('rl'))).status, 201);
      assert.equal((await registerCustomerRaw(server.url, uniqueName('rl'))).status, 201);

      const username = uniqueName('rl4');
      const fourth = await registerCustomerRaw(server.url, username);
      assertClientError(fourth, 429);
      const retryAfter = fourth.headers.get('retry-after');
      assert.ok(retryAfter !== null, 'Retry-After header');
      assert.ok(Number(retryAfter) > 0 && Number(retryAfter) <= 60, `Retry-After ${retryAfter}`);
      // The other registration route shares the address's budget.
      const viaRep = await registerRepRaw(server.url, uniqueName('rl5'));
      assertClientError(viaRep, 429);
      assert.ok(viaRep.headers.get('retry-after'));

      // Nothing was created by the throttled request; other routes still answer.
      assertClientError(await http(server.url, 'POST', '/auth/token/', { body: { username, password: 'pw-123456' } }), 401);
      assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
    } finally {
      await server.stop({ wipe: true });
    }
  });

  test('RATE_TOKEN_PER_MIN=3: the 4th token request is 429 with Retry-After, /auth/login/ sharing the budget', async () => {
    const server = await startServer({ env: { RATE_TOKEN_PER_MIN: '3' } });
    try {
      const username = uniqueName('rlt');
      assert.equal((await registerCustomerRaw(server.url, username)).status, 201);
      const creds = { username, password: 'pw-123456' };
      assert.equal((await http(server.url, 'POST', '/auth/token/', { body: creds })).status, 200);
      assert.equal((await http(server.url, 'POST', '/auth/login/', { body: creds })).status, 200);
      assert.equal((await http(server.url, 'POST', '/auth/token/', { body: { ...creds, password: 'wrong' } })).status, 401);

      const fourth = await http(server.url, 'POST', '/auth/token/', { body: creds });
      assertClientError(fourth, 429);
      assert.ok(Number(fourth.headers.get('retry-after')) > 0, `Retry-After ${fourth.headers.get('retry-after')}`);
      assert.ok(!('access' in fourth.body));
      // Switching to the alias does not buy more password guesses.
      const alias = await http(server.url, 'POST', '/auth/login/', { body: creds });
      assertClientError(alias, 429);
      assert.ok(Number(alias.headers.get('retry-after')) > 0);
    } finally {
      await server.stop({ wipe: true });
    }
  });

  test('the refresh route is limited by RATE_TOKEN_PER_MIN too', async () => {
    const server = await startServer({ env: { RATE_TOKEN_PER_MIN: '3' } });
    try {
      for (let i = 0; i < 3; i++) assertClientError(await http(server.url, 'POST', '/auth/token/refresh/', { body: { refresh: 'garbage' } }), 401);
      const fourth = await http(server.url, 'POST', '/auth/token/refresh/', { body: { refresh: 'garbage' } });
      assertClientError(fourth, 429);
      assert.ok(Number(fourth.headers.get('retry-after')) > 0);
    } finally {
      await server.stop({ wipe: true });
    }
  });
});
