// The PostgreSQL hot path for chat messages (group commit): appends made within one tick, or while the
// previous batch is being written, across conversations, go to the database as ONE statement. A single
// statement is its own transaction, so a batch costs one round trip and one commit, and the reply (which
// pg delivers only at ReadyForQuery, after the commit) answers each caller only once its message is durable.
import type pg from 'pg';
import type { AppendMessage, AppendResult } from './port.ts';
import { statesAllowing } from '../domain/conversation.ts';

interface Pending {
  m: AppendMessage;
  resolve: (r: AppendResult) => void;
  reject: (err: unknown) => void;
}

const MAX_BATCH = 500;
/** A racing duplicate client_id (another instance committed it after our snapshot), a deadlock, a serialization failure. */
const RETRY_CODES = new Set(['23505', '40P01', '40001']);
const ATTEMPTS = 4;
/** Errors that belong to one row (its data, a constraint, a trigger): the batch is retried message by message. */
const ROW_ERROR_CLASSES = new Set(['22', '23', 'P0']);

// $1..$7: one array per column of the batch, in call order; $8: the states that accept messages.
// `locked` takes the conversation rows in id order (so two batches never deadlock on each other) and reads
// their latest committed version; `fresh` keeps the messages to store: a rep's only while the rep holds the
// chat, a client_id only when neither stored nor taken by an earlier storable message of the batch. Seqs
// follow call order within each conversation. Every CTE sees one snapshot, so the reply's duplicates are
// the rows stored before this statement, and a client_id committed meanwhile elsewhere fails the unique
// index instead (the batch is then retried on a new snapshot).
const holds = (m: string) => `(${m}.rep_id is null or (${m}.rep_id = l.rep_id and l.status = 'assigned'))`;
const STATEMENT = `
with input as (
  select * from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::bigint[], $6::bigint[], $7::text[])
    with ordinality as t(conversation_id, author_id, body, client_id, ts, rep_id, username, ord)
),
locked as (
  select c.id, c.status, c.rep_id, c.last_seq from conversations c
   where c.id = any($1::text[]) and c.status = any($8::text[])
   order by c.id
   for update
),
fresh as (
  select i.*, l.last_seq + row_number() over (partition by i.conversation_id order by i.ord) as seq
    from input i join locked l on l.id = i.conversation_id
   where ${holds('i')}
     and (i.client_id is null or (
          not exists (select 1 from messages m where m.conversation_id = i.conversation_id and m.client_id = i.client_id)
          and not exists (select 1 from input j
                           where j.conversation_id = i.conversation_id and j.client_id = i.client_id and j.ord < i.ord
                             and ${holds('j')})))
),
bumped as (
  update conversations c set last_seq = c.last_seq + n.n
    from (select conversation_id, count(*) as n from fresh group by conversation_id) n
   where c.id = n.conversation_id
  returning c.id
),
inserted as (
  insert into messages (conversation_id, author_id, text, seq, client_id, timestamp)
  select conversation_id, author_id, body, seq, client_id, ts from fresh order by ord
  returning id, conversation_id, seq
)
select i.ord,
       ins.id, ins.seq,
       case when ins.id is not null then coalesce(i.username, (select u.username from users u where u.id = i.author_id)) end as username,
       dm.id as dup_id, dm.author_id as dup_author_id, dm.text as dup_text, dm.seq as dup_seq, dm.client_id as dup_client_id,
       dm.timestamp as dup_ts, du.username as dup_username,
       first.ord as dup_of,
       case when f.ord is null then coalesce((select l.status from locked l where l.id = i.conversation_id),
                                             (select c.status from conversations c where c.id = i.conversation_id)) end as status
  from input i
  left join fresh f on f.ord = i.ord
  left join inserted ins on ins.conversation_id = f.conversation_id and ins.seq = f.seq
  left join messages dm on f.ord is null and dm.conversation_id = i.conversation_id and dm.client_id = i.client_id
  left join users du on du.id = dm.author_id
  left join lateral (select f2.ord from fresh f2
                      where f.ord is null and f2.conversation_id = i.conversation_id and f2.client_id = i.client_id and f2.ord < i.ord
                      limit 1) first on true
 order by i.ord`;

interface Row {
  ord: number;
  id: number | null;
  seq: number | null;
  username: string | null;
  dup_id: number | null;
  dup_author_id: number | null;
  dup_text: string | null;
  dup_seq: number | null;
  dup_client_id: string | null;
  dup_ts: number | null;
  dup_username: string | null;
  dup_of: number | null;
  status: string | null;
}

