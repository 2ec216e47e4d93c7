// Store contract cases for the admin's account verbs and deactivation, run inside the Store contract (both dialects).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NewUser, Store } from '../../src/store/port.ts';

const unique = (prefix: string) => `${prefix}_${randomUUID().slice(0, 8)}`;
const newUser = (username: string, email = `${username}@example.com`): NewUser => ({ username, email, firstName: 'First', lastName: 'Last', passwordHash: 'scrypt$stub' });

export function adminAccountCases(store: () => Store): void {
  describe('admin account verbs', () => {
    it('lists users with their profile ids, filtered by role and a case-insensitive substring, in id order, paged', async () => {
      const tag = unique('Tg');
      const c = await store().createCustomer(newUser(`${tag}_c`), 1);
      const r = await store().createRep(newUser(`x_${tag.toUpperCase()}_r`), 2);
      const a = await store().createAdmin(newUser(unique('adm'), `${tag.toLowerCase()}@example.com`));
      const all = await store().listUsers({ q: tag.toLowerCase(), limit: 10, offset: 0 });
      assert.deepEqual(all, [
        { user: c.user, profileId: c.profile.id },
        { user: r.user, profileId: r.profile.id },
        { user: a, profileId: null },
      ]);
      assert.deepEqual((await store().listUsers({ q: tag, role: 'rep', limit: 10, offset: 0 })).map((u) => u.user.id), [r.user.id]);
      assert.deepEqual((await store().listUsers({ q: tag, limit: 1, offset: 2 })).map((u) => u.user.id), [a.id]);
      // LIKE's wildcards in the search text match only themselves.
      assert.deepEqual(await store().listUsers({ q: `${tag}%_`, limit: 10, offset: 0 }), []);
      assert.deepEqual(await store().getUserWithProfile(r.user.id), { user: r.user, profileId: r.profile.id });
      assert.equal(await store().getUserWithProfile(987654321), undefined);
    });

    it('deactivation bumps the epoch and revokes every refresh token in one step; reactivation bumps it again', async () => {
      const { user } = await store().createCustomer(newUser(unique('d')), 1);
      assert.equal(user.isActive, true);
      await store().insertRefreshToken({ jti: randomUUID(), familyId: 'f1', userId: user.id, expiresAt: Date.now() + 60_000 });
      const jti = randomUUID();
      await store().insertRefreshToken({ jti, familyId: 'f2', userId: user.id, expiresAt: Date.now() + 60_000 });
      const off = await store().setUserActive(user.id, false);
      assert.deepEqual(off, { ...user, isActive: false, tokenEpoch: user.tokenEpoch + 1 });
      assert.equal((await store().consumeRefreshToken(jti, Date.now())).kind, 'reused');
      assert.equal((await store().findUserByUsername(user.username))?.isActive, false);
      assert.equal((await store().getIdentity(user.id))?.user.isActive, false);
      const on = await store().setUserActive(user.id, true);
      assert.deepEqual(on, { ...user, isActive: true, tokenEpoch: user.tokenEpoch + 2 });
      assert.equal(await store().setUserActive(987654321, false), undefined);
    });

    it('a password reset replaces the hash and ends every session', async () => {
      const { user } = await store().createCustomer(newUser(unique('p')), 1);
      const jti = randomUUID();
      await store().insertRefreshToken({ jti, familyId: 'f', userId: user.id, expiresAt: Date.now() + 60_000 });
      assert.equal(await store().setPasswordHash(user.id, 'scrypt$new'), true);
      const found = await store().findUserByUsername(user.username);
      assert.equal(found?.passwordHash, 'scrypt$new');
      assert.equal(found?.tokenEpoch, user.tokenEpoch + 1);
      assert.equal((await store().consumeRefreshToken(jti, Date.now())).kind, 'reused');
      assert.equal(await store().setPasswordHash(987654321, 'x'), false);
    });
  });
}
