// Admin account routes: list users, create a rep, deactivate and reactivate a user, reset a password, and
// list the accounts whose names clashed when usernames became case-insensitive.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import type { Role, User } from '../../domain/types.ts';
import { notFound } from '../../domain/errors.ts';
import { identityOf, requireAuth } from '../auth.ts';
import { ErrorSchema } from '../representations.ts';
import { createRepAccount, RegisteredRepSchema, RegisterRep, type RegisterRepBody } from './accounts.ts';
import { deactivateUser, reactivateUser } from '../../services/admin-users.ts';

export const AdminUserSchema = Type.Object({
  id: Type.Integer({ description: 'The user id' }),
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  role: Type.Union([Type.Literal('customer'), Type.Literal('rep'), Type.Literal('admin')]),
  is_active: Type.Boolean(),
  profile_id: Type.Union([Type.Integer(), Type.Null()], { description: 'The customer or rep profile id; null for an admin' }),
});

const adminUserJson = (u: User, profileId: number | null) => ({
  id: u.id,
  username: u.username,
  email: u.email,
  first_name: u.firstName,
  last_name: u.lastName,
  role: u.role,
  is_active: u.isActive,
  profile_id: profileId,
});

const UsernameClashSchema = Type.Object({
  user: Type.Omit(AdminUserSchema, ['profile_id']),
  kept_user_id: Type.Integer({ description: 'The older account that holds the folded name' }),
  username_key: Type.String({ description: 'The folded name both share' }),
  found_at: Type.String({ format: 'date-time' }),
});

const UserIdParams = Type.Object({ id: Type.Integer({ minimum: 1, maximum: Number.MAX_SAFE_INTEGER }) });
const ListQuery = Type.Object({
  role: Type.Optional(Type.Union([Type.Literal('customer'), Type.Literal('rep'), Type.Literal('admin')])),
  q: Type.Optional(Type.String({ maxLength: 150 })),
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 500, default: 100 })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: 1_000_000_000, default: 0 })),
});
const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema };

export async function adminUserRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  const adminOnly = requireAuth(s.accounts, ['admin']);
  const tags = ['admin'];

  app.get<{ Querystring: { role?: Role; q?: string; limit?: number; offset?: number } }>(
    '/api/admin/users/',
    { onRequest: adminOnly, schema: { tags, querystring: ListQuery, response: { 200: Type.Array(AdminUserSchema), ...errors } } },
    async (req) => {
      const { role, q, limit = 100, offset = 0 } = req.query;
      const rows = await s.ctx.store.listUsers({ role, q: q || undefined, limit, offset });
      return rows.map((r) => adminUserJson(r.user, r.profileId));
    },
  );

  app.post<{ Body: RegisterRepBody }>(
    '/api/admin/reps/',
    { onRequest: adminOnly, schema: { tags, body: RegisterRep, response: { 201: RegisteredRepSchema, ...errors } } },
    async (req, reply) => reply.status(201).send(await createRepAccount(s, req.body)),
  );

  const withProfile = async (user: User) => {
    const row = await s.ctx.store.getUserWithProfile(user.id);
    return adminUserJson(row?.user ?? user, row?.profileId ?? null);
  };

  app.post<{ Params: { id: number } }>(
    '/api/admin/users/:id/deactivate/',
    { onRequest: adminOnly, schema: { tags, params: UserIdParams, response: { 200: AdminUserSchema, ...errors, 404: ErrorSchema } } },
    async (req) => withProfile(await deactivateUser(s.ctx, req.params.id, identityOf(req).user.id)),
  );

  app.post<{ Params: { id: number } }>(
    '/api/admin/users/:id/reactivate/',
    { onRequest: adminOnly, schema: { tags, params: UserIdParams, response: { 200: AdminUserSchema, ...errors, 404: ErrorSchema } } },
    async (req) => withProfile(await reactivateUser(s.ctx, req.params.id)),
  );

  app.post<{ Params: { id: number }; Body: { password: string } }>(
    '/api/admin/users/:id/password/',
    {
      onRequest: adminOnly,
      schema: {
        tags,
        params: UserIdParams,
        body: Type.Object({ password: Type.String({ minLength: 1, maxLength: 1024 }) }),
        response: { 204: Type.Null(), ...errors, 404: ErrorSchema },
      },
    },
    async (req, reply) => {
      if (!(await s.accounts.resetPassword(req.params.id, req.body.password))) throw notFound('No such user.');
      return reply.status(204).send();
    },
  );

  app.get(
    '/api/admin/username-clashes/',
    {
      onRequest: adminOnly,
      schema: {
        tags,
        description:
          'Accounts whose username matched an older account once case and width were folded (migration 040). Each keeps its account and logs in with its exact name; an admin decides what to do with it.',
        response: { 200: Type.Array(UsernameClashSchema), ...errors },
      },
    },
    async () =>
      (await s.ctx.store.listUsernameClashes()).map((c) => ({
        user: adminUserJson(c.user, null),
        kept_user_id: c.keptUserId,
        username_key: c.usernameKey,
        found_at: new Date(c.foundAt).toISOString(),
      })),
  );
}
