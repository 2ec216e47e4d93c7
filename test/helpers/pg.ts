// A fresh PostgreSQL database per test run, dropped afterwards. Under CI (true or 1) a missing server fails loudly.
import pg from 'pg';
import { randomBytes } from 'node:crypto';
import { skipOrFail } from './env.ts';

export const PG_ADMIN_URL = process.env.TEST_PG_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export async function postgresAvailable(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: PG_ADMIN_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('select 1');
    return undefined;
  } catch (err) {
    return (err as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Returns a skip reason outside CI when PostgreSQL is down; throws under CI. */
export async function requirePostgres(): Promise<string | false> {
  const problem = await postgresAvailable();
  if (!problem) return false;
  const reason = `PostgreSQL at ${PG_ADMIN_URL} is not reachable (${problem})`;
  return skipOrFail(reason, 'PostgreSQL tests');
}

export interface TempDatabase {
  url: string;
  drop(): Promise<void>;
}

export async function createTempDatabase(prefix = 'sbtest'): Promise<TempDatabase> {
  const name = `${prefix}_${Date.now().toString(36)}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: PG_ADMIN_URL });
  await admin.connect();
  await admin.query(`create database ${name}`);
  await admin.end();
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: PG_ADMIN_URL });
      await c.connect();
      await c.query(`drop database if exists ${name} with (force)`);
      await c.end();
    },
  };
}
