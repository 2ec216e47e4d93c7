// The ordered list of schema migrations, applied at start by Kysely's Migrator (under an advisory lock on PostgreSQL).
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import * as initial from './001_initial.ts';

export function migrationProvider(dialect: 'sqlite' | 'postgres'): MigrationProvider {
  return {
    async getMigrations(): Promise<Record<string, Migration>> {
      return {
        '001_initial': { up: (db: Kysely<any>) => initial.up(db, dialect) },
      };
    },
  };
}
