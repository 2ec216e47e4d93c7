// Opens the configured store (SQLite file or PostgreSQL), applies pending migrations, returns the Store.
import { Kysely, Migrator, PostgresDialect } from 'kysely';
import { FairSqliteDialect } from './sqlite-dialect.ts';
import SQLite from 'better-sqlite3';
import pg from 'pg';
import { NamedStatementClient } from './pg-named-statements.ts';
import { makePrivateDir, makePrivateFile } from './private-files.ts';
import { Worker } from 'node:worker_threads';
import { join } from 'node:path';
import type { Database } from './schema.ts';
import { migrationProvider } from './migrations/index.ts';
import { SqlStore } from './sql-store.ts';
import { SqliteMessageWriter } from './sqlite-message-writer.ts';
import { PgMessageWriter } from './pg-message-writer.ts';

const INT8_OID = 20;

export interface SqliteOptions {
  file: string;
  /** 'normal' (default): a commit survives a process crash; 'full': also a power loss, at one fsync per commit. */
  synchronous?: 'normal' | 'full';
  /** Told when the checkpoint worker cannot run: checkpoints then fall back to the event loop. */
  onCheckpointerFailure?: (err: unknown) => void;
}

export interface PostgresOptions {
  url: string;
  poolSize?: number;
}

export async function openSqlite(opts: SqliteOptions): Promise<SqlStore> {
  if (opts.file !== ':memory:') {
    makePrivateDir(join(opts.file, '..'));
    makePrivateFile(opts.file);
  }
  const sqlite = new SQLite(opts.file);
  sqlite.pragma('journal_mode = WAL');
  sqlite.pragma(opts.synchronous === 'full' ? 'synchronous = FULL' : 'synchronous = NORMAL');
  sqlite.pragma('foreign_keys = ON');
  sqlite.pragma('busy_timeout = 5000');
  const dialect = new FairSqliteDialect(sqlite);
  const db = new Kysely<Database>({ dialect });
  await migrate(db, 'sqlite');
  const stopCheckpointer = opts.file === ':memory:' ? async () => {} : startCheckpointer(sqlite, opts.file, opts.onCheckpointerFailure);
  return new SqlStore(db, 'sqlite', stopCheckpointer, new SqliteMessageWriter((fn) => dialect.exclusive(fn), sqlite));
}

/**
 * Checkpoints run in a worker thread (wal-checkpoint-worker.mjs), every CHECKPOINT_EVERY_MS. The writer's own
 * autocheckpoint, which runs on the event loop after a commit, with two fsyncs, stays as a backstop. It fires
 * when the worker falls behind, or when the WAL cannot start over because the writer never pauses between
 * commits (a saturated server): the WAL starts over only when a write begins with every frame already copied.
 * Under lighter load it should not fire: at 2,000 chat messages a second the WAL takes ~7,000 pages a second
 * (bench/README.md), and a 1 s interval with a 10,000-page backstop left the writer checkpointing on the event
 * loop every second or so, 10-40 ms each time.
 */
const CHECKPOINT_EVERY_MS = 250;
const WRITER_BACKSTOP_PAGES = 20_000;

function startCheckpointer(sqlite: SQLite.Database, file: string, onFailure?: (err: unknown) => void): () => Promise<void> {
  sqlite.pragma(`wal_autocheckpoint = ${WRITER_BACKSTOP_PAGES}`);
  // No inherited node flags: a preload of the parent's (a loader, a probe, a profiler) has no business in
  // this thread, and one that fails to load there would stop the checkpoints.
  const worker = new Worker(new URL('./wal-checkpoint-worker.mjs', import.meta.url), { execArgv: [], workerData: { file, intervalMs: CHECKPOINT_EVERY_MS } });
  worker.unref();
  worker.on('error', (err) => {
    if (sqlite.open) sqlite.pragma('wal_autocheckpoint = 1000');
    onFailure?.(err);
  });
  return async () => {
    worker.postMessage('stop');
    // A referenced timer keeps the process alive while the (unreferenced) worker shuts down.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 1000);
      worker.once('exit', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  };
}

export function pgPool(url: string, max = 10): pg.Pool {
  return new pg.Pool({
    connectionString: url,
    max,
    Client: NamedStatementClient,
    // bigint columns hold millisecond times and ids: well inside Number's safe range.
    types: {
      getTypeParser: ((oid: number, format?: any) =>
        oid === INT8_OID ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as any,
    },
  });
}

export async function openPostgres(opts: PostgresOptions): Promise<SqlStore> {
  const pool = pgPool(opts.url, opts.poolSize ?? 10);
  // A dropped idle connection must not crash the process; the pool replaces it.
  pool.on('error', () => {});
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  await migrate(db, 'postgres');
  return new SqlStore(db, 'postgres', async () => {}, new PgMessageWriter(pool));
}

async function migrate(db: Kysely<Database>, dialect: 'sqlite' | 'postgres'): Promise<void> {
  const migrator = new Migrator({ db, provider: migrationProvider(dialect) });
  const { error, results } = await migrator.migrateToLatest();
  if (error) {
    const failed = results?.find((r) => r.status === 'Error');
    throw new Error(`Migration ${failed?.migrationName ?? ''} failed: ${(error as Error).message ?? String(error)}`);
  }
}
