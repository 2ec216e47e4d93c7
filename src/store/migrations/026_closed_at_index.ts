// Retention deletes closed conversations by age, oldest first, in small batches: an index keeps each batch cheap.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.createIndex('conversations_closed_at').on('conversations').columns(['closed_at']).execute();
}
