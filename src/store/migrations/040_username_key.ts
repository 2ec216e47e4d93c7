// Usernames are unique after NFKC and case folding: "admin", "Admin" and full-width "ａｄｍｉｎ" are one name.
// A new column holds each user's canonical name under a unique index. Existing users that clash after folding
// all keep their accounts: the oldest keeps the key, the later ones get none (so they still log in with their
// exact name, which stays unique) and each is recorded in username_clashes and reported as a warning.
import { sql, type Kysely } from 'kysely';
import { canonicalUsername } from '../../domain/usernames.ts';

export interface UsernameClash {
  userId: number;
  username: string;
  keptUserId: number;
}

const BATCH = 500;

async function fill(db: Kysely<any>): Promise<UsernameClash[]> {
  await db.schema.alterTable('users').addColumn('username_key', 'text').execute();
  await db.schema
    .createTable('username_clashes')
    .addColumn('user_id', 'bigint', (c) => c.primaryKey())
    .addColumn('username', 'text', (c) => c.notNull())
    .addColumn('username_key', 'text', (c) => c.notNull())
    .addColumn('kept_user_id', 'bigint', (c) => c.notNull())
    .addColumn('found_at', 'bigint', (c) => c.notNull())
    .execute();
  const owner = new Map<string, number>();
  const clashes: UsernameClash[] = [];
  const now = Date.now();
  // Oldest account first: it keeps the name, as the one people have used longest.
  for (let after = 0; ; ) {
    const rows = await db.selectFrom('users').select(['id', 'username']).where('id', '>', after).orderBy('id').limit(BATCH).execute();
    if (rows.length === 0) break;
    const keys: Array<[number, string]> = [];
    for (const r of rows) {
      const id = Number(r.id);
      const key = canonicalUsername(r.username);
      const kept = owner.get(key);
      if (kept === undefined) {
        owner.set(key, id);
        keys.push([id, key]);
      } else {
        clashes.push({ userId: id, username: r.username, keptUserId: kept });
        await db.insertInto('username_clashes').values({ user_id: id, username: r.username, username_key: key, kept_user_id: kept, found_at: now }).execute();
      }
    }
    // One statement a batch, not one per user: a round trip each made 20,000 users take 5 s on PostgreSQL.
    if (keys.length > 0) {
      const cases = sql.join(keys.map(([id, key]) => sql`when ${id} then ${key}`), sql` `);
      await db
        .updateTable('users')
        .set({ username_key: sql`case id ${cases} end` })
        .where('id', 'in', keys.map(([id]) => id))
        .execute();
    }
    after = Number(rows[rows.length - 1].id);
  }
  // NULLs do not collide, in SQLite and PostgreSQL alike: the later clashing accounts keep no key. (Not named
  // "users_username_key": PostgreSQL already gave that name to the username column's own constraint.)
  await db.schema.createIndex('users_canonical_username').on('users').column('username_key').unique().execute();
  return clashes;
}

export async function up(db: Kysely<any>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  // PostgreSQL's migrations already run in a transaction; SQLite's do not, and a half-done run must not stay.
  const clashes = dialect === 'sqlite' ? await db.transaction().execute((trx) => fill(trx)) : await fill(db);
  if (clashes.length > 0) {
    process.emitWarning(
      `${clashes.length} user(s) share a username with an older account once case and width are folded; they keep their accounts and log in with their exact name. ` +
        `See GET /api/admin/username-clashes/. ${clashes.map((c) => `user ${c.userId} ("${c.username}") clashes with user ${c.keptUserId}`).join('; ')}`,
      { type: 'UsernameClashWarning', code: 'SWITCHBOARD_USERNAME_CLASH' },
    );
  }
}
