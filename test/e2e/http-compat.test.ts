// What the original's clients may send beyond plain JSON: HTML-form logins, ids as numeric strings, empty paging
// parameters (absent, as in DRF, with query errors at the top level) and the Unicode usernames Django accepts.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, registerCustomer } from '../helpers/client.ts';

describe('original client compatibility', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => server.stop({ wipe: true }));

  it('logs in with an HTML form body, and refuses a wrong form password with 401', async () => {
    const c = await registerCustomer(server.url);
    const form = (password: string) =>
      fetch(`${server.url}/auth/token/`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username: c.username, password }).toString(),
      });
    const ok = await form('pw-123456');
    assert.equal(ok.status, 200);
    const body = (await ok.json()) as { access: unknown; refresh: unknown };
    assert.equal(typeof body.access, 'string');
    assert.equal(typeof body.refresh, 'string');
    assert.equal((await form('wrong')).status, 401);
  });

  it('takes the customer id of POST /api/conversations/ as a number or a numeric string', async () => {
    const c = await registerCustomer(server.url);
    assert.equal((await http(server.url, 'POST', '/api/conversations/', { token: c.access, body: { customer: c.id } })).status, 201);
    assert.equal((await http(server.url, 'POST', '/api/conversations/', { token: c.access, body: { customer: String(c.id) } })).status, 201);
    assert.equal((await http(server.url, 'POST', '/api/conversations/', { token: c.access, body: { customer: String(c.id + 1000) } })).status, 403);
    assert.equal((await http(server.url, 'POST', '/api/conversations/', { token: c.access, body: { customer: null } })).status, 400);
  });

  it('reads empty paging parameters as absent and puts query errors at the top level', async () => {
    const cust = await registerCustomer(server.url);
    assert.equal((await http(server.url, 'GET', '/api/conversations/?limit=&offset=', { token: cust.access })).status, 200);
    const bad = await http(server.url, 'GET', '/api/conversations/?limit=abc', { token: cust.access });
    assert.equal(bad.status, 400);
    assert.ok(Array.isArray(bad.body.limit));
  });

  it('accepts the Unicode usernames Django accepts, and explains a refused one', async () => {
    const ok = await http(server.url, 'POST', '/api/register_customer/', {
      body: { user: { username: `José_${Date.now()}` }, phone_number: 1, password: 'a', password1: 'a' },
    });
    assert.equal(ok.status, 201);
    const bad = await http(server.url, 'POST', '/api/register_customer/', { body: { user: { username: 'a b' }, phone_number: 1, password: 'a', password1: 'a' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.user.username[0], /valid username/);
  });
});
