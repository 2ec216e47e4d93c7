// Conversation routes: list, open, read, page messages, and the lifecycle verbs (close, transfer, rate, queue).
import type { FastifyInstance, FastifyReply } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import { conflict, DomainError, forbidden, notFound } from '../../domain/errors.ts';
import type { Conversation, Identity } from '../../domain/types.ts';
import { isUuid } from '../../store/uuid.ts';
import type { ConversationScope } from '../../store/port.ts';
import { identityOf, requireAuth } from '../auth.ts';
import { pageLinks, restLink } from '../paging.ts';
import { ConversationDetailSchema, ConversationSchema, conversationJson, ErrorSchema, MessageSchema, messageJson } from '../representations.ts';
import { closeConversation, closeIfHeld } from '../../services/close.ts';
import { transferConversation } from '../../services/transfer.ts';
import { enqueueConversation } from '../../services/enqueue.ts';
import { assertTransition } from '../../domain/conversation.ts';

// No maxLength: any id that is not a UUID is 404 (readableConversation), never a 400; the router caps its length.
const IdParams = Type.Object({ id: Type.String() });
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema, 409: ErrorSchema, 429: ErrorSchema };

/** Opening and queueing share one budget a minute per user, counted across instances. */
async function throttleConversations(s: AppServices, reply: FastifyReply, userId: number): Promise<void> {
  const w = await s.limits.hit(`conversations:${userId}`, 60_000);
  if (w.count <= s.config.rateConversationsPerMin) return;
  reply.header('Retry-After', String(Math.max(1, Math.ceil(w.resetInMs / 1000))));
  throw new DomainError(429, 'throttled', `More than ${s.config.rateConversationsPerMin} conversations opened or queued a minute; try again later.`);
}

/** Who may read: its customer, any rep who has held it, admins. Everyone else gets 404 so nothing leaks. */
export async function readableConversation(s: AppServices, identity: Identity, id: string): Promise<Conversation> {
  if (!isUuid(id)) throw notFound();
  const c = await s.ctx.store.getConversation(id.toLowerCase());
  if (!c) throw notFound();
  if (identity.user.role === 'admin') return c;
  if (identity.customer && c.customerId === identity.customer.id) return c;
  if (identity.rep && (c.repId === identity.rep.id || (await s.ctx.store.hasHeld(c.id, identity.rep.id)))) return c;
  throw notFound();
}

