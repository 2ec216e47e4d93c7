// Why a rep is offline: set by itself ('manual', kept until it says otherwise) or by presence
// ('presence', undone when its console reconnects).
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('rep_profiles').addColumn('offline_reason', 'text').execute();
}
