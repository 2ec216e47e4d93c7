// Migration 040 on a database made before usernames were folded: "admin", "Admin" and full-width "ａｄｍｉｎ"
// were three accounts. After it every account still logs in with its exact name, the oldest holds the folded
// name ("ADMIN" finds it), the later ones are reported (a process warning and the admin's clash list), and no
// new spelling of the name can be registered. On SQLite and on PostgreSQL.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { FairSqliteDialect } from '../../src/store/sqlite-dialect.ts';
import { migrationProvider } from '../../src/store/migrations/index.ts';
import { pgPool } from '../../src/store/open.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../helpers/pg.ts';
import { http, login } from '../helpers/client.ts';
import { assertClientError, createAdmin, registerCustomerRaw } from '../helpers/http-fixtures.ts';

const PASSWORD = 'pw-legacy-1';
// Oldest first: "admin" keeps the folded name.
const LEGACY = ['admin', 'Admin', 'ａｄｍｉｎ', 'Straße', 'STRASSE', 'bob'];

/** Brings a fresh database to the schema before 040 and stores the legacy users as the old code would have. */
async function seedLegacy(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<Map<string, number>> {
  const { error } = await new Migrator({ db, provider: migrationProvider(dialect) }).migrateTo('030_left_message');
  if (error) throw error;
  const hash = await hashPassword(PASSWORD);
  const ids = new Map<string, number>();
  for (const [i, username] of LEGACY.entries()) {
    const row = await db
      .insertInto('users')
      .values({ username, email: '', first_name: '', last_name: '', password_hash: hash, role: 'customer', created_at: Date.now() + i })
      .returning('id')
      .executeTakeFirstOrThrow();
    await db.insertInto('customer_profiles').values({ user_id: row.id, phone_number: 5550100 + i }).execute();
    ids.set(username, Number(row.id));
  }
  return ids;
}

type Setup = { server: TestServer; ids: Map<string, number>; warnings: Error[]; cleanup: () => Promise<void> };

async function sqliteSetup(): Promise<Setup> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sb-usermig-'));
  const db = new Kysely<any>({ dialect: new FairSqliteDialect(new SQLite(join(dataDir, 'switchboard.sqlite3'))) });
  const ids = await seedLegacy(db, 'sqlite');
  await db.destroy();
  const { server, warnings } = await startWatchingWarnings(() => startServer({ dataDir }));
  return { server, ids, warnings, cleanup: async () => { await server.stop(); rmSync(dataDir, { recursive: true, force: true }); } };
}

async function postgresSetup(): Promise<Setup> {
  const temp: TempDatabase = await createTempDatabase('sbusermig');
  const db = new Kysely<any>({ dialect: new PostgresDialect({ pool: pgPool(temp.url, 2) }) });
  const ids = await seedLegacy(db, 'postgres');
  await db.destroy();
  const { server, warnings } = await startWatchingWarnings(() => startServer({ databaseUrl: temp.url }));
  return { server, ids, warnings, cleanup: async () => { await server.stop(); await temp.drop(); } };
}

async function startWatchingWarnings(start: () => Promise<TestServer>): Promise<{ server: TestServer; warnings: Error[] }> {
  const warnings: Error[] = [];
  const onWarning = (w: Error) => warnings.push(w);
  process.on('warning', onWarning);
  try {
    const server = await start();
    // 'warning' is emitted on the next tick after emitWarning.
    await new Promise((resolve) => setImmediate(resolve));
    return { server, warnings };
  } finally {
    process.off('warning', onWarning);
  }
}

const skipPg = await requirePostgres();

for (const [name, setup, skip] of [
  ['SQLite', sqliteSetup, false],
  ['PostgreSQL', postgresSetup, skipPg],
] as const) {
  describe(`username migration (040) on ${name}`, { skip: skip || undefined }, () => {
    let s: Setup;
    before(async () => {
      s = await setup();
    });
    after(async () => {
      await s?.cleanup();
    });

    const userIdOf = async (token: string) => (await http(s.server.url, 'GET', '/api/me/', { token })).body.user.id;

    it('loses no account: each legacy user logs in with its exact name and is itself', async () => {
      for (const username of LEGACY) {
        const t = await login(s.server.url, username, PASSWORD);
        assert.equal(await userIdOf(t.access), s.ids.get(username), username);
      }
    });

    it('another spelling finds the oldest account that held the folded name', async () => {
      assert.equal(await userIdOf((await login(s.server.url, 'ADMIN', PASSWORD)).access), s.ids.get('admin'));
      assert.equal(await userIdOf((await login(s.server.url, 'strasse', PASSWORD)).access), s.ids.get('Straße'));
      assert.equal(await userIdOf((await login(s.server.url, 'BOB', PASSWORD)).access), s.ids.get('bob'));
    });

    it('reports each clash as a warning naming the ids, and in the admin clash list', async () => {
      const warning = s.warnings.find((w) => (w as { code?: string }).code === 'SWITCHBOARD_USERNAME_CLASH');
      assert.ok(warning, `a clash warning (${s.warnings.map((w) => w.message).join(' | ')})`);
      for (const later of ['Admin', 'ａｄｍｉｎ', 'STRASSE']) assert.match(warning.message, new RegExp(`user ${s.ids.get(later)} \\(`), later);
      const admin = await createAdmin(s.server.url, s.server.store);
      const list = await http(s.server.url, 'GET', '/api/admin/username-clashes/', { token: admin.access });
      assert.equal(list.status, 200);
      assert.deepEqual(
        list.body.map((c: any) => [c.user.id, c.user.username, c.kept_user_id, c.username_key]),
        [
          [s.ids.get('Admin'), 'Admin', s.ids.get('admin'), 'admin'],
          [s.ids.get('ａｄｍｉｎ'), 'ａｄｍｉｎ', s.ids.get('admin'), 'admin'],
          [s.ids.get('STRASSE'), 'STRASSE', s.ids.get('Straße'), 'strasse'],
        ],
      );
      const customer = await login(s.server.url, 'bob', PASSWORD);
      assertClientError(await http(s.server.url, 'GET', '/api/admin/username-clashes/', { token: customer.access }), 403);
    });

    it('refuses a new spelling of a migrated name, clashing or not, as a duplicate', async () => {
      for (const username of ['aDmIn', 'Admin', 'ＢＯＢ', 'strasse']) {
        const r = await registerCustomerRaw(s.server.url, username);
        assertClientError(r, 400, username);
        assert.ok(Array.isArray(r.body.user?.username), `${username}: ${JSON.stringify(r.body)}`);
      }
    });
  });
}