export async function conversationRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  const auth = requireAuth(s.accounts);
  const store = s.ctx.store;

  app.get<{ Querystring: { limit?: number; offset?: number; scope?: 'current' | 'history' } }>(
    '/api/conversations/',
    {
      onRequest: auth,
      schema: {
        tags: ['conversations'],
        querystring: Type.Object({
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
          offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000 })),
          scope: Type.Optional(Type.Union([Type.Literal('current'), Type.Literal('history')])),
        }),
        response: { 200: Type.Array(ConversationSchema), ...errors },
      },
    },
    async (req, reply) => {
      const id = identityOf(req);
      const scope: ConversationScope = id.customer
        ? { kind: 'customer', customerId: id.customer.id }
        : id.rep
          ? { kind: 'rep', repId: id.rep.id, history: req.query.scope === 'history' }
          : { kind: 'all' };
      if (id.user.role !== 'admin' && !id.customer && !id.rep) return [];
      const { limit, offset } = req.query;
      if (limit === undefined && offset === undefined) {
        // "Everything", as in the original, up to a ceiling; past it a Link says where the rest is.
        const max = s.config.maxListItems;
        const rows = await store.listConversations(scope, { limit: max + 1, offset: 0 });
        if (rows.length > max) {
          rows.length = max;
          reply.header('Link', restLink(req, max, Math.min(1000, max)));
        }
        return rows.map(conversationJson);
      }
      const l = limit ?? 100;
      const o = offset ?? 0;
      const [rows, total] = await Promise.all([store.listConversations(scope, { limit: l, offset: o }), store.countConversations(scope)]);
      reply.header('X-Total-Count', String(total));
      reply.header('Link', pageLinks(req, l, o, total));
      return rows.map(conversationJson);
    },
  );

  app.post<{ Body: { customer?: number | string } | undefined }>(
    '/api/conversations/',
    {
      onRequest: requireAuth(s.accounts, ['customer']),
      schema: {
        tags: ['conversations'],
        // DRF's related field takes the id as a number or a numeric string.
        body: Type.Union([
          Type.Object({ customer: Type.Optional(Type.Union([Type.Integer({ minimum: 0, maximum: Number.MAX_SAFE_INTEGER }), Type.String({ pattern: '^\\s*\\d{1,15}\\s*$' })])) }),
          Type.Null(),
        ]),
        response: { 201: ConversationSchema, ...errors },
      },
    },
    async (req, reply) => {
      const id = identityOf(req);
      if (!id.customer) throw forbidden();
      if (req.body?.customer !== undefined && Number(String(req.body.customer).trim()) !== id.customer.id) throw forbidden('You may only open conversations for yourself.');
      await throttleConversations(s, reply, id.user.id);
      const c = await store.createConversationCapped(id.customer.id, s.ctx.now(), s.config.maxOpenConversations);
      if (!c) throw conflict(`You already have ${s.config.maxOpenConversations} open conversations; close one first.`, 'too_many_open');
      return reply.status(201).send(conversationJson({ ...c, latestMessage: null }));
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/conversations/:id/',
    { onRequest: auth, schema: { tags: ['conversations'], params: IdParams, response: { 200: ConversationDetailSchema, ...errors } } },
    async (req, reply) => {
      const c = await readableConversation(s, identityOf(req), req.params.id);
      // The whole history, as in the original, up to a ceiling; past it a Link pages the older messages.
      const max = s.config.maxHistoryMessages;
      const [withLatest, messages] = await Promise.all([store.getConversationWithLatest(c.id), store.listMessages(c.id, { limit: max + 1 })]);
      if (messages.length > max) {
        messages.length = max;
        reply.header('Link', `</api/conversations/${c.id}/messages/?before_seq=${messages[max - 1].seq}&limit=${Math.min(1000, max)}>; rel="next"`);
      }
      return { ...conversationJson(withLatest!), messages: messages.map(messageJson) };
    },
  );

  app.get<{ Params: { id: string }; Querystring: { before_seq?: number; limit?: number } }>(
    '/api/conversations/:id/messages/',
    {
      onRequest: auth,
      schema: {
        tags: ['conversations'],
        params: IdParams,
        querystring: Type.Object({
          before_seq: Type.Optional(Type.Integer({ minimum: 1, maximum: 2_000_000_000 })),
          limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 1000 })),
        }),
        response: { 200: Type.Array(MessageSchema), ...errors },
      },
    },
    async (req, reply) => {
      const c = await readableConversation(s, identityOf(req), req.params.id);
      const limit = req.query.limit ?? 50;
      const rows = await store.listMessages(c.id, { beforeSeq: req.query.before_seq, limit });
      if (rows.length === limit && rows[rows.length - 1].seq > 1) {
        const next = `/api/conversations/${c.id}/messages/?before_seq=${rows[rows.length - 1].seq}&limit=${limit}`;
        reply.header('Link', `<${next}>; rel="next"`);
      }
      return rows.map(messageJson);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/conversations/:id/close/',
    { onRequest: auth, schema: { tags: ['conversations'], params: IdParams, response: { 200: ConversationSchema, ...errors } } },
    async (req) => {
      const id = identityOf(req);
      // A rep closing a chat it holds (every close of a busy desk): the store's conditional close is the check.
      if (id.rep && isUuid(req.params.id)) {
        const conversationId = req.params.id.toLowerCase();
        if (await closeIfHeld(s.ctx, { conversationId, by: 'rep', closingRepId: id.rep.id })) {
          return conversationJson((await store.getConversationWithLatest(conversationId))!);
        }
      }
      const c = await readableConversation(s, id, req.params.id);
      let by: 'rep' | 'customer' | 'admin';
      if (id.user.role === 'admin') by = 'admin';
      else if (id.customer) by = 'customer';
      else if (id.rep && c.repId === id.rep.id && c.status === 'assigned') by = 'rep';
      else if (c.status === 'closed') throw conflict('Cannot close a conversation that is closed.', 'illegal_transition');
      else throw forbidden('Only the current rep, the customer or an admin may close this conversation.');
      await closeConversation(s.ctx, { conversationId: c.id, by, closingRepId: by === 'rep' ? id.rep!.id : undefined });
      return conversationJson((await store.getConversationWithLatest(c.id))!);
    },
  );

  app.post<{ Params: { id: string }; Body: { to_rep?: number | null } | null }>(
    '/api/conversations/:id/transfer/',
    {
      onRequest: auth,
      schema: {
        tags: ['conversations'],
        params: IdParams,
        body: Type.Union([Type.Object({ to_rep: Type.Optional(Type.Union([Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }), Type.Null()])) }), Type.Null()]),
        response: { 200: ConversationSchema, ...errors },
      },
    },
    async (req) => {
      const id = identityOf(req);
      const c = await readableConversation(s, id, req.params.id);
      const isCurrentRep = id.rep !== undefined && c.repId === id.rep.id && c.status === 'assigned';
      if (id.user.role !== 'admin' && !isCurrentRep) {
        if (c.status !== 'assigned') assertTransition(c.status, 'transfer');
        throw forbidden('Only the current rep or an admin may transfer this conversation.');
      }
      await transferConversation(s.ctx, c.id, req.body?.to_rep ?? null, id.user.role === 'admin' ? undefined : id.rep!.id);
      return conversationJson((await store.getConversationWithLatest(c.id))!);
    },
  );

  app.post<{ Params: { id: string }; Body: { score: number; comment?: string | null } }>(
    '/api/conversations/:id/rating/',
    {
      onRequest: auth,
      schema: {
        tags: ['conversations'],
        params: IdParams,
        body: Type.Object({
          score: Type.Integer({ minimum: 1, maximum: 5 }),
          comment: Type.Optional(Type.Union([Type.String({ maxLength: 2000, pattern: '^[^\\u0000]*$' }), Type.Null()])),
        }),
        response: { 200: ConversationSchema, ...errors },
      },
    },
    async (req) => {
      const id = identityOf(req);
      const c = await readableConversation(s, id, req.params.id);
      if (!id.customer || c.customerId !== id.customer.id) throw forbidden('Only the customer may rate this conversation.');
      if (c.status !== 'closed') throw conflict('A conversation can be rated once it is closed.', 'illegal_transition');
      if (!(await store.rate(c.id, req.body.score, req.body.comment ?? null))) throw conflict('This conversation is already rated.', 'already_rated');
      return conversationJson((await store.getConversationWithLatest(c.id))!);
    },
  );

  app.post<{ Params: { id: string } }>(
    '/api/conversations/:id/queue/',
    { onRequest: auth, schema: { tags: ['conversations'], params: IdParams, response: { 200: ConversationSchema, ...errors } } },
    async (req, reply) => {
      const id = identityOf(req);
      const c = await readableConversation(s, id, req.params.id);
      if (id.user.role !== 'admin' && !(id.customer && c.customerId === id.customer.id)) throw forbidden('Only the customer or an admin may queue this conversation.');
      if (id.user.role !== 'admin') await throttleConversations(s, reply, id.user.id);
      await enqueueConversation(s.ctx, c.id, { strict: true });
      return conversationJson((await store.getConversationWithLatest(c.id))!);
    },
  );
}
