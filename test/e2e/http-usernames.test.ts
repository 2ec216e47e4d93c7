// Usernames over HTTP: one account per name after NFKC and case folding (registration, login, the per-name
// login limit and the admin search all fold the same way), and names mixing look-alike scripts are refused.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, uniqueName } from '../helpers/client.ts';
import { assertClientError, createAdmin, registerCustomerRaw, registerRepRaw } from '../helpers/http-fixtures.ts';

// Letters and digits only: a full-width "_" is punctuation, which the username rule refuses anyway.
const fullWidth = (s: string) => s.replace(/[A-Za-z0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));
const CYRILLIC_A = '\u0430';
const GREEK_OMICRON = '\u03bf';

describe('usernames: folding and confusable scripts', () => {
  let server: TestServer;
  before(async () => {
    // A budget of 1 failure: one failed login locks the name for the whole window (no timing involved).
    server = await startServer({ env: { LOGIN_MAX_FAILURES: '1' } });
  });
  after(async () => {
    await server?.stop({ wipe: true });
  });

  const loginAs = (username: string, password = 'pw-123456') => http(server.url, 'POST', '/auth/token/', { body: { username, password } });
  const meId = async (access: string) => (await http(server.url, 'GET', '/api/me/', { token: access })).body.user.id;

  it('another case or width of a taken name gets the same 400 as the name itself, on every registration route', async () => {
    const name = uniqueName('Case');
    assert.equal((await registerCustomerRaw(server.url, name)).status, 201);
    const exact = await registerCustomerRaw(server.url, name);
    assertClientError(exact, 400, 'exact duplicate');
    for (const spelling of [name.toLowerCase(), name.toUpperCase(), fullWidth(name)]) {
      const customer = await registerCustomerRaw(server.url, spelling);
      assertClientError(customer, 400, spelling);
      assert.deepEqual(customer.body, exact.body, 'the same answer as an exact duplicate');
      assertClientError(await registerRepRaw(server.url, spelling), 400, `rep ${spelling}`);
    }
    const admin = await createAdmin(server.url, server.store);
    const viaAdmin = await http(server.url, 'POST', '/api/admin/reps/', {
      token: admin.access,
      body: { user: { username: fullWidth(name.toUpperCase()) }, max_capacity: 1, password: 'pw-123456', password1: 'pw-123456' },
    });
    assertClientError(viaAdmin, 400, 'admin rep creation');
    assert.equal((await http(server.url, 'GET', `/api/admin/users/?q=${encodeURIComponent(name)}`, { token: admin.access })).body.length, 1, 'one account');
  });

  it('login with any spelling finds the one account', async () => {
    const name = uniqueName('Login');
    const id = (await registerCustomerRaw(server.url, name)).body.user.id;
    for (const spelling of [name, name.toUpperCase(), name.toLowerCase(), fullWidth(name)]) {
      const r = await loginAs(spelling);
      assert.equal(r.status, 200, `${spelling}: ${JSON.stringify(r.body)}`);
      assert.equal(await meId(r.body.access), id, spelling);
    }
  });

  it('failures under other spellings spend the same per-name budget', async () => {
    const name = uniqueName('limit');
    assert.equal((await registerCustomerRaw(server.url, name)).status, 201);
    assertClientError(await loginAs(fullWidth(name), 'wrong'), 401, 'the one failure, full width');
    assertClientError(await loginAs(name), 429, 'the exact name is locked, even with the right password');
    assertClientError(await loginAs(name.toUpperCase()), 429, 'and so is the upper-case spelling');
    const other = uniqueName('limit');
    assert.equal((await registerCustomerRaw(server.url, other)).status, 201);
    assert.equal((await loginAs(other)).status, 200, 'another name is not locked');
  });

  it('the admin search finds a user by another spelling', async () => {
    const name = uniqueName('search');
    const id = (await registerCustomerRaw(server.url, name)).body.user.id;
    const admin = await createAdmin(server.url, server.store);
    const r = await http(server.url, 'GET', `/api/admin/users/?q=${encodeURIComponent(fullWidth(name.toUpperCase()))}`, { token: admin.access });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.map((u: any) => u.id), [id]);
  });

  it('refuses a name mixing Latin with Cyrillic or Greek letters with a clear 400, and creates nothing', async () => {
    for (const [name, scripts] of [
      [`${CYRILLIC_A}dmin_${Date.now()}`, /Cyrillic and Latin/],
      [`r${GREEK_OMICRON}${GREEK_OMICRON}t_${Date.now()}`, /Greek and Latin/],
      [`ivan_Иван_${Date.now()}`, /Cyrillic and Latin/],
    ] as const) {
      for (const register of [registerCustomerRaw, registerRepRaw]) {
        const r = await register(server.url, name);
        assertClientError(r, 400, name);
        assert.match(r.body.detail, scripts);
        assert.equal(r.body.code, 'username_confusable');
        assert.deepEqual(r.body.user, { username: [r.body.detail] });
      }
      assert.equal(await server.store.findUserByUsername(name), undefined, 'nothing stored');
    }
  });

  it('accepts names in one script, the CJK mixes with Latin, and every plain ASCII name the original accepted', async () => {
    const n = String(Date.now());
    for (const name of [`Иван${n}`, `Ωμέγα_${n}`, `José.${n}`, `山田たろう_taro${n}`, `김민수kim${n}`, `a.b+c-d_e@${n}`, `UPPER${n}`, `${n}`]) {
      const r = await registerCustomerRaw(server.url, name, { user: { username: name, email: '' } });
      assert.equal(r.status, 201, `${name}: ${JSON.stringify(r.body)}`);
      assert.equal(r.body.user.username, name, 'stored as given');
    }
  });
});
