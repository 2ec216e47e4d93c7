// Settings kept in the shared database, such as the JWT secret generated once for all instances.
import type { Kysely } from 'kysely';

/** Returns the stored value, creating it with `generate()` first if absent; concurrent first calls agree. */
export async function sharedSetting(db: Kysely<any>, key: string, generate: () => string): Promise<string> {
  await db
    .insertInto('settings')
    .values({ key, value: generate() })
    .onConflict((oc) => oc.column('key').doNothing())
    .execute();
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirstOrThrow();
  return row.value as string;
}
