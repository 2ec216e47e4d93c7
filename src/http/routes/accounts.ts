// Accounts routes: the original's registration and token endpoints, plus logout, login alias and /api/me/.
import type { FastifyInstance, onRequestAsyncHookHandler } from 'fastify';
import type {} from '@fastify/rate-limit';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import { badRequest } from '../../domain/errors.ts';
import { requireAuth, identityOf } from '../auth.ts';
import { customerJson, CustomerSchema, ErrorSchema, repJson, RepSchema, userJson, UserSchema } from '../representations.ts';
import { registerRep } from '../../services/reps.ts';

const NO_NUL = '^[^\\u0000]*$';
const UserInput = Type.Object({
  // Django's username rule: Unicode letters and digits, and @ . + - _
  username: Type.String({ minLength: 1, maxLength: 150, pattern: '^[\\p{L}\\p{N}_.@+-]+$' }),
  email: Type.Optional(Type.String({ maxLength: 254, pattern: '^$|^[^@\\s\\u0000]+@[^@\\s\\u0000]+$' })),
  first_name: Type.Optional(Type.String({ maxLength: 150, pattern: NO_NUL })),
  last_name: Type.Optional(Type.String({ maxLength: 150, pattern: NO_NUL })),
});
const Password = Type.String({ minLength: 1, maxLength: 1024 });

// DRF's IntegerField takes a number or a numeric string; nothing else (null, true, arrays) is coerced.
const IntegerLike = (maximum: number, digits: number) =>
  Type.Union([Type.Integer({ minimum: 0, maximum }), Type.String({ pattern: `^\\s*\\d{1,${digits}}\\s*$` })]);
const PhoneNumber = IntegerLike(999_999_999_999_999, 15);
const MaxCapacity = IntegerLike(10_000, 4);
// The schema has already bounded both forms (the integer's maximum, the string's digits).
const toInt = (v: number | string): number => (typeof v === 'number' ? v : Number(v.trim()));
const RegisterCustomer = Type.Object({ user: UserInput, phone_number: PhoneNumber, password: Password, password1: Password });
export const RegisterRep = Type.Object({ user: UserInput, max_capacity: MaxCapacity, password: Password, password1: Password });
const Credentials = Type.Object({ username: Type.String({ minLength: 1, maxLength: 150 }), password: Type.String({ minLength: 1, maxLength: 1024 }) });
const TokenPair = Type.Object({ access: Type.String(), refresh: Type.String() });
const errors = { 400: ErrorSchema, 401: ErrorSchema, 429: ErrorSchema };
export const RegisteredRepSchema = Type.Object({ id: Type.Integer(), user: UserSchema, max_capacity: Type.Integer(), status: Type.String(), load: Type.Integer() });
export type RegisterRepBody = { user: UserIn; max_capacity: number | string; password: string; password1: string };

/** A capacity above MAX_REP_CAPACITY is refused the way DRF refuses a field. */
export function checkCapacity(s: AppServices, capacity: number): void {
  if (capacity > s.config.maxRepCapacity) {
    const msg = `Ensure this value is less than or equal to ${s.config.maxRepCapacity}.`;
    throw badRequest(msg, { max_capacity: [msg] });
  }
}

/** Registration of a rep, shared by the original's open route and the admin route. */
export async function createRepAccount(s: AppServices, body: RegisterRepBody) {
  checkPasswords(body);
  const capacity = toInt(body.max_capacity);
  checkCapacity(s, capacity);
  const { user, profile } = await s.accounts.registerRep(normUser(body.user), body.password, capacity);
  await registerRep(s.ctx, profile);
  return { id: profile.id, user: userJson(user), max_capacity: profile.maxCapacity, status: profile.status, load: profile.load };
}

type UserIn = { username: string; email?: string; first_name?: string; last_name?: string };
const normUser = (u: UserIn) => ({ username: u.username, email: u.email ?? '', first_name: u.first_name ?? '', last_name: u.last_name ?? '' });

