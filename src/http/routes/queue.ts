// GET /api/queue/: the queue in order with waits and estimates; a customer sees only its own entries.
// Paged by ?limit=&offset= with a Link header; without them, the first UNPAGED_MAX entries and a Link to the rest.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import type { QueueView } from '../../services/queue-view.ts';
import { identityOf, requireAuth } from '../auth.ts';
import { pageLinks, restLink } from '../paging.ts';
import { ErrorSchema, iso } from '../representations.ts';

/** A queue of 100,000 is never sent whole: past this, a Link says where the rest is. */
export const UNPAGED_MAX = 1000;
const DEFAULT_LIMIT = 100;

const QueueItem = Type.Object({
  id: Type.String(),
  position: Type.Integer(),
  queued_at: Type.String(),
  waited_s: Type.Integer(),
  customer: Type.Integer(),
  estimated_wait_s: Type.Integer(),
});

const QueueQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000, description: 'Entries per page (default 100 when `offset` is given).' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, description: '0-based index of the first entry.' })),
});

type Query = { limit?: number; offset?: number };

/** Staff: a page of the router's queue. A customer: its own queued conversations (few), by rank lookups. */
async function visibleQueue(s: AppServices, req: FastifyRequest<{ Querystring: Query }>): Promise<{ view: QueueView; total: number; paged: { limit: number; offset: number } | undefined }> {
  const id = identityOf(req);
  const { limit, offset } = req.query;
  const paged = limit === undefined && offset === undefined ? undefined : { limit: limit ?? DEFAULT_LIMIT, offset: offset ?? 0 };
  if (id.customer || id.user.role === 'customer') {
    const mine = id.customer ? await s.ctx.store.queuedOf(id.customer.id) : [];
    const view = await s.queueViewer.of(mine.map((c) => ({ conversationId: c.id, customerId: c.customerId, queuedAt: c.queuedAt ?? c.createdAt, version: c.version })));
    const total = view.entries.length;
    const from = paged?.offset ?? 0;
    view.entries = view.entries.slice(from, from + (paged?.limit ?? UNPAGED_MAX));
    return { view, total, paged };
  }
  const view = await s.queueViewer.page(paged?.offset ?? 0, paged?.limit ?? UNPAGED_MAX);
  return { view, total: view.stats.length, paged };
}

export async function queueRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  app.get<{ Querystring: Query }>(
    '/api/queue/',
    {
      onRequest: requireAuth(s.accounts),
      schema: {
        tags: ['queue'],
        description:
          `The queue in order. Without \`limit\`/\`offset\`, at most ${UNPAGED_MAX} entries, and a \`Link\` rel="next" when there are more. ` +
          'With them, one page, `X-Total-Count`, and a `Link` header (rel="next", "prev", "first"). A customer sees only its own entries.',
        querystring: QueueQuery,
        response: { 200: Type.Array(QueueItem), 400: ErrorSchema, 401: ErrorSchema },
      },
    },
    async (req, reply) => {
      const { view, total, paged } = await visibleQueue(s, req);
      const now = Date.now();
      reply.header('X-Estimated-Wait', String(view.tailEstimateS));
      reply.header('X-Queue-Length', String(view.stats.length));
      if (paged) {
        reply.header('X-Total-Count', String(total));
        reply.header('Link', pageLinks(req, paged.limit, paged.offset, total));
      } else if (total > UNPAGED_MAX) {
        reply.header('Link', restLink(req, UNPAGED_MAX, UNPAGED_MAX));
      }
      return view.entries.map((e) => ({
        id: e.conversationId,
        position: e.position,
        queued_at: iso(e.queuedAt)!,
        waited_s: Math.max(0, Math.floor((now - e.queuedAt) / 1000)),
        customer: e.customerId,
        estimated_wait_s: e.estimatedWaitS,
      }));
    },
  );
}
