// Access and refresh tokens: valid ones verify; every forged, tampered, expired or misused one is a TokenError.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { TokenError, TokenService } from '../../src/auth/tokens.ts';

const SECRET = 'a-test-secret-that-is-long-enough-for-hs256';
const OTHER_SECRET = 'another-secret-that-is-long-enough-for-hs256';
const tokens = new TokenService(SECRET, 900, 3600);

const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

/** A JWT built by hand: header, payload, and an HS256 signature with `secret` (or the given raw signature). */
function forge(header: Record<string, unknown>, payload: Record<string, unknown>, secret: string | null): string {
  const input = `${b64(header)}.${b64(payload)}`;
  const sig = secret === null ? '' : createHmac('sha256', secret).update(input).digest('base64url');
  return `${input}.${sig}`;
}

const accessPayload = (o: Record<string, unknown> = {}) => ({
  typ: 'access',
  role: 'admin',
  ep: 0,
  sub: '1',
  iss: 'switchboard',
  iat: now(),
  exp: now() + 600,
  jti: randomUUID(),
  ...o,
});

async function rejected(p: Promise<unknown>): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(err instanceof TokenError, `expected a TokenError, got ${String(err)}`);
    return true;
  });
}

describe('TokenService', () => {
  it('verifies a valid access token', async () => {
    const t = await tokens.signAccess({ userId: 42, role: 'rep', epoch: 3 });
    assert.deepEqual(await tokens.verifyAccess(t), { userId: 42, role: 'rep', epoch: 3 });
  });

  it('verifies a valid refresh token', async () => {
    const family = randomUUID();
    const r = await tokens.signRefresh(7, family);
    const claims = await tokens.verifyRefresh(r.token);
    assert.deepEqual({ ...claims, familyStartS: undefined }, { userId: 7, jti: r.jti, familyId: family, familyStartS: undefined });
    assert.ok(Math.abs(claims.familyStartS - now()) <= 2, 'a new family starts now');
    const exp = r.expiresAt / 1000;
    assert.ok(Math.abs(exp - (now() + 3600)) <= 2, 'expiresAt is the refresh lifetime from now, in ms');
  });

  it('accepts a hand-built token with the right key (so the forgeries below differ only in the attack)', async () => {
    const t = forge({ alg: 'HS256', typ: 'JWT' }, accessPayload({ sub: '9', role: 'customer' }), SECRET);
    assert.deepEqual(await tokens.verifyAccess(t), { userId: 9, role: 'customer', epoch: 0 });
  });

  it('rejects an alg "none" token', async () => {
    for (const alg of ['none', 'None', 'NONE']) {
      await rejected(tokens.verifyAccess(forge({ alg, typ: 'JWT' }, accessPayload(), null)));
    }
    // A "none" header that still carries a valid signature is refused too.
    await rejected(tokens.verifyAccess(forge({ alg: 'none', typ: 'JWT' }, accessPayload(), SECRET)));
  });

  it('rejects a token signed with another key', async () => {
    await rejected(tokens.verifyAccess(forge({ alg: 'HS256', typ: 'JWT' }, accessPayload(), OTHER_SECRET)));
    const foreign = new TokenService(OTHER_SECRET, 900, 3600);
    await rejected(tokens.verifyAccess(await foreign.signAccess({ userId: 1, role: 'admin', epoch: 0 })));
    await rejected(tokens.verifyRefresh((await foreign.signRefresh(1, randomUUID())).token));
  });

  it('rejects another HMAC algorithm than HS256, even with the right key', async () => {
    const input = `${b64({ alg: 'HS512', typ: 'JWT' })}.${b64(accessPayload())}`;
    const sig = createHmac('sha512', SECRET).update(input).digest('base64url');
    await rejected(tokens.verifyAccess(`${input}.${sig}`));
  });

  it('rejects a tampered payload', async () => {
    const t = await tokens.signAccess({ userId: 5, role: 'customer', epoch: 0 });
    const [h, p, s] = t.split('.');
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString());
    for (const change of [{ role: 'admin' }, { sub: '1' }, { exp: claims.exp + 86_400 }, { ep: 99 }]) {
      await rejected(tokens.verifyAccess(`${h}.${b64({ ...claims, ...change })}.${s}`));
    }
    // A flipped signature character fails too.
    const flipped = s[0] === 'A' ? `B${s.slice(1)}` : `A${s.slice(1)}`;
    await rejected(tokens.verifyAccess(`${h}.${p}.${flipped}`));
  });

  it('rejects an expired token', async () => {
    const past = now() - 3600;
    await rejected(tokens.verifyAccess(forge({ alg: 'HS256', typ: 'JWT' }, accessPayload({ iat: past - 900, exp: past }), SECRET)));
    await rejected(
      tokens.verifyRefresh(
        forge({ alg: 'HS256', typ: 'JWT' }, { typ: 'refresh', fam: randomUUID(), sub: '1', iss: 'switchboard', iat: past - 900, exp: past, jti: randomUUID() }, SECRET),
      ),
    );
    const shortLived = new TokenService(SECRET, 1, 1);
    const t = await shortLived.signAccess({ userId: 1, role: 'rep', epoch: 0 });
    const claims = JSON.parse(Buffer.from(t.split('.')[1], 'base64url').toString());
    assert.equal(claims.exp - claims.iat, 1, 'access lifetime is applied');
  });

  it('rejects a refresh token used as an access token, and an access token used as a refresh token', async () => {
    const refresh = (await tokens.signRefresh(3, randomUUID())).token;
    await rejected(tokens.verifyAccess(refresh));
    const access = await tokens.signAccess({ userId: 3, role: 'customer', epoch: 0 });
    await rejected(tokens.verifyRefresh(access));
  });

  it('rejects a token from another issuer, a bad subject or a bad role', async () => {
    const h = { alg: 'HS256', typ: 'JWT' };
    await rejected(tokens.verifyAccess(forge(h, accessPayload({ iss: 'someone-else' }), SECRET)));
    await rejected(tokens.verifyAccess(forge(h, accessPayload({ iss: undefined }), SECRET)));
    for (const sub of ['0', '-1', 'abc', '1.5', undefined]) await rejected(tokens.verifyAccess(forge(h, accessPayload({ sub }), SECRET)));
    for (const role of ['superuser', undefined, 1]) await rejected(tokens.verifyAccess(forge(h, accessPayload({ role }), SECRET)));
    await rejected(tokens.verifyAccess(forge(h, accessPayload({ typ: undefined }), SECRET)));
    await rejected(tokens.verifyRefresh(forge(h, { typ: 'refresh', sub: '1', iss: 'switchboard', exp: now() + 60, jti: randomUUID() }, SECRET)));
  });

  it('rejects garbage', async () => {
    const garbage = ['', 'garbage', 'a.b.c', '...', 'x'.repeat(5000), `${b64({ alg: 'HS256' })}.not-json.sig`, 'eyJhbGciOiJIUzI1NiJ9', '\u0000'];
    for (const g of garbage) {
      await rejected(tokens.verifyAccess(g));
      await rejected(tokens.verifyRefresh(g));
    }
    await rejected(tokens.verifyAccess(undefined as unknown as string));
    await rejected(tokens.verifyAccess(42 as unknown as string));
  });
});

describe('verified-token memory', () => {
  it('answers a repeated token from memory, but never past its expiry', async () => {
    let nowMs = Date.UTC(2026, 0, 1, 12, 0, 0);
    const shortLived = new TokenService(SECRET, 60, 60, { clock: () => nowMs });
    const token = await shortLived.signAccess({ userId: 7, role: 'rep', epoch: 2 });
    assert.deepEqual(await shortLived.verifyAccess(token), { userId: 7, role: 'rep', epoch: 2 });
    nowMs += 59_000;
    assert.deepEqual(await shortLived.verifyAccess(token), { userId: 7, role: 'rep', epoch: 2 }, 'remembered while valid');
    nowMs += 1_000;
    await assert.rejects(shortLived.verifyAccess(token), TokenError);
  });
});
