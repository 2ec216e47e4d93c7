// Accounts an admin has deactivated: they keep their data, but cannot log in, refresh or use a token.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('users').addColumn('is_active', 'integer', (c) => c.notNull().defaultTo(1)).execute();
}