const codeOf = (err: unknown): string | undefined => {
  const c = (err as { code?: unknown })?.code;
  return typeof c === 'string' ? c : undefined;
};

export class PgMessageWriter {
  private pending: Pending[] = [];
  private scheduled = false;
  private writing = false;
  private readonly openStates = statesAllowing('message');

  constructor(private readonly pool: pg.Pool) {}

  append(m: AppendMessage): Promise<AppendResult> {
    return new Promise((resolve, reject) => {
      this.pending.push({ m, resolve, reject });
      this.schedule();
    });
  }

  /** One batch at a time: what arrives while one is written waits for the next, which keeps call order per conversation. */
  private schedule(): void {
    if (this.scheduled || this.writing || this.pending.length === 0) return;
    this.scheduled = true;
    setImmediate(() => void this.flush());
  }

  private async flush(): Promise<void> {
    this.scheduled = false;
    const batch = this.pending.splice(0, MAX_BATCH);
    this.writing = true;
    try {
      await this.settle(batch);
    } finally {
      this.writing = false;
      this.schedule();
    }
  }

  private async settle(batch: Pending[]): Promise<void> {
    try {
      const results = await this.write(batch.map((p) => p.m));
      batch.forEach((p, i) => p.resolve(results[i]));
      return;
    } catch (err) {
      // Nothing of the statement was stored. A row's own error is retried alone, so it fails only its caller;
      // anything else (a lost connection, a shutdown) fails the whole batch.
      const code = codeOf(err);
      if (batch.length === 1 || code === undefined || !ROW_ERROR_CLASSES.has(code.slice(0, 2))) {
        for (const p of batch) p.reject(err);
        return;
      }
    }
    for (const p of batch) {
      try {
        p.resolve((await this.write([p.m]))[0]);
      } catch (err) {
        p.reject(err);
      }
    }
  }

  private async write(ms: AppendMessage[]): Promise<AppendResult[]> {
    for (let attempt = 1; ; attempt++) {
      try {
        return this.toResults(ms, await this.run(ms));
      } catch (err) {
        if (attempt < ATTEMPTS && RETRY_CODES.has(codeOf(err) ?? '')) continue;
        throw err;
      }
    }
  }

  private async run(ms: AppendMessage[]): Promise<Row[]> {
    const values = [
      ms.map((m) => m.conversationId),
      ms.map((m) => m.authorId),
      ms.map((m) => m.text),
      ms.map((m) => m.clientId),
      ms.map((m) => m.timestamp),
      ms.map((m) => m.repId ?? null),
      ms.map((m) => m.username ?? null),
      this.openStates,
    ];
    // Unnamed on purpose: planned at each batch with the current statistics. A named statement's cached generic
    // plan, made while the messages table was small, kept scanning the whole table as it grew (every append
    // cost O(table) until the next ANALYZE); planning costs a fraction of a millisecond per batch.
    const { rows } = await this.pool.query<Row>(STATEMENT, values);
    return rows;
  }

  private toResults(ms: AppendMessage[], rows: Row[]): AppendResult[] {
    const out: AppendResult[] = [];
    for (const [i, m] of ms.entries()) {
      const r = rows[i];
      if (!r || Number(r.ord) !== i + 1) throw new Error(`message batch: row ${i + 1} missing from the reply`);
      if (r.id !== null) {
        out.push({
          kind: 'stored',
          message: { id: Number(r.id), conversationId: m.conversationId, authorId: m.authorId, username: r.username ?? '', text: m.text, seq: Number(r.seq), clientId: m.clientId, timestamp: m.timestamp },
        });
      } else if (r.dup_id !== null) {
        out.push({
          kind: 'duplicate',
          message: {
            id: Number(r.dup_id),
            conversationId: m.conversationId,
            authorId: Number(r.dup_author_id),
            username: r.dup_username ?? '',
            text: r.dup_text ?? '',
            seq: Number(r.dup_seq),
            clientId: r.dup_client_id,
            timestamp: Number(r.dup_ts),
          },
        });
      } else if (r.dup_of !== null) {
        const first = out[Number(r.dup_of) - 1];
        if (first?.kind !== 'stored') throw new Error('message batch: a duplicate of a message not stored');
        out.push({ kind: 'duplicate', message: first.message });
      } else {
        out.push({ kind: 'refused', status: r.status });
      }
    }
    return out;
  }
}
