// Presence generations: a counter bumped whenever a customer's or a rep's socket is seen coming back. The
// abandon and the rep's offline transition are conditional on the generation read before the sweep decided,
// so a reconnect racing a grace period's end always wins in the store, on every instance.
import type { Kysely } from 'kysely';

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('conversations').addColumn('presence_gen', 'integer', (c) => c.notNull().defaultTo(0)).execute();
  await db.schema.alterTable('rep_profiles').addColumn('presence_gen', 'integer', (c) => c.notNull().defaultTo(0)).execute();
}
