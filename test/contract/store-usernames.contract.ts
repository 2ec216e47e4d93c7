// Store contract cases for folded usernames, run inside the Store contract (both dialects): uniqueness holds
// after NFKC and case folding, even for racing inserts, and a lookup by any spelling finds the account.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { UsernameTaken, type NewUser, type Store } from '../../src/store/port.ts';

const tag = () => randomUUID().slice(0, 8);
const newUser = (username: string): NewUser => ({ username, email: '', firstName: 'F', lastName: 'L', passwordHash: 'scrypt$stub' });
/** Full-width forms of ASCII letters and digits (U+FF10..U+FF5A): NFKC maps them back. */
const fullWidth = (s: string) => s.replace(/[A-Za-z0-9]/g, (c) => String.fromCharCode(c.charCodeAt(0) + 0xfee0));

export function usernameCases(store: () => Store): void {
  describe('folded usernames', () => {
    it('refuses another case or width of a taken name, whatever the role, and stores nothing', async () => {
      const name = `name${tag()}`;
      const { user } = await store().createCustomer(newUser(name), 1);
      await assert.rejects(store().createCustomer(newUser(name.toUpperCase()), 2), UsernameTaken);
      await assert.rejects(store().createRep(newUser(fullWidth(name)), 2), UsernameTaken);
      await assert.rejects(store().createAdmin(newUser(`N${name.slice(1)}`)), UsernameTaken);
      assert.deepEqual((await store().listUsers({ q: name, limit: 10, offset: 0 })).map((u) => u.user.id), [user.id]);
    });

    it('finds the account by any spelling, and by its exact name first', async () => {
      const name = `Mixed${tag()}`;
      const { user } = await store().createCustomer(newUser(name), 1);
      for (const spelling of [name, name.toLowerCase(), name.toUpperCase(), fullWidth(name)]) {
        assert.equal((await store().findUserByUsername(spelling))?.id, user.id, spelling);
      }
      assert.equal(await store().findUserByUsername(`${name}x`), undefined);
    });

    it('of two racing inserts of one folded name, exactly one wins', async () => {
      const name = `race${tag()}`;
      const results = await Promise.allSettled([store().createCustomer(newUser(name), 1), store().createRep(newUser(name.toUpperCase()), 1), store().createCustomer(newUser(fullWidth(name)), 1)]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, JSON.stringify(results.map((r) => r.status)));
      for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof UsernameTaken, String(r.reason));
    });

    it('the admin search matches the folded name too', async () => {
      const name = `srch${tag()}`;
      const { user } = await store().createCustomer(newUser(name), 1);
      assert.deepEqual((await store().listUsers({ q: fullWidth(name.toUpperCase()), limit: 10, offset: 0 })).map((u) => u.user.id), [user.id]);
    });

    it('has no clashes on a database created with folded names', async () => {
      assert.deepEqual(await store().listUsernameClashes(), []);
    });
  });
}
