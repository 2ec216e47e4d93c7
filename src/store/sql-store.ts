// The one Store implementation: Kysely over SQLite (better-sqlite3) or PostgreSQL (pg), same queries for both.
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { Database, ConversationsTable, RepProfilesTable, UsersTable } from './schema.ts';
import type {
  AppendMessage,
  AppendResult,
  AssignResult,
  ConversationScope,
  NewUser,
  RoutingSnapshot,
  Store,
  UserWithHash,
} from './port.ts';
import { UsernameTaken } from './port.ts';
import type {
  ClosedBy,
  Conversation,
  ConversationStatus,
  ConversationWithLatest,
  Identity,
  Message,
  RepProfile,
  RepStatus,
  RepWithUser,
  Role,
  User,
} from '../domain/types.ts';
import { uuidv7 } from './uuid.ts';
import { statesAllowing } from '../domain/conversation.ts';

class Rollback extends Error {
  constructor(readonly reason: 'conversation' | 'rep') {
    super('rollback');
  }
}

const OPEN_FOR_MESSAGES: string[] = statesAllowing('message');
const CLOSABLE: ConversationStatus[] = statesAllowing('close');

export function isUniqueViolation(err: unknown): boolean {
  const e = err as { code?: string };
  return e?.code === '23505' || e?.code === 'SQLITE_CONSTRAINT_UNIQUE' || e?.code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

const toUser = (r: Selectable<UsersTable>): User => ({
  id: Number(r.id),
  username: r.username,
  email: r.email,
  firstName: r.first_name,
  lastName: r.last_name,
  role: r.role as Role,
  tokenEpoch: Number(r.token_epoch),
});

const toRep = (r: Selectable<RepProfilesTable>): RepProfile => ({
  id: Number(r.id),
  userId: Number(r.user_id),
  maxCapacity: Number(r.max_capacity),
  status: r.status as RepStatus,
  load: Number(r.load),
  lastAssignedAt: r.last_assigned_at === null ? null : Number(r.last_assigned_at),
  watched: Number(r.watched) === 1,
  offlineReason: r.offline_reason === 'manual' || r.offline_reason === 'presence' ? r.offline_reason : null,
});

const num = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));

const toConversation = (r: Selectable<ConversationsTable>): Conversation => ({
  id: r.id,
  customerId: Number(r.customer_id),
  repId: num(r.rep_id),
  status: r.status as ConversationStatus,
  queueSeq: num(r.queue_seq),
  queuedAt: num(r.queued_at),
  assignedAt: num(r.assigned_at),
  closedAt: num(r.closed_at),
  closedBy: r.closed_by,
  lastSeq: Number(r.last_seq),
  version: Number(r.version),
  rating: num(r.rating),
  ratingComment: r.rating_comment,
  createdAt: Number(r.created_at),
});

export interface MessageJoinRow {
  id: number;
  conversation_id: string;
  author_id: number;
  text: string;
  seq: number;
  client_id: string | null;
  timestamp: number;
  username: string;
}

export const toMessage = (r: MessageJoinRow): Message => ({
  id: Number(r.id),
  conversationId: r.conversation_id,
  authorId: Number(r.author_id),
  username: r.username,
  text: r.text,
  seq: Number(r.seq),
  clientId: r.client_id,
  timestamp: Number(r.timestamp),
});

