// The one Store implementation: Kysely over SQLite (better-sqlite3) or PostgreSQL (pg), same queries for both.
// It is built in layers by what each holds: accounts (sql-accounts.ts), conversations and messages
// (sql-conversations.ts), the reads routing and liveness start from (sql-routing-reads.ts), and here the routing
// transitions, whose conditional updates decide (DESIGN R1); their hottest statements are built once in
// sql-routing-statements.ts.
import { sql, type Selectable, type Transaction } from 'kysely';
import type { Database, RepProfilesTable } from './schema.ts';
import type { AdmittedPlace, AssignResult, CloseAndAssignResult, CloseItem, ProposedAssignment, Store } from './port.ts';
import type { ClosedBy, Conversation, ConversationStatus, RepProfile } from '../domain/types.ts';
import { statesAllowing } from '../domain/conversation.ts';
import { toConversation, toRep } from './sql-rows.ts';
import { SqlRoutingReads } from './sql-routing-reads.ts';
import { SqlReporting } from './sql-reporting.ts';
import { SqlRetention } from './sql-retention.ts';
import { routingStatements } from './sql-routing-statements.ts';

class Rollback extends Error {
  constructor(readonly reason: 'conversation' | 'rep') {
    super('rollback');
  }
}

const CLOSABLE: ConversationStatus[] = statesAllowing('close');
const CLOSE_ATTEMPTS = 5;

/** An event a transition will write once it is decided. */
interface PendingEvent {
  conversationId: string;
  kind: string;
  repId: number | null;
}

export class SqlStore extends SqlRoutingReads implements Store {
  readonly reporting = new SqlReporting(this.db);
  readonly retention = new SqlRetention(this.db);

  // Built once (sql-routing-statements.ts): they run for every customer served.
  private readonly q = routingStatements(this.db);

  // ---- routing transitions

  private async event(trx: Transaction<Database>, conversationId: string, kind: string, repId: number | null, at: number) {
    await this.q.eventInsert(trx, conversationId, kind, repId, at);
  }

  async enqueue(conversationId: string, now: number, place?: AdmittedPlace) {
    const [queued] = await this.enqueueMany([conversationId], now, [place]);
    return queued;
  }

  async enqueueMany(conversationIds: readonly string[], now: number, places?: ReadonlyArray<AdmittedPlace | undefined>) {
    return this.db.transaction().execute(async (trx) => {
      const out: Array<Conversation | undefined> = [];
      let highest = 0;
      for (const [i, conversationId] of conversationIds.entries()) {
        const place = places?.[i];
        if (place) {
          const row = (await this.q.enqueueAtPlace(trx, conversationId, place.queueSeq, now, place.fromVersion)).rows[0];
          if (!row) {
            out.push(undefined);
            continue;
          }
          await this.event(trx, conversationId, 'queued', null, now);
          highest = Math.max(highest, place.queueSeq);
          out.push(toConversation(row));
          continue;
        }
        // No place (a caller outside the router's admission): the queue_seq comes from the counter.
        const current = await trx.selectFrom('conversations').select(['status', 'version']).where('id', '=', conversationId).executeTakeFirst();
        if (!current || (current.status !== 'new' && current.status !== 'abandoned')) {
          out.push(undefined);
          continue;
        }
        // A conversation that moved since the read changes nothing (and gives back a seq it took).
        await sql`savepoint enqueue_one`.execute(trx);
        const seq = Number((await trx.updateTable('counters').set({ value: sql`value + 1` }).where('name', '=', 'queue_seq').returning('value').executeTakeFirstOrThrow()).value);
        const row = await trx
          .updateTable('conversations')
          .set({ status: 'queued', queue_seq: seq, queued_at: now, rep_id: null, version: sql`version + 1` })
          .where('id', '=', conversationId)
          .where('status', 'in', ['new', 'abandoned'])
          .returningAll()
          .executeTakeFirst();
        if (!row) {
          await sql`rollback to savepoint enqueue_one`.execute(trx);
          await sql`release savepoint enqueue_one`.execute(trx);
          out.push(undefined);
          continue;
        }
        await this.event(trx, conversationId, 'queued', null, now);
        await sql`release savepoint enqueue_one`.execute(trx);
        out.push(toConversation(row));
      }
      // The floor a rebuilt router hands out seqs above. Last, so that the row is locked only for the commit.
      if (highest > 0) {
        const raised = this.dialect === 'postgres' ? sql<number>`greatest(value, ${highest})` : sql<number>`max(value, ${highest})`;
        await trx.updateTable('counters').set({ value: raised }).where('name', '=', 'queue_seq').execute();
      }
      return out;
    });
  }

  private async takeSlot(trx: Transaction<Database>, repId: number, now: number) {
    return (await this.q.takeSlotUpdate(trx, repId, now)).rows[0];
  }

