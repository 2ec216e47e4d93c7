// The ordered list of schema migrations, applied at start by Kysely's Migrator (under an advisory lock on PostgreSQL).
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import * as initial from './001_initial.ts';
import * as settings from './002_settings.ts';
import * as offlineReason from './003_offline_reason.ts';
import * as userActive from './004_user_active.ts';
import * as presenceGen from './010_presence_gen.ts';
import * as acceptedAt from './025_accepted_at.ts';
import * as closedAtIndex from './026_closed_at_index.ts';
import * as leftMessage from './030_left_message.ts';
import * as usernameKey from './040_username_key.ts';

export function migrationProvider(dialect: 'sqlite' | 'postgres'): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '001_initial': { up: (db: Kysely<any>) => initial.up(db, dialect) },
        '002_settings': { up: (db: Kysely<any>) => settings.up(db) },
        '003_offline_reason': { up: (db: Kysely<any>) => offlineReason.up(db) },
        '004_user_active': { up: (db: Kysely<any>) => userActive.up(db) },
        '010_presence_gen': { up: (db: Kysely<any>) => presenceGen.up(db) },
        '025_accepted_at': { up: (db: Kysely<any>) => acceptedAt.up(db) },
        '026_closed_at_index': { up: (db: Kysely<any>) => closedAtIndex.up(db) },
        '030_left_message': { up: (db: Kysely<any>) => leftMessage.up(db) },
        '040_username_key': { up: (db: Kysely<any>) => usernameKey.up(db, dialect) },
      };
    },
  };
}
