// Admin reporting routes for the supervisor view: live figures, the queue's last hour, a conversation
// search by customer, and transcript export (JSON or CSV).
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import type { ConversationStatus } from '../../domain/types.ts';
import { notFound } from '../../domain/errors.ts';
import { isUuid } from '../../store/uuid.ts';
import type { ConversationRow } from '../../store/reporting-port.ts';
import { requireAuth } from '../auth.ts';
import { ErrorSchema, iso, MessageSchema, messageJson } from '../representations.ts';

const NullableNumber = Type.Union([Type.Number(), Type.Null()]);
const Summary = Type.Object({ mean_s: NullableNumber, median_s: NullableNumber, count: Type.Integer() });

const StatsSchema = Type.Object({
  at: Type.String(),
  window_s: Type.Integer(),
  queue: Type.Object({ length: Type.Integer(), longest_wait_s: Type.Integer(), estimated_wait_s: Type.Integer() }),
  conversations: Type.Object({ new: Type.Integer(), queued: Type.Integer(), assigned: Type.Integer() }),
  reps_online: Type.Integer(),
  reps: Type.Array(
    Type.Object({
      id: Type.Integer(),
      username: Type.String(),
      first_name: Type.String(),
      status: Type.String(),
      load: Type.Integer(),
      max_capacity: Type.Integer(),
      is_active: Type.Boolean(),
    }),
  ),
  first_response: Summary,
  handle_time: Summary,
  abandonment: Type.Object({ ratio: NullableNumber, abandoned: Type.Integer(), resolved: Type.Integer() }),
  rating: Type.Object({ average: NullableNumber, count: Type.Integer() }),
});

const SeriesSchema = Type.Object({
  from: Type.String(),
  to: Type.String(),
  step_s: Type.Integer(),
  points: Type.Array(
    Type.Object({ at: Type.String(), queue_length: Type.Integer(), longest_wait_s: Type.Integer(), mean_wait_s: NullableNumber, assigned: Type.Integer() }),
  ),
});

const Nullable = <T extends ReturnType<typeof Type.String>>(t: T) => Type.Union([t, Type.Null()]);
export const AdminConversationSchema = Type.Object({
  id: Type.String(),
  customer: Type.Integer(),
  customer_username: Type.String(),
  customer_rep: Type.Union([Type.Integer(), Type.Null()]),
  rep_username: Nullable(Type.String()),
  status: Type.String(),
  created_at: Type.String(),
  queued_at: Nullable(Type.String()),
  assigned_at: Nullable(Type.String()),
  closed_at: Nullable(Type.String()),
  last_seq: Type.Integer(),
  rating: Type.Union([Type.Integer(), Type.Null()]),
  rating_comment: Nullable(Type.String()),
  left_message: Type.Boolean({ description: 'The customer left a message while no rep was online' }),
});

const rowJson = (r: ConversationRow) => ({
  id: r.conversation.id,
  customer: r.conversation.customerId,
  customer_username: r.customerUsername,
  customer_rep: r.conversation.repId,
  rep_username: r.repUsername,
  status: r.conversation.status,
  created_at: iso(r.conversation.createdAt)!,
  queued_at: iso(r.conversation.queuedAt),
  assigned_at: iso(r.conversation.assignedAt),
  closed_at: iso(r.conversation.closedAt),
  last_seq: r.conversation.lastSeq,
  rating: r.conversation.rating,
  rating_comment: r.conversation.ratingComment,
  left_message: r.leftMessage,
});

/** A spreadsheet must not run a cell as a formula: one that starts like one is prefixed with a quote. */
export function csvCell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

const STATUSES = ['new', 'queued', 'assigned', 'closed', 'abandoned'] as const;
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema };

