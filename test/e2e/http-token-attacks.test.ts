// Forged, tampered, expired and misused tokens: every one is 401 on /api/me/, with a JSON detail.
// Each forgery has a control built the same way with the right ingredients, which must be accepted,
// so that a 401 proves the check and not a broken forgery.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { SignJWT, decodeJwt } from 'jose';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.ts';
import { http, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { assertClientError } from '../helpers/http-fixtures.ts';

const b64url = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const secretKey = (s: string) => new TextEncoder().encode(s);

/** An access token in the server's claim format (src/auth/tokens.ts), with overridable parts. */
async function forgeAccess(
  userId: number,
  opts: { role?: string; epoch?: number; typ?: string; secret?: string; alg?: string; issuer?: string; iat?: number; exp?: number } = {},
): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT({ typ: opts.typ ?? 'access', role: opts.role ?? 'customer', ep: opts.epoch ?? 0 })
    .setProtectedHeader({ alg: opts.alg ?? 'HS256', typ: 'JWT' })
    .setSubject(String(userId))
    .setIssuer(opts.issuer ?? 'switchboard')
    .setIssuedAt(opts.iat ?? now)
    .setJti(randomUUID())
    .setExpirationTime(opts.exp ?? now + 600)
    .sign(secretKey(opts.secret ?? TEST_SECRET));
}

describe('token attacks on /api/me/', () => {
  let server: TestServer;
  let base: string;
  let customer: Account;
  let rep: Account;

  before(async () => {
    server = await startServer();
    base = server.url;
    customer = await registerCustomer(base);
    rep = await registerRep(base, 2);
  });
  after(async () => {
    await server.stop({ wipe: true });
  });

  const me = (token: string) => http(base, 'GET', '/api/me/', { token });

  test('control: a token forged with the test secret and the real claim format is accepted', async () => {
    const r = await me(await forgeAccess(customer.userId));
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.user.username, customer.username);
  });

  test('alg "none" -> 401', async () => {
    const claims = decodeJwt(customer.access);
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    assertClientError(await me(none), 401, 'alg none, empty signature');
    const noneWithSig = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.${customer.access.split('.')[2]}`;
    assertClientError(await me(noneWithSig), 401, 'alg none, kept signature');
    const upper = `${b64url({ alg: 'NONE', typ: 'JWT' })}.${b64url(claims)}.`;
    assertClientError(await me(upper), 401, 'alg NONE');
  });

  test('a token signed with a foreign key -> 401', async () => {
    const foreign = await forgeAccess(customer.userId, { secret: 'a-completely-different-secret-of-enough-length!' });
    assertClientError(await me(foreign), 401);
  });

  test('another HMAC algorithm with the right secret -> 401 (only HS256 is accepted)', async () => {
    assertClientError(await me(await forgeAccess(customer.userId, { alg: 'HS512' })), 401);
  });

  test('a foreign issuer with the right secret -> 401', async () => {
    assertClientError(await me(await forgeAccess(customer.userId, { issuer: 'someone-else' })), 401);
  });

  test('tampered claims with the original signature -> 401', async () => {
    const [header, payload, signature] = customer.access.split('.');
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString());
    assert.equal(claims.role, 'customer', 'the claims hold the role (src/auth/tokens.ts)');
    const asAdmin = `${header}.${b64url({ ...claims, role: 'admin' })}.${signature}`;
    assertClientError(await me(asAdmin), 401, 'role changed to admin');
    const asRep = `${header}.${b64url({ ...claims, sub: String(rep.userId), role: 'rep' })}.${signature}`;
    assertClientError(await me(asRep), 401, 'subject changed to the rep');
    const longer = `${header}.${b64url({ ...claims, exp: claims.exp + 86400 * 365 })}.${signature}`;
    assertClientError(await me(longer), 401, 'expiry pushed out');
    // The untouched token still works: the 401s came from the tampering.
    assert.equal((await me(customer.access)).status, 200);
  });

  test('a validly signed token whose role does not match the account -> 401', async () => {
    assertClientError(await me(await forgeAccess(customer.userId, { role: 'admin' })), 401);
    assertClientError(await me(await forgeAccess(customer.userId, { role: 'superuser' })), 401);
  });

  test('an expired token -> 401', async () => {
    const past = Math.floor(Date.now() / 1000) - 3600;
    const expired = await forgeAccess(customer.userId, { iat: past - 900, exp: past });
    assertClientError(await me(expired), 401);
    const justExpired = await forgeAccess(customer.userId, { exp: Math.floor(Date.now() / 1000) - 5 });
    assertClientError(await me(justExpired), 401);
  });

  test('a refresh token used as an access token -> 401', async () => {
    assertClientError(await me(customer.refresh), 401);
    assertClientError(await me(await forgeAccess(customer.userId, { typ: 'refresh' })), 401);
  });

  test('garbage -> 401', async () => {
    for (const token of ['garbage', 'a.b.c', 'eyJhbGciOiJIUzI1NiJ9..', `${customer.access}x`, customer.access.split('.').slice(0, 2).join('.'), 'x'.repeat(5000)]) {
      assertClientError(await me(token), 401, token.slice(0, 40));
    }
    assertClientError(await http(base, 'GET', '/api/me/', { headers: { authorization: `Bearer ${'\u00e9'.repeat(3)}` } }), 401, 'non-ascii');
  });

  test('a missing or malformed Authorization header -> 401', async () => {
    assertClientError(await http(base, 'GET', '/api/me/'), 401, 'no header');
    assertClientError(await http(base, 'GET', '/api/me/', { headers: { authorization: customer.access } }), 401, 'no Bearer');
    assertClientError(await http(base, 'GET', '/api/me/', { headers: { authorization: 'Bearer' } }), 401, 'Bearer alone');
    assertClientError(await http(base, 'GET', '/api/me/', { headers: { authorization: 'Bearer ' } }), 401, 'Bearer and a space');
    assertClientError(await http(base, 'GET', '/api/me/', { headers: { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` } }), 401, 'Basic');
    assertClientError(await http(base, 'GET', '/api/me/', { headers: { authorization: `Bearer ${customer.access} ${customer.access}` } }), 401, 'two tokens');
  });

  test('a token for a user that does not exist -> 401', async () => {
    assertClientError(await me(await forgeAccess(999_999)), 401);
    assertClientError(await me(await forgeAccess(0)), 401);
  });

  test('the same attacks are 401 on another protected route too', async () => {
    const claims = decodeJwt(customer.access);
    const none = `${b64url({ alg: 'none', typ: 'JWT' })}.${b64url(claims)}.`;
    for (const token of [none, customer.refresh, await forgeAccess(customer.userId, { secret: 'a-completely-different-secret-of-enough-length!' })]) {
      assertClientError(await http(base, 'GET', '/api/conversations/', { token }), 401);
      assertClientError(await http(base, 'POST', '/api/conversations/', { token, body: {} }), 401);
    }
    // And nothing was opened by them.
    assert.deepEqual((await http(base, 'GET', '/api/conversations/', { token: customer.access })).body, []);
  });
});