export class SqlStore implements Store {
  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: 'sqlite' | 'postgres',
    private readonly onClose: () => Promise<void> = async () => {},
    /** SQLite's group-committing writer for chat messages; PostgreSQL uses the transaction below. */
    private readonly messageWriter?: { append(m: AppendMessage): Promise<AppendResult> },
  ) {}

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.onClose();
    await this.db.destroy();
  }

  // ---- accounts

  private async insertUser(trx: Transaction<Database>, u: NewUser, role: Role): Promise<User> {
    try {
      const row = await trx
        .insertInto('users')
        .values({
          username: u.username,
          email: u.email,
          first_name: u.firstName,
          last_name: u.lastName,
          password_hash: u.passwordHash,
          role,
          created_at: Date.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toUser(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new UsernameTaken();
      throw err;
    }
  }

  private async withUniqueCheck<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // PostgreSQL reports the violation on the insert; a concurrent commit can surface it at COMMIT too.
      if (isUniqueViolation(err)) throw new UsernameTaken();
      throw err;
    }
  }

  createCustomer(u: NewUser, phoneNumber: number) {
    return this.withUniqueCheck(() =>
      this.db.transaction().execute(async (trx) => {
        const user = await this.insertUser(trx, u, 'customer');
        const p = await trx.insertInto('customer_profiles').values({ user_id: user.id, phone_number: phoneNumber }).returningAll().executeTakeFirstOrThrow();
        return { user, profile: { id: Number(p.id), userId: user.id, phoneNumber: Number(p.phone_number) } };
      }),
    );
  }

  createRep(u: NewUser, maxCapacity: number) {
    return this.withUniqueCheck(() =>
      this.db.transaction().execute(async (trx) => {
        const user = await this.insertUser(trx, u, 'rep');
        const p = await trx
          .insertInto('rep_profiles')
          .values({ user_id: user.id, max_capacity: maxCapacity, status: 'online' })
          .returningAll()
          .executeTakeFirstOrThrow();
        return { user, profile: toRep(p) };
      }),
    );
  }

  createAdmin(u: NewUser) {
    return this.withUniqueCheck(() => this.db.transaction().execute((trx) => this.insertUser(trx, u, 'admin')));
  }

  async findUserByUsername(username: string): Promise<UserWithHash | undefined> {
    const row = await this.db.selectFrom('users').selectAll().where('username', '=', username).executeTakeFirst();
    return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
  }

  /** One round trip: every authenticated request and socket asks it. */
  async getIdentity(userId: number): Promise<Identity | undefined> {
    const row = await this.db
      .selectFrom('users as u')
      .leftJoin('customer_profiles as c', 'c.user_id', 'u.id')
      .leftJoin('rep_profiles as r', 'r.user_id', 'u.id')
      .selectAll('u')
      .select([
        'c.id as c_id',
        'c.phone_number as c_phone_number',
        'r.id as r_id',
        'r.max_capacity as r_max_capacity',
        'r.status as r_status',
        'r.load as r_load',
        'r.last_assigned_at as r_last_assigned_at',
        'r.watched as r_watched',
        'r.offline_reason as r_offline_reason',
      ])
      .where('u.id', '=', userId)
      .executeTakeFirst();
    if (!row) return undefined;
    const user = toUser(row);
    if (user.role === 'customer' && row.c_id !== null) {
      return { user, customer: { id: Number(row.c_id), userId, phoneNumber: Number(row.c_phone_number) } };
    }
    if (user.role === 'rep' && row.r_id !== null) {
      const rep = toRep({
        id: row.r_id,
        user_id: userId,
        max_capacity: row.r_max_capacity!,
        status: row.r_status!,
        load: row.r_load!,
        last_assigned_at: row.r_last_assigned_at,
        watched: row.r_watched!,
        offline_reason: row.r_offline_reason,
      });
      return { user, rep };
    }
    return { user };
  }

  async getCustomer(customerId: number) {
    const r = await this.db
      .selectFrom('customer_profiles as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .selectAll('u')
      .select(['p.id as profile_id', 'p.phone_number'])
      .where('p.id', '=', customerId)
      .executeTakeFirst();
    if (!r) return undefined;
    const user = toUser(r);
    return { profile: { id: Number(r.profile_id), userId: user.id, phoneNumber: Number(r.phone_number) }, user };
  }

  async bumpTokenEpoch(userId: number): Promise<void> {
    await this.db.updateTable('users').set({ token_epoch: sql`token_epoch + 1` }).where('id', '=', userId).execute();
  }

  // ---- refresh tokens

  async insertRefreshToken(t: { jti: string; familyId: string; userId: number; expiresAt: number }): Promise<void> {
    await this.db.insertInto('refresh_tokens').values({ jti: t.jti, family_id: t.familyId, user_id: t.userId, expires_at: t.expiresAt }).execute();
  }

  async consumeRefreshToken(jti: string, now: number) {
    const used = await this.db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('jti', '=', jti)
      .where('used_at', 'is', null)
      .where('revoked', '=', 0)
      .where('expires_at', '>', now)
      .returning(['family_id', 'user_id'])
      .executeTakeFirst();
    if (used) return { kind: 'ok' as const, familyId: used.family_id, userId: Number(used.user_id) };
    const row = await this.db
      .selectFrom('refresh_tokens')
      .select(['family_id', 'user_id', 'used_at', 'revoked'])
      .where('jti', '=', jti)
      .executeTakeFirst();
    if (!row) return { kind: 'unknown' as const };
    const replayed = row.used_at !== null || Number(row.revoked) !== 0;
    return { kind: replayed ? ('reused' as const) : ('expired' as const), familyId: row.family_id, userId: Number(row.user_id) };
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.db.updateTable('refresh_tokens').set({ revoked: 1 }).where('family_id', '=', familyId).execute();
  }

  async revokeUserTokens(userId: number): Promise<void> {
    await this.db.updateTable('refresh_tokens').set({ revoked: 1 }).where('user_id', '=', userId).execute();
  }

  // ---- reps

  private repWithUserQuery() {
    return this.db
      .selectFrom('rep_profiles as r')
      .innerJoin('users as u', 'u.id', 'r.user_id')
      .selectAll('r')
      .select(['u.username', 'u.email', 'u.first_name', 'u.last_name', 'u.role', 'u.token_epoch', 'u.password_hash', 'u.created_at']);
  }

  private toRepWithUser(r: any): RepWithUser {
    return {
      ...toRep(r),
      user: toUser({ ...r, id: r.user_id }),
    };
  }

  async getRep(repId: number): Promise<RepWithUser | undefined> {
    const r = await this.repWithUserQuery().where('r.id', '=', repId).executeTakeFirst();
    return r ? this.toRepWithUser(r) : undefined;
  }

  async listReps(): Promise<RepWithUser[]> {
    const rows = await this.repWithUserQuery().orderBy('r.id').execute();
    return rows.map((r) => this.toRepWithUser(r));
  }

  async updateRep(repId: number, patch: { status?: RepStatus; maxCapacity?: number; watched?: boolean; offlineReason?: 'manual' | 'presence' }) {
    const set: Record<string, unknown> = {};
    if (patch.status !== undefined) {
      set.status = patch.status;
      set.offline_reason = patch.status === 'offline' ? (patch.offlineReason ?? 'manual') : null;
    }
    if (patch.maxCapacity !== undefined) set.max_capacity = patch.maxCapacity;
    if (patch.watched !== undefined) set.watched = patch.watched ? 1 : 0;
    if (Object.keys(set).length === 0) {
      const r = await this.db.selectFrom('rep_profiles').selectAll().where('id', '=', repId).executeTakeFirst();
      return r ? toRep(r) : undefined;
    }
    const r = await this.db.updateTable('rep_profiles').set(set).where('id', '=', repId).returningAll().executeTakeFirst();
    return r ? toRep(r) : undefined;
  }

  // ---- conversations

  async createConversation(customerId: number, now: number): Promise<Conversation> {
    const row = await this.db
      .insertInto('conversations')
      .values({ id: uuidv7(now), customer_id: customerId, status: 'new', created_at: now } as any)
      .returningAll()
      .executeTakeFirstOrThrow();
    return toConversation(row);
  }

  async getConversation(id: string): Promise<Conversation | undefined> {
    const row = await this.db.selectFrom('conversations').selectAll().where('id', '=', id).executeTakeFirst();
    return row ? toConversation(row) : undefined;
  }

  private withLatestQuery() {
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

  private toWithLatest(r: any): ConversationWithLatest {
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
    const r = await this.withLatestQuery().where('c.id', '=', id).executeTakeFirst();
    return r ? this.toWithLatest(r) : undefined;
  }

  private scoped<Q extends { where: (...a: any[]) => any }>(q: Q, scope: ConversationScope): Q {
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

  private messageQuery(db: Kysely<Database> | Transaction<Database> = this.db) {
    return db
      .selectFrom('messages as m')
      .innerJoin('users as u', 'u.id', 'm.author_id')
      .select(['m.id', 'm.conversation_id', 'm.author_id', 'm.text', 'm.seq', 'm.client_id', 'm.timestamp', 'u.username']);
  }

  private async findByClientId(db: Kysely<Database> | Transaction<Database>, conversationId: string, clientId: string) {
    const r = await this.messageQuery(db).where('m.conversation_id', '=', conversationId).where('m.client_id', '=', clientId).executeTakeFirst();
    return r ? toMessage(r as MessageJoinRow) : undefined;
  }

  async appendMessage(m: AppendMessage): Promise<AppendResult> {
    if (this.messageWriter) return this.messageWriter.append(m);
    if (this.dialect === 'postgres') return this.appendMessagePg(m);
    throw new Error('SQLite appends go through the message writer (see store/open.ts).');
  }

  /**
   * PostgreSQL in one round trip: the seq bump and the insert are one statement, so a failure (a racing
   * duplicate client_id hitting the unique index) undoes the bump as well and no seq is skipped.
   */
  private async appendMessagePg(m: AppendMessage): Promise<AppendResult> {
    try {
      const { rows } = await sql<{ id: number; seq: number }>`
        with bumped as (
          update conversations set last_seq = last_seq + 1
           where id = ${m.conversationId}
             and status = any(${OPEN_FOR_MESSAGES})
             and (${m.repId ?? null}::bigint is null or (rep_id = ${m.repId ?? null} and status = 'assigned'))
             and (${m.clientId}::text is null or not exists (
                   select 1 from messages where conversation_id = ${m.conversationId} and client_id = ${m.clientId}))
          returning last_seq
        )
        insert into messages (conversation_id, author_id, text, seq, client_id, timestamp)
        select ${m.conversationId}, ${m.authorId}, ${m.text}, last_seq, ${m.clientId}, ${m.timestamp} from bumped
        returning id, seq`.execute(this.db);
      if (rows.length === 1) {
        const username =
          m.username ?? (await this.db.selectFrom('users').select('username').where('id', '=', m.authorId).executeTakeFirstOrThrow()).username;
        return {
          kind: 'stored',
          message: { id: Number(rows[0].id), conversationId: m.conversationId, authorId: m.authorId, username, text: m.text, seq: Number(rows[0].seq), clientId: m.clientId, timestamp: m.timestamp },
        };
      }
    } catch (err) {
      if (!(m.clientId !== null && isUniqueViolation(err))) throw err;
    }
    // Nothing inserted: a duplicate client_id, or the conversation is not open.
    if (m.clientId !== null) {
      const existing = await this.findByClientId(this.db, m.conversationId, m.clientId);
      if (existing) return { kind: 'duplicate', message: existing };
    }
    const c = await this.db.selectFrom('conversations').select('status').where('id', '=', m.conversationId).executeTakeFirst();
    return { kind: 'refused', status: c?.status ?? null };
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

  // ---- routing transitions

  private async event(trx: Transaction<Database>, conversationId: string, kind: string, repId: number | null, at: number) {
    await trx.insertInto('conversation_events').values({ conversation_id: conversationId, kind, rep_id: repId, at }).execute();
  }

  async enqueue(conversationId: string, now: number, beforeCommit?: (queued: Conversation) => Promise<void>) {
    return this.db.transaction().execute(async (trx) => {
      const current = await trx.selectFrom('conversations').select(['status']).where('id', '=', conversationId).executeTakeFirst();
      if (!current || (current.status !== 'new' && current.status !== 'abandoned')) return undefined;
      const seq = await trx
        .updateTable('counters')
        .set({ value: sql`value + 1` })
        .where('name', '=', 'queue_seq')
        .returning('value')
        .executeTakeFirstOrThrow();
      const row = await trx
        .updateTable('conversations')
        .set({ status: 'queued', queue_seq: Number(seq.value), queued_at: now, rep_id: null, version: sql`version + 1` })
        .where('id', '=', conversationId)
        .where('status', 'in', ['new', 'abandoned'])
        .returningAll()
        .executeTakeFirst();
      if (!row) throw new Rollback('conversation');
      await this.event(trx, conversationId, 'queued', null, now);
      const queued = toConversation(row);
      if (beforeCommit) await beforeCommit(queued);
      return queued;
    }).catch((err) => {
      if (err instanceof Rollback) return undefined;
      throw err;
    });
  }

  private async takeSlot(trx: Transaction<Database>, repId: number, now: number) {
    return trx
      .updateTable('rep_profiles')
      .set({ load: sql`load + 1`, last_assigned_at: now })
      .where('id', '=', repId)
      .where('status', '=', 'online')
      .whereRef('load', '<', 'max_capacity')
      .returningAll()
      .executeTakeFirst();
  }

  private async freeSlot(trx: Transaction<Database>, repId: number) {
    await trx.updateTable('rep_profiles').set({ load: sql`load - 1` }).where('id', '=', repId).where('load', '>', 0).execute();
  }

  private async hold(trx: Transaction<Database>, conversationId: string, repId: number, now: number) {
    await trx
      .insertInto('conversation_holders')
      .values({ conversation_id: conversationId, rep_id: repId, since: now })
      .onConflict((oc) => oc.columns(['conversation_id', 'rep_id']).doNothing())
      .execute();
  }

  async assign(conversationId: string, repId: number, now: number): Promise<AssignResult> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const conv = await trx
          .updateTable('conversations')
          .set({ status: 'assigned', rep_id: repId, assigned_at: now, version: sql`version + 1` })
          .where('id', '=', conversationId)
          .where('status', '=', 'queued')
          .returningAll()
          .executeTakeFirst();
        if (!conv) throw new Rollback('conversation');
        const rep = await this.takeSlot(trx, repId, now);
        if (!rep) throw new Rollback('rep');
        await this.hold(trx, conversationId, repId, now);
        await this.event(trx, conversationId, 'assigned', repId, now);
        return { ok: true as const, conversation: toConversation(conv), rep: toRep(rep) };
      });
    } catch (err) {
      if (err instanceof Rollback) return { ok: false, reason: err.reason };
      throw err;
    }
  }

  async requeue(conversationId: string, fromRepId: number, now: number) {
    return this.db.transaction().execute(async (trx) => {
      const conv = await trx
        .updateTable('conversations')
        .set({ status: 'queued', rep_id: null, queued_at: now, assigned_at: null, version: sql`version + 1` })
        .where('id', '=', conversationId)
        .where('status', '=', 'assigned')
        .where('rep_id', '=', fromRepId)
        .returningAll()
        .executeTakeFirst();
      if (!conv) return undefined;
      await this.freeSlot(trx, fromRepId);
      await this.event(trx, conversationId, 'requeued', fromRepId, now);
      return toConversation(conv);
    });
  }

  async transfer(conversationId: string, fromRepId: number, toRepId: number, now: number): Promise<AssignResult> {
    try {
      return await this.db.transaction().execute(async (trx) => {
        const conv = await trx
          .updateTable('conversations')
          .set({ rep_id: toRepId, assigned_at: now, version: sql`version + 1` })
          .where('id', '=', conversationId)
          .where('status', '=', 'assigned')
          .where('rep_id', '=', fromRepId)
          .returningAll()
          .executeTakeFirst();
        if (!conv) throw new Rollback('conversation');
        // Lock the two rep rows in id order so that crossing transfers cannot deadlock.
        let rep: Selectable<RepProfilesTable> | undefined;
        if (toRepId < fromRepId) {
          rep = await this.takeSlot(trx, toRepId, now);
          if (!rep) throw new Rollback('rep');
          await this.freeSlot(trx, fromRepId);
        } else {
          await this.freeSlot(trx, fromRepId);
          rep = await this.takeSlot(trx, toRepId, now);
          if (!rep) throw new Rollback('rep');
        }
        await this.hold(trx, conversationId, toRepId, now);
        await this.event(trx, conversationId, 'transferred', toRepId, now);
        return { ok: true as const, conversation: toConversation(conv), rep: toRep(rep) };
      });
    } catch (err) {
      if (err instanceof Rollback) return { ok: false, reason: err.reason };
      throw err;
    }
  }

  async closeConversation(conversationId: string, by: ClosedBy, now: number, heldBy?: number) {
    for (let attempt = 0; attempt < 5; attempt++) {
      const before = await this.getConversation(conversationId);
      if (!before || !CLOSABLE.includes(before.status)) return undefined;
      // The version guard below makes this check part of the conditional update.
      if (heldBy !== undefined && (before.status !== 'assigned' || before.repId !== heldBy)) return undefined;
      const done = await this.db.transaction().execute(async (trx) => {
        const row = await trx
          .updateTable('conversations')
          .set({ status: 'closed', closed_at: now, closed_by: by, version: sql`version + 1` })
          .where('id', '=', conversationId)
          .where('version', '=', before.version)
          .where('status', '=', before.status)
          .returning('id')
          .executeTakeFirst();
        if (!row) return false;
        if (before.status === 'assigned' && before.repId !== null) await this.freeSlot(trx, before.repId);
        await this.event(trx, conversationId, 'closed', before.repId, now);
        return true;
      });
      if (done) return before;
    }
    return undefined;
  }

  async abandon(conversationId: string, version: number, now: number) {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('conversations')
        .set({ status: 'abandoned', version: sql`version + 1` })
        .where('id', '=', conversationId)
        .where('status', '=', 'queued')
        .where('version', '=', version)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      await this.event(trx, conversationId, 'abandoned', null, now);
      return toConversation(row);
    });
  }

  async rate(conversationId: string, score: number, comment: string | null): Promise<boolean> {
    const row = await this.db
      .updateTable('conversations')
      .set({ rating: score, rating_comment: comment })
      .where('id', '=', conversationId)
      .where('status', '=', 'closed')
      .where('rating', 'is', null)
      .returning('id')
      .executeTakeFirst();
    return row !== undefined;
  }

  async routingSnapshot(): Promise<RoutingSnapshot> {
    const read = async (db: Kysely<Database> | Transaction<Database>) => {
      const reps = (await db.selectFrom('rep_profiles').selectAll().orderBy('id').execute()).map(toRep);
      const queue = (await db.selectFrom('conversations').selectAll().where('status', '=', 'queued').orderBy('queue_seq').execute()).map(toConversation);
      const assigned = (await db.selectFrom('conversations').selectAll().where('status', '=', 'assigned').execute()).map(toConversation);
      return { reps, queue, assigned };
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
