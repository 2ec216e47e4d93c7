// Without Redis, routing lives in one process: an advisory lock held for the process's life keeps a
// second instance off the same PostgreSQL database.
import pg from 'pg';
import { InstanceLockError } from './data-dir-lock.ts';

const SINGLETON_KEY = 0x5357_4244; // "SWBD"

export async function holdPostgresSingleton(url: string): Promise<() => Promise<void>> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  client.on('error', () => {});
  const { rows } = await client.query('select pg_try_advisory_lock($1) as ok', [SINGLETON_KEY]);
  if (!rows[0].ok) {
    await client.end();
    throw new InstanceLockError(
      'Another Switchboard instance is using this PostgreSQL database with in-process routing. Set REDIS_URL to run several instances.',
    );
  }
  return async () => {
    await client.end().catch(() => undefined);
  };
}
