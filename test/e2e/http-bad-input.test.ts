// Bad input over HTTP: every answer is a client error (< 500) with a JSON body carrying `detail`,
// and nothing is stored. The server keeps serving afterwards.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, openConversation, registerCustomer, registerRep, uniqueName, type Account } from '../helpers/client.ts';
import { assertClientError, registerCustomerRaw, registerRepRaw } from '../helpers/http-fixtures.ts';

/** A registration that was refused must have stored nothing: the username cannot log in. */
async function assertNotStored(base: string, username: string, password = 'pw-123456') {
  const r = await http(base, 'POST', '/auth/token/', { body: { username, password } });
  assert.equal(r.status, 401, `${username} must not exist: ${r.status} ${JSON.stringify(r.body)}`);
}

describe('bad input over HTTP', () => {
  let server: TestServer;
  let base: string;
  let customer: Account;
  let rep: Account;
  let conversationId: string;

  before(async () => {
    // assertNotStored probes one username with many failed logins; the per-username throttle would answer 429.
    server = await startServer({ env: { LOGIN_MAX_FAILURES: '0' } });
    base = server.url;
    customer = await registerCustomer(base);
    rep = await registerRep(base, 2);
    conversationId = await openConversation(base, customer);
  });
  after(async () => {
    await server.stop({ wipe: true });
  });

  test('malformed JSON -> 400 on every JSON route', async () => {
    const bodies = ['{bad', '{"user":', "{'a':1}", '{"a":1,}', 'NaN', '{"a":1}{"b":2}', '\u0000', '["unterminated'];
    const routes: Array<[string, string, string | undefined]> = [
      ['POST', '/api/register_customer/', undefined],
      ['POST', '/api/register_customer_rep/', undefined],
      ['POST', '/auth/token/', undefined],
      ['POST', '/auth/login/', undefined],
      ['POST', '/auth/token/refresh/', undefined],
      ['POST', '/auth/logout/', customer.access],
      ['POST', '/api/conversations/', customer.access],
      ['PATCH', '/api/reps/me/', rep.access],
      ['POST', `/api/conversations/${conversationId}/rating/`, customer.access],
    ];
    for (const [method, path, token] of routes) {
      for (const raw of bodies) {
        const r = await http(base, method, path, { raw, token });
        assertClientError(r, 400, `${method} ${path} ${JSON.stringify(raw)}`);
      }
    }
    // The logout with a broken body did not log the customer out.
    assert.equal((await http(base, 'GET', '/api/me/', { token: customer.access })).status, 200);
  });

  test('deeply nested JSON -> 400, not a crash', async () => {
    const deep = '['.repeat(30_000) + ']'.repeat(30_000);
    assertClientError(await http(base, 'POST', '/auth/token/', { raw: deep }), 400);
    const deepObject = '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000);
    assertClientError(await http(base, 'POST', '/api/register_customer/', { raw: deepObject }), 400);
  });

  test('arrays and scalars as bodies -> 400', async () => {
    for (const raw of ['[]', '[{"username":"a","password":"b"}]', '"a string"', '42', 'true', 'null']) {
      assertClientError(await http(base, 'POST', '/auth/token/', { raw }), 400, `token ${raw}`);
      assertClientError(await http(base, 'POST', '/api/register_customer/', { raw }), 400, `register ${raw}`);
      assertClientError(await http(base, 'POST', '/api/register_customer_rep/', { raw }), 400, `register rep ${raw}`);
      assertClientError(await http(base, 'POST', '/auth/token/refresh/', { raw }), 400, `refresh ${raw}`);
    }
    for (const raw of ['[]', '[{}]', '"x"', '7']) {
      assertClientError(await http(base, 'POST', '/api/conversations/', { raw, token: customer.access }), 400, `open ${raw}`);
      assertClientError(await http(base, 'PATCH', '/api/reps/me/', { raw, token: rep.access }), 400, `patch rep ${raw}`);
    }
    const list = await http(base, 'GET', '/api/conversations/', { token: customer.access });
    assert.equal(list.body.length, 1, 'no conversation was opened by a bad body');
  });

  test('objects where strings belong -> 400 with the field named', async () => {
    const username = uniqueName('objs');
    const cases: Array<[string, Record<string, unknown>, (b: any) => unknown]> = [
      ['username', { user: { username: { $gt: '' } } }, (b) => b.user?.username],
      ['email', { user: { username, email: { a: 1 } } }, (b) => b.user?.email],
      ['first_name', { user: { username, first_name: { a: 1 } } }, (b) => b.user?.first_name],
      ['last_name', { user: { username, last_name: ['x', 'y'] } }, (b) => b.user?.last_name],
      ['password', { password: { a: 1 }, password1: { a: 1 } }, (b) => b.password],
    ];
    for (const [field, override, pick] of cases) {
      const r = await registerCustomerRaw(base, username, override);
      assertClientError(r, 400, field);
      assert.ok(Array.isArray(pick(r.body)), `${field} named in ${JSON.stringify(r.body)}`);
    }
    await assertNotStored(base, username);
    const login = await http(base, 'POST', '/auth/token/', { body: { username: { $ne: null }, password: { $ne: null } } });
    assertClientError(login, 400);
    assert.ok(Array.isArray(login.body.username) && Array.isArray(login.body.password), JSON.stringify(login.body));
    assertClientError(await http(base, 'POST', '/auth/token/refresh/', { body: { refresh: { a: 1 } } }), 400);
    assertClientError(await http(base, 'POST', '/api/conversations/', { body: { customer: { id: customer.id } }, token: customer.access }), 400);
    assertClientError(await http(base, 'PATCH', '/api/reps/me/', { body: { status: { a: 1 } }, token: rep.access }), 400);
  });

  test('phone_number: negative, fractional, huge (1e30, 99999999999999999999), non-numeric -> 400; nothing stored', async () => {
    const raws: Array<[string, string]> = [
      ['negative', '-1'],
      ['fraction', '1.5'],
      ['1e30', '1e30'],
      ['20 nines', '99999999999999999999'],
      ['letters', '"555-CALL"'],
      ['object', '{"n":1}'],
    ];
    for (const [label, phone] of raws) {
      const username = uniqueName('phone');
      const raw = `{"user":{"username":"${username}","email":"${username}@example.com","first_name":"P","last_name":"N"},"phone_number":${phone},"password":"pw-123456","password1":"pw-123456"}`;
      const r = await http(base, 'POST', '/api/register_customer/', { raw });
      assertClientError(r, 400, label);
      assert.ok(Array.isArray(r.body.phone_number), `${label}: phone_number named in ${JSON.stringify(r.body)}`);
      await assertNotStored(base, username);
    }
  });

  test('max_capacity: negative, huge, fractional -> 400', async () => {
    for (const cap of [-1, 1e30, 2.5, '"lots"']) {
      const username = uniqueName('cap');
      const raw = `{"user":{"username":"${username}"},"max_capacity":${cap},"password":"pw-123456","password1":"pw-123456"}`;
      const r = await http(base, 'POST', '/api/register_customer_rep/', { raw });
      assertClientError(r, 400, String(cap));
      assert.ok(Array.isArray(r.body.max_capacity), JSON.stringify(r.body));
      await assertNotStored(base, username);
    }
  });

  test('NUL bytes in username, first_name, last_name, email -> 400, and nothing is stored', async () => {
    const username = uniqueName('nul');
    const cases: Array<[string, Record<string, unknown>, string]> = [
      ['username', { user: { username: `${username}\u0000admin`, first_name: 'A', last_name: 'B' } }, `${username}\u0000admin`],
      ['first_name', { user: { username, first_name: 'Eve\u0000', last_name: 'B' } }, username],
      ['last_name', { user: { username, first_name: 'A', last_name: '\u0000' } }, username],
      ['email', { user: { username, email: 'a\u0000@example.com' } }, username],
    ];
    for (const [field, override, loginAs] of cases) {
      const r = await registerCustomerRaw(base, username, override);
      assertClientError(r, 400, field);
      assert.ok(Array.isArray(r.body.user?.[field]), `${field} named in ${JSON.stringify(r.body)}`);
      await assertNotStored(base, loginAs);
      const asRep = await registerRepRaw(base, username, override);
      assertClientError(asRep, 400, `rep ${field}`);
      await assertNotStored(base, loginAs);
    }
    await assertNotStored(base, `${username}\u0000admin`);
    await assertNotStored(base, username);
  });

  test('a body over 64 KiB -> 413; one just under is parsed', async () => {
    const big = JSON.stringify({ username: 'x', password: 'y'.repeat(65 * 1024) });
    assertClientError(await http(base, 'POST', '/auth/token/', { raw: big }), 413);
    const huge = JSON.stringify({ user: { username: 'z'.repeat(200 * 1024) }, phone_number: 1, password: 'a', password1: 'a' });
    assertClientError(await http(base, 'POST', '/api/register_customer/', { raw: huge }), 413);
    assertClientError(await http(base, 'POST', '/api/conversations/', { raw: JSON.stringify({ pad: 'p'.repeat(70_000) }), token: customer.access }), 413);
    // Just under the limit: parsed, then refused by validation, not by size.
    const under = JSON.stringify({ username: 'x', password: 'y'.repeat(60 * 1024) });
    const r = await http(base, 'POST', '/auth/token/', { raw: under });
    assert.ok(r.status !== 413 && r.status < 500, `${r.status}`);
    assertClientError(r, 400);
  });

  test('an unknown route -> 404', async () => {
    for (const [method, path] of [
      ['GET', '/nope'],
      ['GET', '/api/nope/'],
      ['POST', '/api/unknown/'],
      ['GET', '/api/conversations/x/y/z/'],
      ['GET', `/api/conversations/${conversationId}/nope/`],
      ['GET', '/api'],
      ['DELETE', '/totally/unknown'],
    ]) {
      assertClientError(await http(base, method, path, { token: customer.access }), 404, `${method} ${path}`);
    }
  });

  test('a wrong method on a known route -> 405 with Allow', async () => {
    for (const [method, path, allow] of [
      ['DELETE', '/api/me/', 'GET'],
      ['DELETE', '/api/me', 'GET'],
      ['GET', '/auth/token/', 'POST'],
      ['PUT', '/api/conversations/', 'GET'],
      ['DELETE', `/api/conversations/${conversationId}/`, 'GET'],
      ['GET', `/api/conversations/${conversationId}/close/`, 'POST'],
      ['PATCH', '/healthz', 'GET'],
      ['GET', '/api/register_customer/', 'POST'],
    ]) {
      const r = await http(base, method, path, { token: customer.access });
      assertClientError(r, 405, `${method} ${path}`);
      assert.ok((r.headers.get('allow') ?? '').split(/,\s*/).includes(allow), `${method} ${path}: Allow ${r.headers.get('allow')}`);
    }
    // The refused DELETE changed nothing.
    assert.equal((await http(base, 'GET', `/api/conversations/${conversationId}/`, { token: customer.access })).status, 200);
  });

  test('the trailing slash is optional on every route', async () => {
    // Unauthenticated: every protected route answers 401 (so it was routed), public ones validate the empty object.
    const routes: Array<[string, string, number]> = [
      ['POST', '/api/register_customer/', 400],
      ['POST', '/api/register_customer_rep/', 400],
      ['POST', '/auth/token/', 400],
      ['POST', '/auth/login/', 400],
      ['POST', '/auth/token/refresh/', 400],
      ['POST', '/auth/logout/', 401],
      ['GET', '/api/me/', 401],
      ['GET', '/api/conversations/', 401],
      ['POST', '/api/conversations/', 401],
      ['GET', `/api/conversations/${conversationId}/`, 401],
      ['GET', `/api/conversations/${conversationId}/messages/`, 401],
      ['POST', `/api/conversations/${conversationId}/close/`, 401],
      ['POST', `/api/conversations/${conversationId}/transfer/`, 401],
      ['POST', `/api/conversations/${conversationId}/rating/`, 401],
      ['POST', `/api/conversations/${conversationId}/queue/`, 401],
      ['GET', '/api/reps/me/', 401],
      ['PATCH', '/api/reps/me/', 401],
      ['GET', '/api/reps/', 401],
      ['GET', '/api/queue/', 401],
      ['GET', '/healthz/', 200],
      ['GET', '/readyz/', 200],
      ['GET', '/metrics/', 200],
    ];
    for (const [method, path, status] of routes) {
      const withSlash = path.endsWith('/') ? path : `${path}/`;
      const without = withSlash.slice(0, -1);
      for (const p of [withSlash, without]) {
        const r = await http(base, method, p, method === 'GET' ? {} : { body: {} });
        assert.equal(r.status, status, `${method} ${p}: ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      }
    }
    // And with a token, both forms reach the same data.
    const a = await http(base, 'GET', `/api/conversations/${conversationId}`, { token: customer.access });
    const b = await http(base, 'GET', `/api/conversations/${conversationId}/`, { token: customer.access });
    assert.equal(a.status, 200);
    assert.deepEqual(a.body, b.body);
    const t = await http(base, 'POST', '/auth/token', { body: { username: customer.username, password: 'pw-123456' } });
    assert.equal(t.status, 200);
  });

  test('authentication and role come before the body: 401 / 403 whatever is sent', async () => {
    const rating = `/api/conversations/${conversationId}/rating/`;
    assertClientError(await http(base, 'POST', rating, { body: {} }), 401, 'invalid body, no token');
    assertClientError(await http(base, 'POST', rating, { raw: '{bad' }), 401, 'malformed body, no token');
    assertClientError(await http(base, 'PATCH', '/api/reps/me/', { body: { max_capacity: -5 } }), 401, 'patch, no token');
    assertClientError(await http(base, 'POST', '/api/conversations/', { raw: '{bad', token: rep.access }), 403, 'malformed body, wrong role');
    assertClientError(await http(base, 'PATCH', '/api/reps/me/', { body: { max_capacity: -5 }, token: customer.access }), 403, 'patch, wrong role');
    assertClientError(await http(base, 'POST', '/api/conversations/', { raw: JSON.stringify({ pad: 'p'.repeat(70_000) }) }), 401, 'oversized, no token');
  });

  test('an empty body with a JSON content type', async () => {
    // Where every field is optional, an empty body is an empty object (as DRF treats it).
    const opened = await http(base, 'POST', '/api/conversations/', { raw: '', token: customer.access });
    assert.equal(opened.status, 201, JSON.stringify(opened.body));
    const before = (await http(base, 'GET', '/api/reps/me/', { token: rep.access })).body;
    const patched = await http(base, 'PATCH', '/api/reps/me/', { raw: '', token: rep.access });
    // A PATCH of an empty object changes nothing and answers the unchanged rep (DRF's partial update).
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    assert.deepEqual([patched.body.status, patched.body.max_capacity], [before.status, before.max_capacity]);
    const after = (await http(base, 'GET', '/api/reps/me/', { token: rep.access })).body;
    assert.deepEqual([after.status, after.max_capacity], [before.status, before.max_capacity]);
    const loggedOut = await registerCustomer(base);
    assert.equal((await http(base, 'POST', '/auth/logout/', { raw: '', token: loggedOut.access })).status, 200);
    // Where fields are required, it is a 400 naming the problem, never a 5xx.
    for (const path of ['/auth/token/', '/auth/login/', '/auth/token/refresh/', '/api/register_customer/', '/api/register_customer_rep/']) {
      assertClientError(await http(base, 'POST', path, { raw: '' }), 400, path);
      assertClientError(await http(base, 'POST', path, { raw: '   \n ' }), 400, `${path} whitespace`);
    }
  });

  test('an unsupported content type -> 4xx with detail', async () => {
    // (HTML forms are supported, as in the original; plain text is not.)
    const r = await http(base, 'POST', '/auth/token/', { raw: 'username=a&password=b', headers: { 'content-type': 'text/plain' } });
    // Read as text, it is not the object the route expects: a validation error.
    assertClientError(r, 400);
  });

  test('a __proto__ key does not pollute anything', async () => {
    const username = uniqueName('proto');
    const raw = `{"__proto__":{"admin":true},"constructor":{"prototype":{"role":"admin"}},"user":{"username":"${username}","__proto__":{"x":1}},"phone_number":1,"password":"pw-123456","password1":"pw-123456"}`;
    const r = await http(base, 'POST', '/api/register_customer/', { raw });
    // The dangerous keys are dropped and the rest is a valid registration.
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(({} as any).admin, undefined);
    const t = await http(base, 'POST', '/auth/token/', { body: { username, password: 'pw-123456' } });
    const me = await http(base, 'GET', '/api/me/', { token: t.body.access });
    assert.equal(me.body.role, 'customer');
  });

  test(
    'wrong scalar types are refused, not coerced: null / true for an integer, arrays for strings',
    async () => {
      const cases: Array<[string, Record<string, unknown>]> = [
        ['phone_number null', { phone_number: null }],
        ['phone_number true', { phone_number: true }],
        ['password as an array', { password: ['pw-123456'], password1: ['pw-123456'] }],
      ];
      for (const [label, override] of cases) {
        const username = uniqueName('coerce');
        assertClientError(await registerCustomerRaw(base, username, override), 400, label);
        await assertNotStored(base, username);
      }
      const arrayLogin = await http(base, 'POST', '/auth/token/', { body: { username: [customer.username], password: ['pw-123456'] } });
      assertClientError(arrayLogin, 400, 'array credentials');
    },
  );

  test(
    'a path the router cannot take (bad percent-encoding, a segment over 8 KiB) -> 404 with a JSON detail',
    async () => {
      for (const path of ['/api/conversations/%zz/', '/api/conversations/%E0%A4%A/messages/', `/api/conversations/${'a'.repeat(9000)}/`]) {
        const r = await http(base, 'GET', path, { token: customer.access });
        assertClientError(r, 404, path.slice(0, 50));
        assert.ok(!JSON.stringify(r.body).includes('aaaaaaaa'), 'the path is not echoed back');
      }
    },
  );

  test('after all of that the server still serves everyone', async () => {
    assert.equal((await http(base, 'GET', '/healthz')).status, 200);
    const fresh = await registerCustomer(base);
    assert.equal((await http(base, 'GET', '/api/me/', { token: fresh.access })).status, 200);
    assert.equal((await http(base, 'GET', '/api/me/', { token: customer.access })).status, 200);
    assert.equal((await http(base, 'GET', `/api/conversations/${conversationId}/`, { token: customer.access })).status, 200);
  });
});
