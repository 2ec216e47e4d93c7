// Seeds a fresh embedded database before the server starts: customers, reps and conversations through the
// Store port (the same code the server runs), one shared password hash, and access tokens signed with the
// server's secret. Registration over HTTP costs two scrypt runs per user (~55 ms each), which would
// dominate benches that need thousands of users; the relay bench registers over HTTP instead.
import { join } from 'node:path';
import { openSqlite } from '../../src/store/open.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { TokenService } from '../../src/auth/tokens.ts';
import { BENCH_SECRET } from './procs.ts';
import { uuidv7 } from '../../src/store/uuid.ts';
import { canonicalUsername } from '../../src/domain/usernames.ts';
import type { SqlStore } from '../../src/store/sql-store.ts';

export const BENCH_PASSWORD = 'pw-123456';

export interface SeededCustomer {
  userId: number;
  profileId: number;
  username: string;
  access: string;
  conversationId: string;
}

export interface SeededRep {
  userId: number;
  profileId: number;
  username: string;
  access: string;
}

export interface Seeded {
  customers: SeededCustomer[];
  reps: SeededRep[];
  seconds: number;
}

export interface SeedOptions {
  customers: number;
  repCapacities: number[];
  prefix?: string;
}

export async function seed(dataDir: string, opts: SeedOptions): Promise<Seeded> {
  return seedStore(await openSqlite({ file: join(dataDir, 'switchboard.sqlite3') }), opts);
}

/** Seeds through an opened store (SQLite or PostgreSQL) and closes it. */
export async function seedStore(store: SqlStore, opts: SeedOptions): Promise<Seeded> {
  const started = Date.now();
  const tokens = new TokenService(BENCH_SECRET, 3600, 3600);
  const passwordHash = await hashPassword(BENCH_PASSWORD);
  const prefix = opts.prefix ?? 'b';
  try {
    const reps: SeededRep[] = [];
    for (let i = 0; i < opts.repCapacities.length; i++) {
      const username = `${prefix}rep${i}`;
      const { user, profile } = await store.createRep({ username, email: `${username}@example.com`, firstName: 'Rep', lastName: String(i), passwordHash }, opts.repCapacities[i]);
      reps.push({ userId: user.id, profileId: profile.id, username, access: await tokens.signAccess({ userId: user.id, role: 'rep', epoch: 0 }) });
    }
    // Customers in one transaction, through the same typed schema the store uses (one commit, not 3 per user).
    const customers: SeededCustomer[] = [];
    const now = Date.now();
    await store.db.transaction().execute(async (trx) => {
      for (let i = 0; i < opts.customers; i++) {
        const username = `${prefix}cust${i}`;
        const user = await trx
          .insertInto('users')
          .values({ username, username_key: canonicalUsername(username), email: `${username}@example.com`, first_name: 'C', last_name: String(i), password_hash: passwordHash, role: 'customer', created_at: now })
          .returning('id')
          .executeTakeFirstOrThrow();
        const userId = Number(user.id);
        const profile = await trx.insertInto('customer_profiles').values({ user_id: userId, phone_number: 5550100 + i }).returning('id').executeTakeFirstOrThrow();
        const conversationId = uuidv7(now + i);
        await trx
          .insertInto('conversations')
          .values({
            id: conversationId,
            customer_id: Number(profile.id),
            status: 'new',
            created_at: now + i,
            rep_id: null,
            queue_seq: null,
            queued_at: null,
            assigned_at: null,
            closed_at: null,
            closed_by: null,
            rating: null,
            rating_comment: null,
          })
          .execute();
        customers.push({ userId, profileId: Number(profile.id), username, access: '', conversationId });
      }
    });
    for (const c of customers) c.access = await tokens.signAccess({ userId: c.userId, role: 'customer', epoch: 0 });
    return { customers, reps, seconds: (Date.now() - started) / 1000 };
  } finally {
    await store.close();
  }
}
