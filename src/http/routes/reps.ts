// Rep routes: a rep's own settings (capacity, status) and the list of reps for picking a transfer target.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import { forbidden } from '../../domain/errors.ts';
import { identityOf, requireAuth } from '../auth.ts';
import { ErrorSchema, repJson, RepSchema, repWithUserJson } from '../representations.ts';
import { updateRepSettings } from '../../services/reps.ts';
import { checkCapacity } from './accounts.ts';

const errors = { 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 404: ErrorSchema };

export async function repRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  const repOnly = requireAuth(s.accounts, ['rep']);

  app.get('/api/reps/me/', { onRequest: repOnly, schema: { tags: ['reps'], response: { 200: RepSchema, ...errors } } }, async (req) => {
    const id = identityOf(req);
    if (!id.rep) throw forbidden();
    return repJson(id.user, id.rep);
  });

  app.patch<{ Body: { max_capacity?: number; status?: 'online' | 'away' | 'offline' } }>(
    '/api/reps/me/',
    {
      onRequest: repOnly,
      schema: {
        tags: ['reps'],
        body: Type.Object({
          max_capacity: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
          status: Type.Optional(Type.Union([Type.Literal('online'), Type.Literal('away'), Type.Literal('offline')])),
        }),
        response: { 200: RepSchema, ...errors },
      },
    },
    async (req) => {
      const id = identityOf(req);
      if (!id.rep) throw forbidden();
      if (req.body.max_capacity !== undefined) checkCapacity(s, req.body.max_capacity);
      const rep = await updateRepSettings(s.ctx, id.rep.id, { maxCapacity: req.body.max_capacity, status: req.body.status });
      return repJson(id.user, rep);
    },
  );

  app.get(
    '/api/reps/',
    { onRequest: requireAuth(s.accounts, ['rep', 'admin']), schema: { tags: ['reps'], response: { 200: Type.Array(RepSchema), ...errors } } },
    async () => (await s.ctx.store.listReps()).map(repWithUserJson),
  );
}