function checkPasswords(body: { password: string; password1: string }) {
  if (body.password !== body.password1) throw badRequest("Password fields didn't match.", { password: ["Password fields didn't match."] });
}

export async function accountRoutes(app: FastifyInstance, s: AppServices): Promise<void> {
  // One budget per client address shared by the routes of a kind: a per-route budget would let a client
  // double its password guesses by alternating /auth/token/ and /auth/login/ (or the two registrations).
  // Each budget has its own key: a limiter made by app.rateLimit() has no route, so in Redis they would all
  // count under one "<prefix>undefinedundefined-<ip>" key, while in memory each counts apart.
  const limiter = (kind: string, max: number) =>
    app.rateLimit({ max, timeWindow: 60_000, keyGenerator: (req) => `${kind}|${req.ip}` }) as unknown as onRequestAsyncHookHandler;
  const registerLimit = limiter('register', s.config.rateRegisterPerMin);
  const credentialsLimit = limiter('credentials', s.config.rateTokenPerMin);
  const refreshLimit = limiter('refresh', s.config.rateTokenPerMin);

  app.post<{ Body: { user: UserIn; phone_number: number | string; password: string; password1: string } }>(
    '/api/register_customer/',
    { onRequest: registerLimit, schema: { tags: ['accounts'], body: RegisterCustomer, response: { 201: CustomerSchema, ...errors } } },
    async (req, reply) => {
      checkPasswords(req.body);
      const { user, profile } = await s.accounts.registerCustomer(normUser(req.body.user), req.body.password, toInt(req.body.phone_number));
      return reply.status(201).send(customerJson(user, profile));
    },
  );

  // REP_REGISTRATION=admin: a rep is routed real customers' chats, so only an admin may create one.
  const repRegistrationGuard = s.config.repRegistration === 'admin' ? [requireAuth(s.accounts, ['admin'])] : [];
  app.post<{ Body: RegisterRepBody }>(
    '/api/register_customer_rep/',
    {
      onRequest: [registerLimit, ...repRegistrationGuard],
      schema: { tags: ['accounts'], body: RegisterRep, response: { 201: RegisteredRepSchema, ...errors, 403: ErrorSchema } },
    },
    async (req, reply) => reply.status(201).send(await createRepAccount(s, req.body)),
  );

  for (const path of ['/auth/token/', '/auth/login/']) {
    app.post<{ Body: { username: string; password: string } }>(
      path,
      { onRequest: credentialsLimit, schema: { tags: ['accounts'], body: Credentials, response: { 200: TokenPair, ...errors } } },
      async (req) => s.accounts.login(req.body.username, req.body.password),
    );
  }

  app.post<{ Body: { refresh: string } }>(
    '/auth/token/refresh/',
    { onRequest: refreshLimit, schema: { tags: ['accounts'], body: Type.Object({ refresh: Type.String({ minLength: 1, maxLength: 4096 }) }), response: { 200: TokenPair, ...errors } } },
    async (req) => s.accounts.refresh(req.body.refresh),
  );

  app.post(
    '/auth/logout/',
    { onRequest: requireAuth(s.accounts), schema: { tags: ['accounts'], response: { 200: Type.Object({ detail: Type.String() }), 401: ErrorSchema } } },
    async (req) => {
      await s.accounts.logout(identityOf(req).user.id);
      return { detail: 'Successfully logged out.' };
    },
  );

  app.get(
    '/api/me/',
    {
      onRequest: requireAuth(s.accounts),
      schema: {
        tags: ['accounts'],
        response: {
          200: Type.Object({ user: UserSchema, role: Type.String(), profile: Type.Union([CustomerSchema, RepSchema, Type.Null()]) }),
          401: ErrorSchema,
        },
      },
    },
    async (req) => {
      const id = identityOf(req);
      const profile = id.customer ? customerJson(id.user, id.customer) : id.rep ? repJson(id.user, id.rep) : null;
      return { user: userJson(id.user), role: id.user.role, profile };
    },
  );
}
