// The PostgreSQL pool's client names the store's prepared queries: a connection prepares each once and reuses
// it; a statement prepared before a migration changed its table's columns fails once (0A000) on that
// connection, and runs from then on.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../helpers/pg.ts';
import { openPostgres, pgPool } from '../../src/store/open.ts';
import { nameOnServer } from '../../src/store/pg-named-statements.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';

const skip = await requirePostgres();

describe('PostgreSQL named statements', { skip: skip || undefined }, () => {
  let db: TempDatabase;
  let store: SqlStore;

  before(async () => {
    db = await createTempDatabase('sbpgnamed');
    // One connection: every statement below, and the catalog read, run on it.
    store = await openPostgres({ url: db.url, poolSize: 1 });
  });

  after(async () => {
    await store?.close();
    await db?.drop();
  });

  it('prepares a store query once per connection and runs it from there; leaves other queries unnamed', async () => {
    const missing = '00000000-0000-4000-8000-000000000000';
    for (let i = 0; i < 12; i++) assert.equal(await store.getConversation(missing), undefined);
    const { rows } = await sql<{ name: string; statement: string; runs: number }>`
      select name, statement, (generic_plans + custom_plans)::int as runs from pg_prepared_statements`.execute(store.db);
    const reads = rows.filter((r) => /from "conversations"/.test(r.statement) && /"id" = \$1/.test(r.statement));
    assert.equal(reads.length, 1, `one prepared conversation read: ${JSON.stringify(rows)}`);
    assert.match(reads[0].name, /^sb_/);
    assert.ok(reads[0].runs >= 12, `run from the prepared statement each time (${reads[0].runs})`);
    // A query the store did not prepare (its plan may depend on the value) is planned at each run.
    assert.deepEqual(await store.queuedOf(1), []);
    const after = await sql<{ statement: string }>`select statement from pg_prepared_statements`.execute(store.db);
    assert.deepEqual(after.rows.map((r) => r.statement).sort(), rows.map((r) => r.statement).sort());
  });

  it('a statement prepared before a migration changed its columns fails once on its connection, then runs', async () => {
    const pool = pgPool(db.url, 1);
    try {
      await pool.query('create table scratch (id int primary key)');
      await pool.query('insert into scratch values (1)');
      const text = 'select * from scratch where id = $1';
      nameOnServer(text);
      const read = () => pool.query(text, [1]);
      for (let i = 0; i < 3; i++) assert.deepEqual((await read()).rows, [{ id: 1 }]);
      await pool.query('alter table scratch add column extra int default 7');
      await assert.rejects(read(), (err: { code?: string }) => err.code === '0A000');
      const outcomes = [];
      for (let i = 0; i < 3; i++) outcomes.push((await read()).rows);
      assert.deepEqual(outcomes, [[{ id: 1, extra: 7 }], [{ id: 1, extra: 7 }], [{ id: 1, extra: 7 }]]);
    } finally {
      await pool.end();
    }
  });
});
