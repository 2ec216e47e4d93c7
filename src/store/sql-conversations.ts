// The SQL store, part two: conversations (reads and scoped lists) and chat messages (append, history pages).
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { AppendMessage, AppendResult, ConversationScope } from './port.ts';
import type { Conversation, ConversationWithLatest } from '../domain/types.ts';
import { toConversation, toMessage, type MessageJoinRow } from './sql-rows.ts';
import { SqlAccountStore } from './sql-accounts.ts';
import { uuidv7 } from './uuid.ts';
import { prepare } from './prepared.ts';

export class SqlConversationStore extends SqlAccountStore {
  /** Read by every request, socket and transition on a conversation. */
  protected readonly conversationById = prepare(this.db, (db, id: string) => db.selectFrom('conversations').selectAll().where('id', '=', id));
  /** The answer of a close, a transfer or a rating. */
  private readonly withLatestById = prepare(this.db, (_db, id: string) => this.withLatestQuery().where('c.id', '=', id));

  // ---- conversations

  async createConversation(customerId: number, now: number): Promise<Conversation> {
    const row = await this.db
      .insertInto('conversations')
      .values({ id: uuidv7(now), customer_id: customerId, status: 'new', created_at: now } as any)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toConversation(row);
  }

  /** Marks a still-open conversation as holding a message left for later (never abandoned from then on). */
  async markLeftMessage(id: string, now: number): Promise<boolean> {
    const row = await this.db
      .updateTable('conversations')
      .set({ left_message_at: now })
      .where('id', '=', id)
      .where('status', 'in', ['new', 'queued', 'abandoned', 'assigned'])
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  /**
   * Opens a conversation only while the customer has fewer than `maxOpen` open ones (new, queued, assigned);
   * undefined otherwise. The customer's profile row is locked first, so concurrent opens (on any instance)
   * are counted one after another; SQLite runs write transactions one at a time anyway.
   */
  async createConversationCapped(customerId: number, now: number, maxOpen: number): Promise<Conversation | undefined> {
    return this.db.transaction().execute(async (trx) => {
      if (this.dialect === 'postgres') await sql`select id from customer_profiles where id = ${customerId} for update`.execute(trx);
      const open = await trx
        .selectFrom('conversations')
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .where('customer_id', '=', customerId)
        .where('status', 'in', ['new', 'queued', 'assigned'])
        .executeTakeFirstOrThrow();
      if (Number(open.n) >= maxOpen) return undefined;
      const row = await trx
        .insertInto('conversations')
        .values({ id: uuidv7(now), customer_id: customerId, status: 'new', created_at: now } as any)
        .returningAll()
        .executeTakeFirstOrThrow();
      return toConversation(row);
    });
  }

  async getConversation(id: string): Promise<Conversation | undefined> {
    const row = (await this.conversationById(this.db, id)).rows[0];
    return row ? toConversation(row) : undefined;
  }

  async queuedOf(customerId: number): Promise<Conversation[]> {
    const rows = await this.db.selectFrom('conversations').selectAll().where('customer_id', '=', customerId).where('status', '=', 'queued').orderBy('queue_seq').execute();
    return rows.map(toConversation);
  }

  protected withLatestQuery() {
    return this.db
      .selectFrom('conversations as c')
      .leftJoin('messages as m', (j) => j.onRef('m.conversation_id', '=', 'c.id').onRef('m.seq', '=', 'c.last_seq'))
      .leftJoin('users as mu', 'mu.id', 'm.author_id')
      .selectAll('c')
      .select([
        'm.id as m_id',
        'm.author_id as m_author_id',
        'm.text as m_text',
        'm.seq as m_seq',
        'm.client_id as m_client_id',
        'm.timestamp as m_timestamp',
        'mu.username as m_username',
      ]);
  }

  protected toWithLatest(r: any): ConversationWithLatest {
    const latestMessage =
      r.m_id === null || r.m_id === undefined
        ? null
        : toMessage({
            id: r.m_id,
            conversation_id: r.id,
            author_id: r.m_author_id,
            text: r.m_text,
            seq: r.m_seq,
            client_id: r.m_client_id,
            timestamp: r.m_timestamp,
            username: r.m_username,
          });
    return { ...toConversation(r), latestMessage };
  }

  async getConversationWithLatest(id: string) {
    const r = (await this.withLatestById(this.db, id)).rows[0];
    return r ? this.toWithLatest(r) : undefined;
  }

  protected scoped<Q extends { where: (...a: any[]) => any }>(q: Q, scope: ConversationScope): Q {
    if (scope.kind === 'customer') return q.where('c.customer_id', '=', scope.customerId);
    if (scope.kind === 'rep') {
      if (!scope.history) return q.where('c.rep_id', '=', scope.repId).where('c.status', '=', 'assigned');
      return q.where((eb: any) =>
        eb.or([
          eb('c.rep_id', '=', scope.repId),
          eb.exists(
            eb
              .selectFrom('conversation_holders as h')
              .select('h.rep_id')
              .whereRef('h.conversation_id', '=', 'c.id')
              .where('h.rep_id', '=', scope.repId),
          ),
        ]),
      );
    }
    return q;
  }

  async listConversations(scope: ConversationScope, page?: { limit: number; offset: number }) {
    let q = this.scoped(this.withLatestQuery(), scope).orderBy('c.created_at', 'desc').orderBy('c.id', 'desc');
    if (page) q = q.limit(page.limit).offset(page.offset);
    const rows = await q.execute();
    return rows.map((r: any) => this.toWithLatest(r));
  }

  async countConversations(scope: ConversationScope): Promise<number> {
    const q = this.scoped(this.db.selectFrom('conversations as c').select((eb) => eb.fn.countAll<number>().as('n')), scope);
    const row = await q.executeTakeFirstOrThrow();
    return Number(row.n);
  }

  async hasHeld(conversationId: string, repId: number): Promise<boolean> {
    const row = await this.db
      .selectFrom('conversation_holders')
      .select('rep_id')
      .where('conversation_id', '=', conversationId)
      .where('rep_id', '=', repId)
      .executeTakeFirst();
    return row !== undefined;
  }

  // ---- messages

  protected messageQuery(db: Kysely<Database> | Transaction<Database> = this.db) {
    return db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.id', 'm.author_id')
      .select(['m.id', 'm.conversation_id', 'm.author_id', 'm.text', 'm.seq', 'm.client_id', 'm.timestamp', 'u.username']);
  }

  /** Both dialects group-commit chat messages: store/sqlite-message-writer.ts, store/pg-message-writer.ts (see store/open.ts). */
  async appendMessage(m: AppendMessage): Promise<AppendResult> {
    if (!this.messageWriter) throw new Error('appends go through a message writer (see store/open.ts)');
    return this.messageWriter.append(m);
  }

  async listMessages(conversationId: string, page: { beforeSeq?: number; limit?: number } = {}) {
    let q = this.messageQuery().where('m.conversation_id', '=', conversationId);
    if (page.beforeSeq !== undefined) q = q.where('m.seq', '<', page.beforeSeq);
    q = q.orderBy('m.seq', 'desc');
    if (page.limit !== undefined) q = q.limit(page.limit);
    const rows = await q.execute();
    return rows.map((r) => toMessage(r as MessageJoinRow));
  }

  async messagesAfter(conversationId: string, afterSeq: number, limit = 10000) {
    const rows = await this.messageQuery()
      .where('m.conversation_id', '=', conversationId)
      .where('m.seq', '>', afterSeq)
      .orderBy('m.seq', 'asc')
      .limit(limit)
      .execute();
    return rows.map((r) => toMessage(r as MessageJoinRow));
  }
}
