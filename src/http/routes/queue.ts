// GET /api/queue/: the queue in order with waits and estimates; a customer sees only its own entries.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import { identityOf, requireAuth } from '../auth.ts';
import { ErrorSchema, iso } from '../representations.ts';

const QueueItem = Type.Object({
  id: Type.String(),
  position: Type.Integer(),
  queued_at: Type.String(),
  waited_s: Type.Integer(),
  customer: Type.Integer(),
  estimated_wait_s: Type.Integer(),
});

export async function queueRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  app.get(
    '/api/queue/',
    { onRequest: requireAuth(s.accounts), schema: { tags: ['queue'], response: { 200: Type.Array(QueueItem), 401: ErrorSchema } } },
    async (req, reply) => {
      const id = identityOf(req);
      const view = await s.queueViewer.view();
      const now = Date.now();
      const visible = id.customer ? view.entries.filter((e) => e.customerId === id.customer!.id) : id.user.role === 'customer' ? [] : view.entries;
      reply.header('X-Estimated-Wait', String(view.tailEstimateS));
      reply.header('X-Queue-Length', String(view.entries.length));
      return visible.map((e) => ({
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
