// Password hashing: scrypt round trip; a wrong password or a malformed stored hash is simply false.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { dummyHash, hashPassword, verifyPassword } from '../../src/auth/passwords.ts';

describe('passwords', () => {
  it('verifies the password it hashed', async () => {
    const stored = await hashPassword('correct horse battery staple');
    assert.match(stored, /^scrypt\$16384\$8\$1\$[A-Za-z0-9_-]+\$[A-Za-z0-9_-]+$/);
    assert.equal(await verifyPassword('correct horse battery staple', stored), true);
  });

  it('refuses a wrong password', async () => {
    const stored = await hashPassword('s3cret');
    assert.equal(await verifyPassword('s3cret ', stored), false);
    assert.equal(await verifyPassword('S3cret', stored), false);
    assert.equal(await verifyPassword('', stored), false);
  });

  it('salts every hash', async () => {
    const a = await hashPassword('same');
    const b = await hashPassword('same');
    assert.notEqual(a, b);
    assert.equal(await verifyPassword('same', a), true);
    assert.equal(await verifyPassword('same', b), true);
  });

  it('treats unicode passwords in NFKC form', async () => {
    const stored = await hashPassword('caf\u00e9');
    assert.equal(await verifyPassword('cafe\u0301', stored), true, 'the decomposed spelling is the same password');
    assert.equal(await verifyPassword('cafe', stored), false);
  });

  it('answers false, without throwing, for a malformed stored hash', async () => {
    const good = await hashPassword('pw');
    const [, n, r, p, salt, key] = good.split('$');
    const malformed = [
      '',
      'plain-text-password',
      'pbkdf2$1$2$3$4$5',
      `scrypt$${n}$${r}$${p}$${salt}`,
      `scrypt$${n}$${r}$${p}$${salt}$${key}$extra`,
      `scrypt$abc$${r}$${p}$${salt}$${key}`,
      `scrypt$${n}$x$${p}$${salt}$${key}`,
      `scrypt$${n}$${r}$$${salt}$${key}`,
      `scrypt$15$${r}$${p}$${salt}$${key}`,
      `scrypt$0$${r}$${p}$${salt}$${key}`,
      `scrypt$-16384$${r}$${p}$${salt}$${key}`,
      `scrypt$1073741824$${r}$${p}$${salt}$${key}`,
      `scrypt$${n}$${r}$${p}$${salt}$`,
      `scrypt$${n}$${r}$${p}$$${key}`,
      `scrypt$${n}$${r}$${p}$${salt}$${key.slice(0, 10)}`,
    ];
    for (const stored of malformed) {
      assert.equal(await verifyPassword('pw', stored), false, JSON.stringify(stored));
    }
  });

  it('gives a dummy hash that no guess matches, and the same one each time', async () => {
    const d = await dummyHash();
    assert.equal(await dummyHash(), d);
    assert.equal(await verifyPassword('', d), false);
    assert.equal(await verifyPassword('password', d), false);
  });
});