export async function adminReportRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  const adminOnly = requireAuth(s.accounts, ['admin']);
  const tags = ['admin'];
  const reporting = s.ctx.store.reporting;

  app.get<{ Querystring: { window_s?: number } }>(
    '/api/admin/stats/',
    {
      onRequest: adminOnly,
      schema: {
        tags,
        description: 'Live figures and the service measures over the last `window_s` seconds (default one hour).',
        querystring: Type.Object({ window_s: Type.Optional(Type.Integer({ minimum: 60, maximum: 30 * 86400, default: 3600 })) }),
        response: { 200: StatsSchema, ...errors },
      },
    },
    async (req) => {
      const now = Date.now();
      const windowS = req.query.window_s ?? 3600;
      const [view, counts, reps, measures] = await Promise.all([
        s.queueViewer.page(0, 0),
        reporting.openCounts(),
        s.ctx.store.listReps(),
        reporting.serviceMeasures(now - windowS * 1000, now),
      ]);
      const oldest = view.stats.oldestQueuedAt;
      return {
        at: iso(now)!,
        window_s: windowS,
        queue: { length: view.stats.length, longest_wait_s: oldest === null ? 0 : Math.max(0, Math.floor((now - oldest) / 1000)), estimated_wait_s: view.tailEstimateS },
        conversations: counts,
        reps_online: reps.filter((r) => r.status === 'online').length,
        reps: reps.map((r) => ({ id: r.id, username: r.user.username, first_name: r.user.firstName, status: r.status, load: r.load, max_capacity: r.maxCapacity, is_active: r.user.isActive })),
        first_response: { mean_s: measures.firstResponse.meanS, median_s: measures.firstResponse.medianS, count: measures.firstResponse.count },
        handle_time: { mean_s: measures.handle.meanS, median_s: measures.handle.medianS, count: measures.handle.count },
        abandonment: measures.abandonment,
        rating: measures.rating,
      };
    },
  );

  app.get<{ Querystring: { minutes?: number; step_s?: number } }>(
    '/api/admin/timeseries/',
    {
      onRequest: adminOnly,
      schema: {
        tags,
        description: 'Queue length, longest wait and the mean wait of assignments, sampled every `step_s` over the last `minutes`.',
        querystring: Type.Object({
          minutes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1440, default: 60 })),
          step_s: Type.Optional(Type.Integer({ minimum: 5, maximum: 3600, default: 60 })),
        }),
        response: { 200: SeriesSchema, ...errors },
      },
    },
    async (req) => {
      const to = Date.now();
      const minutes = req.query.minutes ?? 60;
      // At most 1440 points, whatever the two parameters say.
      const stepS = Math.max(req.query.step_s ?? 60, Math.ceil((minutes * 60) / 1440));
      const from = to - minutes * 60_000;
      const points = await reporting.queueSeries(from, to, stepS * 1000);
      return {
        from: iso(from)!,
        to: iso(to)!,
        step_s: stepS,
        points: points.map((p) => ({ at: iso(p.at)!, queue_length: p.queueLength, longest_wait_s: p.longestWaitS, mean_wait_s: p.meanWaitS, assigned: p.assigned })),
      };
    },
  );

  app.get<{ Querystring: { q?: string; status?: ConversationStatus; limit?: number; offset?: number } }>(
    '/api/admin/conversations/',
    {
      onRequest: adminOnly,
      schema: {
        tags,
        description: "Conversations newest first; `q` matches the customer's username, email or name. The total is in `X-Total-Count`.",
        querystring: Type.Object({
          q: Type.Optional(Type.String({ maxLength: 150 })),
          status: Type.Optional(Type.Union(STATUSES.map((x) => Type.Literal(x)))),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 50 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
        }),
        response: { 200: Type.Array(AdminConversationSchema), ...errors },
      },
    },
    async (req, reply) => {
      const { q, status, limit = 50, offset = 0 } = req.query;
      const { rows, total } = await reporting.searchConversations({ q: q?.trim() || undefined, status, limit, offset });
      reply.header('X-Total-Count', String(total));
      return rows.map(rowJson);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { format?: 'json' | 'csv' } }>(
    '/api/admin/conversations/:id/transcript/',
    {
      onRequest: adminOnly,
      schema: {
        tags,
        description: 'The whole conversation, oldest message first, as JSON or as CSV (`format=csv`, one row per message).',
        params: Type.Object({ id: Type.String() }),
        querystring: Type.Object({ format: Type.Optional(Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' })) }),
        response: {
          200: Type.Object({ conversation: AdminConversationSchema, messages: Type.Array(MessageSchema) }),
          ...errors,
          404: ErrorSchema,
        },
      },
    },
    async (req, reply) => {
      if (!isUuid(req.params.id)) throw notFound();
      const row = await reporting.getConversationRow(req.params.id.toLowerCase());
      if (!row) throw notFound();
      const messages = (await s.ctx.store.listMessages(row.conversation.id)).reverse();
      const name = `conversation-${row.conversation.id}`;
      if (req.query.format === 'csv') {
        const lines = ['seq,timestamp,user,text', ...messages.map((m) => [String(m.seq), iso(m.timestamp)!, m.username, m.text].map(csvCell).join(','))];
        reply.header('Content-Type', 'text/csv; charset=utf-8').header('Content-Disposition', `attachment; filename="${name}.csv"`);
        return reply.send(lines.join('\r\n') + '\r\n');
      }
      reply.header('Content-Disposition', `attachment; filename="${name}.json"`);
      return { conversation: rowJson(row), messages: messages.map(messageJson) };
    },
  );
}
