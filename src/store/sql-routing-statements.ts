// The routing transitions' hottest statements, built with Kysely once and run with new parameters after
// (prepared.ts): a close, an assignment, an enqueue at its admitted place, a rep's accept mark. They run for
// every customer served; SqlStore (sql-store.ts) runs them inside its transactions.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { ClosedBy, ConversationStatus } from '../domain/types.ts';
import { prepare } from './prepared.ts';

export function routingStatements(root: Kysely<Database>) {
  return {
    eventInsert: prepare(root, (db, conversationId: string, kind: string, repId: number | null, at: number) =>
      db.insertInto('conversation_events').values({ conversation_id: conversationId, kind, rep_id: repId, at }),
    ),
    /** A close and the one assignment its slot went to: both events in one statement (one round trip fewer). */
    eventInsertPair: prepare(root, (db, c1: string, k1: string, r1: number | null, c2: string, k2: string, r2: number | null, at: number) =>
      db.insertInto('conversation_events').values([
        { conversation_id: c1, kind: k1, rep_id: r1, at },
        { conversation_id: c2, kind: k2, rep_id: r2, at },
      ]),
    ),
    closeUpdate: prepare(root, (db, id: string, now: number, by: ClosedBy, version: number, status: ConversationStatus) =>
      db
        .updateTable('conversations')
        .set({ status: 'closed', closed_at: now, closed_by: by, version: sql`version + 1` })
        .where('id', '=', id)
        .where('version', '=', version)
        .where('status', '=', status)
        .returning('id'),
    ),
    assignUpdate: prepare(root, (db, id: string, repId: number, now: number) =>
      db
        .updateTable('conversations')
        .set({ status: 'assigned', rep_id: repId, assigned_at: now, accepted_at: null, version: sql`version + 1` })
        .where('id', '=', id)
        .where('status', '=', 'queued')
        .returningAll(),
    ),
    // An enqueue at the place the router admitted it to: conditional on the status and the version read before
    // the admission, so a read inside the transaction and a savepoint around the update would add nothing.
    enqueueAtPlace: prepare(root, (db, id: string, seq: number, now: number, fromVersion: number) =>
      db
        .updateTable('conversations')
        .set({ status: 'queued', queue_seq: seq, queued_at: now, rep_id: null, version: sql`version + 1` })
        .where('id', '=', id)
        .where('status', 'in', ['new', 'abandoned'])
        .where('version', '=', fromVersion)
        .returningAll(),
    ),
    // Each chat a rep opens marks it accepted: in the original's flow, once per customer served.
    acceptedUpdate: prepare(root, (db, id: string, repId: number, now: number) =>
      db
        .updateTable('conversations')
        .set({ accepted_at: now })
        .where('id', '=', id)
        .where('rep_id', '=', repId)
        .where('status', '=', 'assigned')
        .where('accepted_at', 'is', null),
    ),
    takeSlotUpdate: prepare(root, (db, repId: number, now: number) =>
      db
        .updateTable('rep_profiles')
        .set({ load: sql`load + 1`, last_assigned_at: now })
        .where('id', '=', repId)
        .where('status', '=', 'online')
        .whereRef('load', '<', 'max_capacity')
        .returningAll(),
    ),
    freeSlotUpdate: prepare(root, (db, repId: number) =>
      db.updateTable('rep_profiles').set({ load: sql`load - 1` }).where('id', '=', repId).where('load', '>', 0),
    ),
    holdInsert: prepare(root, (db, conversationId: string, repId: number, now: number) =>
      db
        .insertInto('conversation_holders')
        .values({ conversation_id: conversationId, rep_id: repId, since: now })
        .onConflict((oc) => oc.columns(['conversation_id', 'rep_id']).doNothing()),
    ),
  };
}
