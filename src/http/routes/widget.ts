// Routes the customer widget needs beyond the original API: whether a rep can answer now (public), and
// leaving a message for later when nobody is online.
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import { forbidden } from '../../domain/errors.ts';
import { identityOf, requireAuth } from '../auth.ts';
import { ErrorSchema, MessageSchema, messageJson } from '../representations.ts';
import { readableConversation } from './conversations.ts';
import { leaveMessage } from '../../services/leave-message.ts';
import { AvailabilityView } from '../../services/availability.ts';
import { MAX_MESSAGE_CHARS } from '../../services/messages.ts';

export async function widgetRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  const availability = new AvailabilityView(s.ctx, s.queueViewer);
  const limiter = app.rateLimit({ max: 600, timeWindow: 60_000 }) as unknown as onRequestAsyncHookHandler;

  app.get(
    '/api/availability/',
    {
      onRequest: limiter,
      schema: {
        tags: ['widget'],
        security: [],
        description: 'Public: whether a rep can answer now, so that a customer learns it before waiting.',
        response: {
          200: Type.Object({
            reps_online: Type.Integer(),
            accepting: Type.Boolean({ description: 'At least one online rep has a free slot' }),
            queue_length: Type.Integer(),
            estimated_wait_s: Type.Integer(),
          }),
        },
      },
    },
    async () => {
      const a = await availability.get();
      return { reps_online: a.repsOnline, accepting: a.repsAccepting > 0, queue_length: a.queueLength, estimated_wait_s: a.estimatedWaitS };
    },
  );

  app.post<{ Params: { id: string }; Body: { text: string; client_id?: string | null } }>(
    '/api/conversations/:id/leave_message/',
    {
      onRequest: requireAuth(s.accounts, ['customer']),
      schema: {
        tags: ['conversations'],
        description:
          'The customer leaves a message (for when no rep is online): it is stored in the conversation, which waits in the queue with nobody connected, is never abandoned, and goes to the first rep who comes online.',
        params: Type.Object({ id: Type.String() }),
        body: Type.Object({
          text: Type.String({ minLength: 1, maxLength: MAX_MESSAGE_CHARS, pattern: '\\S' }),
          client_id: Type.Optional(Type.Union([Type.String({ minLength: 1, maxLength: 64 }), Type.Null()])),
        }),
        response: {
          201: Type.Object({ message: MessageSchema, assigned: Type.Boolean() }),
          200: Type.Object({ message: MessageSchema, assigned: Type.Boolean() }),
          400: ErrorSchema,
          401: ErrorSchema,
          403: ErrorSchema,
          404: ErrorSchema,
          409: ErrorSchema,
        },
      },
    },
    async (req, reply) => {
      const id = identityOf(req);
      const c = await readableConversation(s, id, req.params.id);
      if (!id.customer || c.customerId !== id.customer.id) throw forbidden();
      const out = await leaveMessage(s.ctx, { conversationId: c.id, authorId: id.user.id, username: id.user.username, text: req.body.text, clientId: req.body.client_id ?? null });
      // A retried client_id answers 200 with the message stored the first time.
      return reply.status(out.duplicate ? 200 : 201).send({ message: messageJson(out.message), assigned: out.assigned });
    },
  );
}
