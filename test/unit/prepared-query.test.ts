// A query built once (store/prepared.ts) answers exactly what the same Kysely query built each time answers,
// for every argument, inside and outside a transaction; a build that drops an argument is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'kysely';
import { openSqlite } from '../../src/store/open.ts';
import { prepare } from '../../src/store/prepared.ts';

async function withStore(fn: (store: Awaited<ReturnType<typeof openSqlite>>) => Promise<void>) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-prepared-'));
  const store = await openSqlite({ file: join(dir, 'switchboard.sqlite') });
  try {
    await fn(store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const user = (username: string) => ({ username, email: '', firstName: username, lastName: '', passwordHash: 'x' });

test('each call runs with its own arguments and answers what the query built anew answers', async () => {
  await withStore(async (store) => {
    const a = await store.createRep(user('alice'), 3);
    const b = await store.createRep(user('bob'), 5);
    const byCapacity = prepare(store.db, (db, min: number, name: string) =>
      db.selectFrom('rep_profiles as r').innerJoin('users as u', 'u.id', 'r.user_id').select(['r.id', 'u.username']).where('r.max_capacity', '>=', min).where('u.username', '!=', name).orderBy('r.id'),
    );
    for (const [min, name] of [[0, 'nobody'], [4, 'nobody'], [0, 'alice'], [6, 'bob'], [3, 'bob']] as const) {
      const fresh = await store.db.selectFrom('rep_profiles as r').innerJoin('users as u', 'u.id', 'r.user_id').select(['r.id', 'u.username']).where('r.max_capacity', '>=', min).where('u.username', '!=', name).orderBy('r.id').execute();
      const prepared = (await byCapacity(store.db, min, name)).rows;
      assert.deepEqual(prepared, fresh, `min ${min}, not ${name}`);
    }
    assert.deepEqual((await byCapacity(store.db, 4, 'nobody')).rows, [{ id: b.profile.id, username: 'bob' }]);
    assert.deepEqual((await byCapacity(store.db, 0, 'bob')).rows, [{ id: a.profile.id, username: 'alice' }]);
  });
});

test('an update runs in the transaction it is given: its change is seen there and rolled back with it', async () => {
  await withStore(async (store) => {
    const { profile } = await store.createRep(user('carol'), 2);
    const setCapacity = prepare(store.db, (db, id: number, cap: number) => db.updateTable('rep_profiles').set({ max_capacity: cap, load: sql`load` }).where('id', '=', id).returning('max_capacity'));
    await assert.rejects(
      store.db.transaction().execute(async (trx) => {
        assert.deepEqual((await setCapacity(trx, profile.id, 9)).rows, [{ max_capacity: 9 }]);
        const inside = await trx.selectFrom('rep_profiles').select('max_capacity').where('id', '=', profile.id).executeTakeFirstOrThrow();
        assert.equal(inside.max_capacity, 9);
        throw new Error('undo');
      }),
      /undo/,
    );
    assert.equal((await store.getRep(profile.id))?.maxCapacity, 2);
    assert.deepEqual((await setCapacity(store.db, profile.id, 7)).rows, [{ max_capacity: 7 }]);
    assert.equal((await store.getRep(profile.id))?.maxCapacity, 7);
  });
});

test('a build that does not pass an argument to the SQL as a parameter is refused', async () => {
  await withStore(async (store) => {
    const ignoresIt = prepare(store.db, (db, _id: number) => db.selectFrom('users').selectAll());
    await assert.rejects(async () => ignoresIt(store.db, 1), /argument 0 is not a parameter/);
  });
});
