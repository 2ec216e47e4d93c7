// A conversation in which the customer left a message while no rep was online stays queued until a rep
// answers it, even with nobody connected: it is never marked abandoned.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('conversations').addColumn('left_message_at', 'bigint').execute();
}
