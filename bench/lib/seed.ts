// Seeds a fresh embedded database before the server starts: customers, reps and conversations through the
// Store port (the same code the server runs), one shared password hash, and access tokens signed with the
// server's secret. Registration over HTTP costs two scrypt runs per user (~55 ms each), which would
// dominate benches that need thousands of users; the relay bench registers over HTTP instead.
import { join } from 'node:path';
import { openSqlite } from '../../src/store/open.ts';
import { hashPassword } from '../../src/auth/passwords.ts';
import { TokenService } from '../../src/auth/tokens.ts';
import { BENCH_SECRET } from './procs.ts';

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

export async function seed(dataDir: string, opts: { customers: number; repCapacities: number[]; prefix?: string }): Promise<Seeded> {
  const started = Date.now();
  const store = await openSqlite({ file: join(dataDir, 'switchboard.sqlite3') });
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
    const customers: SeededCustomer[] = [];
    const now = Date.now();
    for (let i = 0; i < opts.customers; i++) {
      const username = `${prefix}cust${i}`;
      const { user, profile } = await store.createCustomer({ username, email: `${username}@example.com`, firstName: 'C', lastName: String(i), passwordHash }, 5550100 + i);
      const conv = await store.createConversation(profile.id, now + i);
      customers.push({
        userId: user.id,
        profileId: profile.id,
        username,
        access: await tokens.signAccess({ userId: user.id, role: 'customer', epoch: 0 }),
        conversationId: conv.id,
      });
    }
    return { customers, reps, seconds: (Date.now() - started) / 1000 };
  } finally {
    await store.close();
  }
}
