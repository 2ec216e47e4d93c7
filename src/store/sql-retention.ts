// Deleting data on purpose: closed conversations past RETENTION_DAYS, in small batches so that no single
// transaction holds the database for long, and one customer's whole data on an admin's request (export first).
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { CustomerExport, RetentionStore } from './port.ts';
import { toConversation, toMessage, type MessageJoinRow } from './sql-rows.ts';

/** Rows per delete statement: small enough that a batch never stalls other writers for long. */
const MESSAGE_BATCH = 2000;

export class SqlRetention implements RetentionStore {
  constructor(private readonly db: Kysely<Database>) {}

  /** Deletes one batch of closed conversations closed before `cutoff` (oldest first); returns how many went. */
  async deleteClosedBefore(cutoff: number, limit: number): Promise<number> {
    const ids = (
      await this.db.selectFrom('conversations').select('id').where('status', '=', 'closed').where('closed_at', '<', cutoff).orderBy('closed_at').limit(limit).execute()
    ).map((r) => r.id);
    if (ids.length === 0) return 0;
    await this.deleteConversations(ids);
    return ids.length;
  }

  /** Messages go first, a bounded number per statement, then the rows that point at the conversations. */
  private async deleteConversations(ids: string[]): Promise<void> {
    for (;;) {
      const batch = await this.db.selectFrom('messages').select('id').where('conversation_id', 'in', ids).limit(MESSAGE_BATCH).execute();
      if (batch.length === 0) break;
      await this.db.deleteFrom('messages').where('id', 'in', batch.map((m) => m.id)).execute();
      // Let other work in between batches.
      await new Promise((resolve) => setImmediate(resolve));
    }
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('conversation_events').where('conversation_id', 'in', ids).execute();
      await trx.deleteFrom('conversation_holders').where('conversation_id', 'in', ids).execute();
      // Only closed ones: a conversation that reopened meanwhile is not deleted (its messages may go with
      // the batch above only if it was closed when read, which the caller guarantees).
      await trx.deleteFrom('conversations').where('id', 'in', ids).execute();
    });
  }

  async exportCustomer(userId: number): Promise<CustomerExport | undefined> {
    const profile = await this.db.selectFrom('customer_profiles').selectAll().where('user_id', '=', userId).executeTakeFirst();
    if (!profile) return undefined;
    const conversations = (await this.db.selectFrom('conversations').selectAll().where('customer_id', '=', profile.id).orderBy('created_at').execute()).map(toConversation);
    const messages = new Map<string, ReturnType<typeof toMessage>[]>();
    for (const c of conversations) {
      const rows = await this.db
        .selectFrom('messages as m')
        .innerJoin('users as u', 'u.id', 'm.author_id')
        .select(['m.id', 'm.conversation_id', 'm.author_id', 'm.text', 'm.seq', 'm.client_id', 'm.timestamp', 'u.username'])
        .where('m.conversation_id', '=', c.id)
        .orderBy('m.seq')
        .execute();
      messages.set(c.id, rows.map((r) => toMessage(r as MessageJoinRow)));
    }
    return { customerId: Number(profile.id), phoneNumber: Number(profile.phone_number), conversations: conversations.map((c) => ({ ...c, messages: messages.get(c.id) ?? [] })) };
  }

  /** Every conversation of the customer must be closed first (the caller closes them, freeing reps' slots). */
  async deleteCustomer(userId: number): Promise<boolean> {
    const profile = await this.db.selectFrom('customer_profiles').select('id').where('user_id', '=', userId).executeTakeFirst();
    if (!profile) return false;
    const ids = (await this.db.selectFrom('conversations').select('id').where('customer_id', '=', profile.id).execute()).map((r) => r.id);
    for (let i = 0; i < ids.length; i += 100) await this.deleteConversations(ids.slice(i, i + 100));
    await this.db.transaction().execute(async (trx) => {
      await trx.deleteFrom('refresh_tokens').where('user_id', '=', userId).execute();
      await trx.deleteFrom('customer_profiles').where('id', '=', profile.id).execute();
      await trx.deleteFrom('users').where('id', '=', userId).execute();
    });
    return true;
  }
}
