// The SQL store, part three: the reads that routing and liveness start from (the snapshot a router is rebuilt
// from, the queue's digest the reconciler compares, recent handle times for wait estimates, chats assigned and
// not yet opened, a rep's chats). The transitions themselves are in sql-store.ts.
import type { Kysely, Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { RoutingSnapshot } from './port.ts';
import type { Conversation } from '../domain/types.ts';
import { toConversation, toRep } from './sql-rows.ts';
import { SqlConversationStore } from './sql-conversations.ts';

export class SqlRoutingReads extends SqlConversationStore {
  async queueDigest(): Promise<{ length: number; seqSum: number }> {
    const row = await this.db
      .selectFrom('conversations')
      .select((eb) => [eb.fn.countAll().as('n'), eb.fn.sum<number | string | null>('queue_seq').as('s')])
      .where('status', '=', 'queued')
      .executeTakeFirstOrThrow();
    return { length: Number(row.n), seqSum: Number(row.s ?? 0) };
  }

  async routingSnapshot(opts: { queue?: boolean } = {}): Promise<RoutingSnapshot> {
    const read = async (db: Kysely<Database> | Transaction<Database>) => {
      const reps = (await db.selectFrom('rep_profiles').selectAll().orderBy('id').execute()).map(toRep);
      const queue =
        opts.queue === false ? [] : (await db.selectFrom('conversations').selectAll().where('status', '=', 'queued').orderBy('queue_seq').execute()).map(toConversation);
      const assigned = (await db.selectFrom('conversations').selectAll().where('status', '=', 'assigned').execute()).map(toConversation);
      const floor = await db.selectFrom('counters').select('value').where('name', '=', 'queue_seq').executeTakeFirst();
      return { reps, queue, assigned, queueSeqFloor: Number(floor?.value ?? 0) };
    };
    if (this.dialect === 'postgres') return this.db.transaction().setIsolationLevel('repeatable read').execute(read);
    return this.db.transaction().execute(read);
  }

  async recentHandleTimesS(limit: number): Promise<number[]> {
    const rows = await this.db
      .selectFrom('conversations')
      .select(['assigned_at', 'closed_at'])
      .where('status', '=', 'closed')
      .where('assigned_at', 'is not', null)
      .orderBy('closed_at', 'desc')
      .limit(limit)
      .execute();
    return rows.map((r) => Math.max(0, (Number(r.closed_at) - Number(r.assigned_at)) / 1000));
  }

  async unopened(assignedBefore: number, limit: number): Promise<Conversation[]> {
    const rows = await this.db
      .selectFrom('conversations')
      .selectAll()
      .where('status', '=', 'assigned')
      .where('accepted_at', 'is', null)
      .where('assigned_at', '<=', assignedBefore)
      .orderBy('assigned_at')
      .limit(limit)
      .execute();
    return rows.map(toConversation);
  }

  async assignedTo(repId: number): Promise<Conversation[]> {
    const rows = await this.db
      .selectFrom('conversations')
      .selectAll()
      .where('rep_id', '=', repId)
      .where('status', '=', 'assigned')
      .orderBy('queue_seq')
      .execute();
    return rows.map(toConversation);
  }
}