  private async freeSlot(trx: Transaction<Database>, repId: number) {
    await this.q.freeSlotUpdate(trx, repId);
  }

  private async hold(trx: Transaction<Database>, conversationId: string, repId: number, now: number) {
    await this.q.holdInsert(trx, conversationId, repId, now);
  }

  /**
   * The conditional assignment's statements; throws Rollback when the store refuses it. With `events`, its event
   * is left there for the caller to write with others (only once nothing can refuse it any more).
   */
  private async assignIn(trx: Transaction<Database>, conversationId: string, repId: number, now: number, events?: PendingEvent[]) {
    const conv = (await this.q.assignUpdate(trx, conversationId, repId, now)).rows[0];
    if (!conv) throw new Rollback('conversation');
    const rep = await this.takeSlot(trx, repId, now);
    if (!rep) throw new Rollback('rep');
    await this.hold(trx, conversationId, repId, now);
    if (events) events.push({ conversationId, kind: 'assigned', repId });
    else await this.event(trx, conversationId, 'assigned', repId, now);
    return { ok: true as const, conversation: toConversation(conv), rep: toRep(rep) };
  }

  /** A transition's events, in order: a close with one assignment (the usual case) writes both at once. */
  private async events(trx: Transaction<Database>, events: PendingEvent[], at: number) {
    if (events.length === 2) {
      const [a, b] = events;
      await this.q.eventInsertPair(trx, a.conversationId, a.kind, a.repId, b.conversationId, b.kind, b.repId, at);
      return;
    }
    for (const e of events) await this.event(trx, e.conversationId, e.kind, e.repId, at);
  }

  async assign(conversationId: string, repId: number, now: number): Promise<AssignResult> {
    try {
      return await this.db.transaction().execute((trx) => this.assignIn(trx, conversationId, repId, now));
    } catch (err) {
      if (err instanceof Rollback) return { ok: false, reason: err.reason };
      throw err;
    }
  }

