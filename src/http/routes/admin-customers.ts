// Admin routes for one customer's data: export it, and erase it (conversations, messages and the account).
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import { notFound } from '../../domain/errors.ts';
import { requireAuth } from '../auth.ts';
import { ConversationDetailSchema, conversationJson, CustomerSchema, customerJson, ErrorSchema, messageJson } from '../representations.ts';
import { eraseCustomer, exportCustomer } from '../../services/retention.ts';

const Params = Type.Object({ user_id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER, description: 'The customer\'s user id' }) });
const ExportSchema = Type.Object({
  customer: CustomerSchema,
  conversations: Type.Array(ConversationDetailSchema, { description: 'Oldest first; each with its whole history, oldest message first' }),
});
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

export async function adminCustomerRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  const adminOnly = requireAuth(s.accounts, ['admin']);
  const tags = ['admin'];

  app.get<{ Params: { user_id: number } }>(
    '/api/admin/customers/:user_id/export/',
    { onRequest: adminOnly, schema: { tags, params: Params, response: { 200: ExportSchema, ...errors } } },
    async (req) => {
      const data = await exportCustomer(s.ctx, req.params.user_id);
      const customer = await s.ctx.store.getCustomer(data.customerId);
      if (!customer) throw notFound('No such customer.');
      return {
        customer: customerJson(customer.user, customer.profile),
        conversations: data.conversations.map((c) => ({
          ...conversationJson({ ...c, latestMessage: c.messages.at(-1) ?? null }),
          messages: c.messages.map(messageJson),
        })),
      };
    },
  );

  app.delete<{ Params: { user_id: number } }>(
    '/api/admin/customers/:user_id/',
    { onRequest: adminOnly, schema: { tags, params: Params, response: { 204: Type.Null(), ...errors } } },
    async (req, reply) => {
      await eraseCustomer(s.ctx, req.params.user_id);
      return reply.status(204).send();
    },
  );
}
