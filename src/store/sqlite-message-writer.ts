// The SQLite hot path for chat messages: appends made within one tick are written in one transaction
// with prepared statements (group commit), and each caller is answered only after that commit.
// It runs while holding the store's single connection (its lock, shared with Kysely), so it never interleaves
// with another transaction.
import type { Database as SqliteDatabase, Statement } from 'better-sqlite3';
import type { AppendMessage, AppendResult } from './port.ts';
import { toMessage, type MessageJoinRow } from './sql-rows.ts';
import { statesAllowing } from '../domain/conversation.ts';

interface Pending {
  m: AppendMessage;
  resolve: (r: AppendResult) => void;
  reject: (err: unknown) => void;
}


const MAX_BATCH = 500;

export class SqliteMessageWriter {
  private pending: Pending[] = [];
  private scheduled = false;
  private readonly byClientId: Statement;
  private readonly bumpSeq: Statement;
  private readonly statusOf: Statement;
  private readonly insert: Statement;
  private readonly usernameOf: Statement;
  private readonly writeBatch: (batch: Pending[]) => AppendResult[];

  constructor(
    /** Runs its callback holding the connection (FairSqliteDialect.exclusive). */
    private readonly exclusive: <T>(fn: () => T) => Promise<T>,
    sqlite: SqliteDatabase,
  ) {
    this.byClientId = sqlite.prepare(
      `select m.id, m.conversation_id, m.author_id, m.text, m.seq, m.client_id, m.timestamp, u.username
         from messages m join users u on u.id = m.author_id
        where m.conversation_id = ? and m.client_id = ?`,
    );
    this.bumpSeq = sqlite.prepare(
      `update conversations set last_seq = last_seq + 1
        where id = ? and status in (${statesAllowing('message').map((st) => `'${st}'`).join(', ')})
          and (? is null or (rep_id = ? and status = 'assigned'))
        returning last_seq`,
    );
    this.statusOf = sqlite.prepare(`select status from conversations where id = ?`);
    this.insert = sqlite.prepare(
      `insert into messages (conversation_id, author_id, text, seq, client_id, timestamp) values (?, ?, ?, ?, ?, ?) returning id`,
    );
    this.usernameOf = sqlite.prepare(`select username from users where id = ?`);
    this.writeBatch = sqlite.transaction((batch: Pending[]) => batch.map((p) => this.writeOne(p.m)));
  }

  append(m: AppendMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ m, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => void this.flush());
      }
    });
  }

  private writeOne(m: AppendMessage): AppendResult {
    if (m.clientId !== null) {
      const existing = this.byClientId.get(m.conversationId, m.clientId) as MessageJoinRow | undefined;
      if (existing) return { kind: 'duplicate', message: toMessage(existing) };
    }
    const rep = m.repId ?? null;
    const bumped = this.bumpSeq.get(m.conversationId, rep, rep) as { last_seq: number } | undefined;
    if (!bumped) {
      const row = this.statusOf.get(m.conversationId) as { status: string } | undefined;
      return { kind: 'refused', status: row?.status ?? null };
    }
    const seq = Number(bumped.last_seq);
    const inserted = this.insert.get(m.conversationId, m.authorId, m.text, seq, m.clientId, m.timestamp) as { id: number };
    const username = m.username ?? (this.usernameOf.get(m.authorId) as { username: string }).username;
    return {
      kind: 'stored',
      message: { id: Number(inserted.id), conversationId: m.conversationId, authorId: m.authorId, username, text: m.text, seq, clientId: m.clientId, timestamp: m.timestamp },
    };
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending.splice(0, MAX_BATCH);
    if (this.pending.length > 0) {
      this.scheduled = true;
      setImmediate(() => void this.flush());
    }
    if (batch.length === 0) return;
    try {
      // Holding the only connection: no other transaction can be open while this one runs.
      const results = await this.exclusive(() => this.runBatch(batch));
      batch.forEach((p, i) => p.resolve(results[i]));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  /** One failing message (e.g. a foreign key) must not fail its neighbours: retry them one by one. */
  private runBatch(batch: Pending[]): AppendResult[] {
    try {
      return this.writeBatch(batch);
    } catch {
      return batch.map((p) => {
        try {
          return this.writeBatch([p])[0];
        } catch (err) {
          p.reject(err);
          return { kind: 'refused', status: null } as AppendResult;
        }
      });
    }
  }
}
