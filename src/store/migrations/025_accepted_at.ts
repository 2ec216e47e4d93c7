// When the rep holding a chat first opened it (its chat socket joined): an assigned chat left unopened past
// ACCEPT_TIMEOUT_MS goes back to the queue. Chats assigned before this column existed count as opened.
import { sql, type Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('conversations').addColumn('accepted_at', 'bigint').execute();
  await sql`update conversations set accepted_at = assigned_at where status = 'assigned'`.execute(db);
}
