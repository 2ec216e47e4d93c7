// Reporting queries for the supervisor view and /metrics, apart from the hot-path store: counts, service
// measures over a window, the queue's recent history (replayed from conversation events) and search.
import { sql, type Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { ConversationRow, ConversationSearch, QueuePoint, ReportingStore, ServiceMeasures } from './reporting-port.ts';
import { toConversation } from './sql-rows.ts';

const WAITING = new Set(['queued', 'requeued']);
const LEAVING = new Set(['assigned', 'closed', 'abandoned']);

function mean(xs: number[]): number | null {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null;
}

function median(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

const round = (x: number | null) => (x === null ? null : Math.round(x * 1000) / 1000);

export class SqlReporting implements ReportingStore {
  constructor(private readonly db: Kysely<Database>) {}

  async openCounts() {
    const rows = await this.db
      .selectFrom('conversations')
      .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
      .where('status', 'in', ['new', 'queued', 'assigned'])
      .groupBy('status')
      .execute();
    const out = { new: 0, queued: 0, assigned: 0 };
    for (const r of rows) out[r.status as keyof typeof out] = Number(r.n);
    return out;
  }

  async serviceMeasures(from: number, to: number): Promise<ServiceMeasures> {
    // One row per conversation that did anything in the window, with the times each measure needs.
    const rows = await sql<{
      id: string;
      status: string;
      closed_at: number | null;
      closed_by: string | null;
      first_queued: number | null;
      first_assigned: number | null;
      first_reply: number | null;
      abandoned: number;
    }>`
      select c.id, c.status, c.closed_at, c.closed_by,
        (select min(e.at) from conversation_events e where e.conversation_id = c.id and e.kind = 'queued') as first_queued,
        (select min(e.at) from conversation_events e where e.conversation_id = c.id and e.kind = 'assigned') as first_assigned,
        (select min(m.timestamp) from messages m where m.conversation_id = c.id and m.author_id <> cp.user_id) as first_reply,
        (select count(*) from conversation_events e where e.conversation_id = c.id and e.kind = 'abandoned') as abandoned
      from conversations c join customer_profiles cp on cp.id = c.customer_id
      where c.id in (select distinct conversation_id from conversation_events where at >= ${from} and at <= ${to})
    `.execute(this.db);
    const firstResponse: number[] = [];
    const handle: number[] = [];
    let abandoned = 0;
    let resolved = 0;
    for (const r of rows.rows) {
      const queued = r.first_queued === null ? null : Number(r.first_queued);
      const assigned = r.first_assigned === null ? null : Number(r.first_assigned);
      const reply = r.first_reply === null ? null : Number(r.first_reply);
      const closedAt = r.closed_at === null ? null : Number(r.closed_at);
      if (queued !== null && reply !== null && reply >= queued && reply >= from && reply <= to) firstResponse.push((reply - queued) / 1000);
      if (r.status === 'closed' && closedAt !== null && assigned !== null && closedAt >= from && closedAt <= to) handle.push((closedAt - assigned) / 1000);
      if (queued !== null && queued >= from && queued <= to) {
        const leftUnserved = assigned === null && (r.status === 'abandoned' || r.status === 'closed' || Number(r.abandoned) > 0);
        if (leftUnserved) {
          abandoned++;
          resolved++;
        } else if (assigned !== null) resolved++;
      }
    }
    const rating = await this.db
      .selectFrom('conversations')
      .select([(eb) => eb.fn.avg<number>('rating').as('avg'), (eb) => eb.fn.count<number>('rating').as('n')])
      .where('rating', 'is not', null)
      .where('closed_at', '>=', from)
      .where('closed_at', '<=', to)
      .executeTakeFirst();
    return {
      firstResponse: { meanS: round(mean(firstResponse)), medianS: round(median(firstResponse)), count: firstResponse.length },
      handle: { meanS: round(mean(handle)), medianS: round(median(handle)), count: handle.length },
      abandonment: { ratio: resolved ? round(abandoned / resolved) : null, abandoned, resolved },
      rating: { average: rating?.avg === null || rating?.avg === undefined ? null : round(Number(rating.avg)), count: Number(rating?.n ?? 0) },
    };
  }

  async queueSeries(from: number, to: number, stepMs: number): Promise<QueuePoint[]> {
    // A conversation whose state changed in the window, or that is still queued, may have waited in it; any
    // other one kept one state through the window, and that state was not "waiting".
    const events = await this.db
      .selectFrom('conversation_events')
      .select(['conversation_id', 'kind', 'at'])
      .where('at', '<=', to)
      .where((eb) =>
        eb.or([
          eb('conversation_id', 'in', eb.selectFrom('conversation_events as w').select('w.conversation_id').where('w.at', '>=', from).where('w.at', '<=', to)),
          eb('conversation_id', 'in', eb.selectFrom('conversations as q').select('q.id').where('q.status', '=', 'queued')),
        ]),
      )
      .orderBy('at')
      .orderBy('id')
      .execute();
    const waitingSince = new Map<string, number>();
    const intervals: Array<{ start: number; end: number }> = [];
    const assignments: Array<{ at: number; waitS: number }> = [];
    for (const e of events) {
      const at = Number(e.at);
      if (WAITING.has(e.kind)) {
        if (!waitingSince.has(e.conversation_id)) waitingSince.set(e.conversation_id, at);
      } else if (LEAVING.has(e.kind)) {
        const start = waitingSince.get(e.conversation_id);
        if (start === undefined) continue;
        waitingSince.delete(e.conversation_id);
        intervals.push({ start, end: at });
        if (e.kind === 'assigned') assignments.push({ at, waitS: (at - start) / 1000 });
      }
    }
    for (const start of waitingSince.values()) intervals.push({ start, end: Infinity });
    const points: QueuePoint[] = [];
    for (let at = from + stepMs; at <= to + 1; at += stepMs) {
      let queueLength = 0;
      let longest = 0;
      for (const i of intervals) {
        if (i.start <= at && i.end > at) {
          queueLength++;
          longest = Math.max(longest, at - i.start);
        }
      }
      const inStep = assignments.filter((a) => a.at > at - stepMs && a.at <= at).map((a) => a.waitS);
      points.push({ at, queueLength, longestWaitS: Math.round(longest / 1000), meanWaitS: round(mean(inStep)), assigned: inStep.length });
    }
    return points;
  }

  private searchQuery(query: Pick<ConversationSearch, 'q' | 'status'>) {
    let q = this.db
      .selectFrom('conversations as c')
      .innerJoin('customer_profiles as cp', 'cp.id', 'c.customer_id')
      .innerJoin('users as cu', 'cu.id', 'cp.user_id')
      .leftJoin('rep_profiles as rp', 'rp.id', 'c.rep_id')
      .leftJoin('users as ru', 'ru.id', 'rp.user_id');
    if (query.status) q = q.where('c.status', '=', query.status);
    if (query.q) {
      // LIKE's wildcards in the search text match themselves.
      const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
      const like = (col: string) => sql<boolean>`lower(${sql.ref(col)}) like ${pattern} escape '\\'`;
      q = q.where((eb) => eb.or([like('cu.username'), like('cu.email'), like('cu.first_name'), like('cu.last_name')]));
    }
    return q;
  }

  private toRow(r: any): ConversationRow {
    return { conversation: toConversation(r), customerUsername: r.customer_username, repUsername: r.rep_username ?? null, leftMessage: r.left_message_at !== null };
  }

  async searchConversations(query: ConversationSearch) {
    const base = this.searchQuery(query);
    const [rows, total] = await Promise.all([
      base
        .selectAll('c')
        .select(['cu.username as customer_username', 'ru.username as rep_username'])
        .orderBy('c.created_at', 'desc')
        .orderBy('c.id', 'desc')
        .limit(query.limit)
        .offset(query.offset)
        .execute(),
      base.select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirst(),
    ]);
    return { rows: rows.map((r) => this.toRow(r)), total: Number(total?.n ?? 0) };
  }

  async getConversationRow(id: string) {
    const r = await this.searchQuery({})
      .selectAll('c')
      .select(['cu.username as customer_username', 'ru.username as rep_username'])
      .where('c.id', '=', id)
      .executeTakeFirst();
    return r ? this.toRow(r) : undefined;
  }
}
