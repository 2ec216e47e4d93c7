// Kysely's SQLite dialect with a fair (FIFO) connection lock and a prepared-statement cache.
// Kysely's own driver wakes every waiter on each release (quadratic under thousands of concurrent
// queries) and prepares every statement anew; both matter on the hot paths (see bench/).
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import { CompiledQuery, SelectQueryNode, SqliteDialect, type DatabaseConnection, type Driver, type QueryResult, type TransactionSettings } from 'kysely';

class FifoLock {
  private held = false;
  private readonly waiters: Array<() => void> = [];

  async acquire(): Promise<void> {
    if (!this.held) {
      this.held = true;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next();
    else this.held = false;
  }
}

const CACHE_LIMIT = 1000;

class CachedConnection implements DatabaseConnection {
  private readonly statements = new Map<string, Statement>();

  constructor(private readonly db: SqliteDatabase) {}

  private prepare(sql: string): Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) {
      stmt = this.db.prepare(sql);
      if (this.statements.size >= CACHE_LIMIT) this.statements.delete(this.statements.keys().next().value!);
      this.statements.set(sql, stmt);
    }
    return stmt;
  }

  async executeQuery<R>(compiled: CompiledQuery): Promise<QueryResult<R>> {
    const stmt = this.prepare(compiled.sql);
    const params = compiled.parameters as unknown[];
    if (stmt.reader) return { rows: stmt.all(...params) as R[] };
    const { changes, lastInsertRowid } = stmt.run(...params);
    return { numAffectedRows: BigInt(changes), insertId: BigInt(lastInsertRowid), rows: [] };
  }

  async *streamQuery<R>(compiled: CompiledQuery): AsyncIterableIterator<QueryResult<R>> {
    if (!SelectQueryNode.is(compiled.query)) throw new Error('SQLite streams only select queries');
    for (const row of this.prepare(compiled.sql).iterate(...(compiled.parameters as unknown[]))) yield { rows: [row as R] };
  }
}

class FairSqliteDriver implements Driver {
  private readonly lock = new FifoLock();
  private readonly connection: CachedConnection;

  constructor(private readonly db: SqliteDatabase) {
    this.connection = new CachedConnection(db);
  }

  async init(): Promise<void> {}

  async acquireConnection(): Promise<DatabaseConnection> {
    await this.lock.acquire();
    return this.connection;
  }

  async beginTransaction(conn: DatabaseConnection, _settings: TransactionSettings): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('begin'));
  }

  async commitTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('commit'));
  }

  async rollbackTransaction(conn: DatabaseConnection): Promise<void> {
    await conn.executeQuery(CompiledQuery.raw('rollback'));
  }

  async releaseConnection(): Promise<void> {
    this.lock.release();
  }

  /** Runs `fn` holding the only connection, as a Kysely connection would, without building one around it. */
  async exclusive<T>(fn: () => T): Promise<T> {
    await this.lock.acquire();
    try {
      return fn();
    } finally {
      this.lock.release();
    }
  }

  async destroy(): Promise<void> {
    this.db.close();
  }
}

export class FairSqliteDialect extends SqliteDialect {
  private readonly driver: FairSqliteDriver;

  constructor(sqlite: SqliteDatabase) {
    super({ database: sqlite });
    this.driver = new FairSqliteDriver(sqlite);
  }

  override createDriver(): Driver {
    return this.driver;
  }

  /**
   * For the message writer's group commit, which runs hundreds of times a second: the connection's lock
   * alone. Kysely's `connection().execute()` builds a Kysely instance, an executor and a provider around each
   * use, about a tenth of the relay's allocations (bench/README.md).
   */
  exclusive<T>(fn: () => T): Promise<T> {
    return this.driver.exclusive(fn);
  }
}