  async requeue(conversationId: string, fromRepId: number, now: number, unopenedSince?: number) {
    return this.db.transaction().execute(async (trx) => {
      let q = trx
        .updateTable('conversations')
        .set({ status: 'queued', rep_id: null, queued_at: now, assigned_at: null, version: sql`version + 1` })
        .where('id', '=', conversationId)
        .where('status', '=', 'assigned')
        .where('rep_id', '=', fromRepId);
      if (unopenedSince !== undefined) q = q.where('accepted_at', 'is', null).where('assigned_at', '<=', unopenedSince);
      const conv = await q.returningAll().executeTakeFirst();
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
          .set({ rep_id: toRepId, assigned_at: now, accepted_at: null, version: sql`version + 1` })
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
    // A close that hands the slot to nobody: the same conditional update as closeAndAssign's.
    return (await this.closeAndAssign(conversationId, by, now, heldBy, async () => []))?.before;
  }

  async closeAndAssign<P extends ProposedAssignment>(
    conversationId: string,
    by: ClosedBy,
    now: number,
    heldBy: number | undefined,
    next: (before: Conversation) => Promise<P[]>,
  ): Promise<CloseAndAssignResult<P> | undefined> {
    for (let attempt = 0; attempt < CLOSE_ATTEMPTS; attempt++) {
      const outcome = await this.db.transaction().execute((trx) => this.closeIn(trx, { conversationId, by, heldBy, next }, now));
      if (outcome !== 'retry') return outcome;
    }
    return undefined;
  }

  async closeAndAssignMany<P extends ProposedAssignment>(closes: ReadonlyArray<CloseItem<P>>, now: number): Promise<Array<CloseAndAssignResult<P> | undefined>> {
    return this.db.transaction().execute(async (trx) => {
      const out: Array<CloseAndAssignResult<P> | undefined> = [];
      for (const item of closes) {
        // A missed version guard wrote nothing, so the close is simply tried again (PostgreSQL reads the newer commit).
        let outcome: CloseAndAssignResult<P> | 'retry' | undefined = 'retry';
        for (let attempt = 0; attempt < CLOSE_ATTEMPTS && outcome === 'retry'; attempt++) outcome = await this.closeIn(trx, item, now);
        out.push(outcome === 'retry' ? undefined : outcome);
      }
      return out;
    });
  }

  /** One close and its assignments inside a transaction; 'retry' (nothing written) when the version moved under it. */
  private async closeIn<P extends ProposedAssignment>(trx: Transaction<Database>, item: CloseItem<P>, now: number): Promise<CloseAndAssignResult<P> | 'retry' | undefined> {
    const { conversationId, by, heldBy, next } = item;
    const row = (await this.conversationById(trx, conversationId)).rows[0];
    const before = row ? toConversation(row) : undefined;
    if (!before || !CLOSABLE.includes(before.status)) return undefined;
    if (heldBy !== undefined && (before.status !== 'assigned' || before.repId !== heldBy)) return undefined;
    // The version guard makes the read above part of the conditional update (PostgreSQL reads committed data).
    const closed = (await this.q.closeUpdate(trx, conversationId, now, by, before.version, before.status)).rows[0];
    if (!closed) return 'retry';
    if (before.status === 'assigned' && before.repId !== null) await this.freeSlot(trx, before.repId);
    const events: PendingEvent[] = [{ conversationId, kind: 'closed', repId: before.repId }];
    const proposals = await next(before);
    const results = await this.assignEach(trx, proposals, now, events);
    await this.events(trx, events, now);
    return { before, assigned: proposals.map((proposal, k) => ({ proposal, result: results[k] })) };
  }

  async assignMany(assignments: ReadonlyArray<ProposedAssignment>, now: number): Promise<AssignResult[]> {
    return this.db.transaction().execute(async (trx) => {
      const events: PendingEvent[] = [];
      const results = await this.assignEach(trx, assignments, now, events);
      await this.events(trx, events, now);
      return results;
    });
  }

  /**
   * Each is the same conditional update as assign(), in order; a refused one undoes only itself (and leaves no
   * event: an assignment adds its event to `events` only once nothing can refuse it).
   */
  private async assignEach(trx: Transaction<Database>, assignments: ReadonlyArray<ProposedAssignment>, now: number, events: PendingEvent[]) {
    const results: AssignResult[] = [];
    for (const { conversationId, repId } of assignments) {
      await sql`savepoint next_assignment`.execute(trx);
      try {
        results.push(await this.assignIn(trx, conversationId, repId, now, events));
        await sql`release savepoint next_assignment`.execute(trx);
      } catch (err) {
        if (!(err instanceof Rollback)) throw err;
        await sql`rollback to savepoint next_assignment`.execute(trx);
        await sql`release savepoint next_assignment`.execute(trx);
        results.push({ ok: false, reason: err.reason });
      }
    }
    return results;
  }

  async abandon(conversationId: string, version: number, now: number, presenceGen?: number) {
    return this.db.transaction().execute(async (trx) => {
      let update = trx
        .updateTable('conversations')
        .set({ status: 'abandoned', version: sql`version + 1` })
        .where('id', '=', conversationId)
        .where('status', '=', 'queued')
        .where('version', '=', version)
        .where('left_message_at', 'is', null);
      if (presenceGen !== undefined) update = update.where('presence_gen', '=', presenceGen);
      const row = await update.returningAll().executeTakeFirst();
      if (!row) return undefined;
      await this.event(trx, conversationId, 'abandoned', null, now);
      return toConversation(row);
    });
  }

  async markCustomerPresent(conversationId: string): Promise<void> {
    await this.db.updateTable('conversations').set({ presence_gen: sql`presence_gen + 1` }).where('id', '=', conversationId).execute();
  }

  async markRepPresent(repId: number): Promise<RepProfile | undefined> {
    const r = await this.db
      .updateTable('rep_profiles')
      .set({ presence_gen: sql`presence_gen + 1`, watched: 1 })
      .where('id', '=', repId)
      .returningAll()
      .executeTakeFirst();
    return r ? toRep(r) : undefined;
  }

  async takeRepOffline(repId: number, by: 'manual' | 'presence', now: number, presenceGen?: number) {
    // The rep row is locked first, so no assignment to it commits after this one; a close or requeue that
    // locked one of its chats first and now waits for the rep row is a deadlock PostgreSQL breaks: retry.
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.db.transaction().execute(async (trx) => {
          let update = trx.updateTable('rep_profiles').set({ status: 'offline', offline_reason: by, load: 0 }).where('id', '=', repId);
          if (presenceGen !== undefined) update = update.where('presence_gen', '=', presenceGen);
          const rep = await update.returningAll().executeTakeFirst();
          if (!rep) return undefined;
          const rows = await trx
            .updateTable('conversations')
            .set({ status: 'queued', rep_id: null, queued_at: now, assigned_at: null, version: sql`version + 1` })
            .where('rep_id', '=', repId)
            .where('status', '=', 'assigned')
            .returningAll()
            .execute();
          for (const row of rows) await this.event(trx, row.id, 'requeued', repId, now);
          const requeued = rows.map(toConversation).sort((a, b) => (a.queueSeq ?? 0) - (b.queueSeq ?? 0));
          return { rep: toRep(rep), requeued };
        });
      } catch (err) {
        const code = (err as { code?: string }).code;
        if (attempt < 5 && (code === '40P01' || code === '40001')) continue;
        throw err;
      }
    }
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

  async markAccepted(conversationId: string, repId: number, now: number): Promise<void> {
    await this.q.acceptedUpdate(this.db, conversationId, repId, now);
  }
}
