// buildApp(deps): the Fastify instance with its plugins, routes and WebSocket gateway, from its dependencies.
import Fastify, { LogController, type FastifyInstance, type FastifyServerOptions } from 'fastify';
import websocket from '@fastify/websocket';
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { randomUUID } from 'node:crypto';
import type { Config } from './config.ts';
import type { Store } from './store/port.ts';
import type { Router } from './routing/port.ts';
import type { Bus } from './bus/port.ts';
import { ServiceContext } from './services/context.ts';
import { rebuildRouting } from './services/rebuild.ts';
import { Accounts } from './services/accounts.ts';
import { TokenService } from './auth/tokens.ts';
import { QueueViewer } from './services/queue-view.ts';
import { Metrics } from './http/metrics.ts';
import type { AppServices } from './app-services.ts';
import { frameworkErrorHandler, installErrorHandler, installNotFound } from './http/errors.ts';
import { Ajv } from 'ajv';
import { accountRoutes } from './http/routes/accounts.ts';
import { conversationRoutes } from './http/routes/conversations.ts';
import { repRoutes } from './http/routes/reps.ts';
import { queueRoutes } from './http/routes/queue.ts';
import { opsRoutes } from './http/routes/ops.ts';
import { adminUserRoutes } from './http/routes/admin-users.ts';
import { Gateway } from './realtime/gateway.ts';
import type { PresenceFactory } from './realtime/presence.ts';
import type { Cluster, Redis } from 'ioredis';

export interface AppDeps {
  config: Config;
  store: Store;
  router: Router;
  bus: Bus;
  jwtSecret: string;
  logger?: FastifyServerOptions['logger'];
  /** Readiness checks beyond the store (e.g. Redis). */
  readiness?: Record<string, () => Promise<void>>;
  /** Rebuild the router from the store at start (the in-process router always must). */
  rebuildRouter?: boolean;
  /** Shared rate-limit counters (scaled out). */
  rateLimitRedis?: Redis | Cluster;
  /** Presence tracking; in-process timers unless scaled out. */
  presence?: PresenceFactory;
}

export interface BuiltApp {
  app: FastifyInstance;
  services: AppServices;
  gateway: Gateway;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Never log a ?token=: it is a credential. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access|refresh)=)[^&]*/gi, '$1[redacted]');
}

export async function buildApp(deps: AppDeps): Promise<BuiltApp> {
  const { config } = deps;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: 64 * 1024,
    trustProxy: config.trustProxy,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 8192 },
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && REQUEST_ID.test(given) ? given : randomUUID();
    },
    frameworkErrors: frameworkErrorHandler,
    // One line per request is written by our onResponse hook, with the ?token= redacted.
    logController: new LogController({ disableRequestLogging: true }),
  });

  const ctx = new ServiceContext(deps.store, deps.router, deps.bus);
  const tokens = new TokenService(deps.jwtSecret, config.accessTtlS, config.refreshTtlS);
  const services: AppServices = {
    config,
    ctx,
    accounts: new Accounts(deps.store, tokens, deps.bus),
    queueViewer: new QueueViewer(ctx),
    metrics: new Metrics(),
  };

  installErrorHandler(app);
  installNotFound(app);
  // JSON bodies are validated as sent (null is not 0, ["x"] is not "x"); query strings and path
  // parameters arrive as text, so they alone are coerced to the schema's types.
  const ajvOptions = { allErrors: true, useDefaults: true, removeAdditional: true, strict: false } as const;
  const strictAjv = new Ajv({ ...ajvOptions, coerceTypes: false });
  const coercingAjv = new Ajv({ ...ajvOptions, coerceTypes: 'array' });
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? strictAjv : coercingAjv).compile(schema));

  app.addHook('onRequest', async (req, reply) => {
    reply.header('X-Request-Id', req.id);
  });
  // `?limit=&offset=` with nothing after the `=` means "not given", as in DRF.
  app.addHook('preValidation', async (req) => {
    const q = req.query as Record<string, unknown> | undefined;
    if (q && typeof q === 'object') for (const k of Object.keys(q)) if (q[k] === '') delete q[k];
  });
  app.addHook('onResponse', async (req, reply) => {
    const route = req.routeOptions?.url ?? 'unknown';
    services.metrics.httpDuration.observe({ method: req.method, route, status_code: String(reply.statusCode) }, reply.elapsedTime / 1000);
    if (!route.startsWith('/ws/')) {
      req.log.info({ method: req.method, url: redactUrl(req.url).slice(0, 512), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 }, 'request');
    }
  });

  // An empty body with a JSON content type is an empty object to the original's clients (DRF), not an error.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, null);
    try {
      done(null, JSON.parse(text, (key, value) => (key === '__proto__' || key === 'constructor' ? undefined : value)));
    } catch {
      const err = new SyntaxError('JSON parse error') as SyntaxError & { statusCode: number };
      err.statusCode = 400;
      done(err, undefined);
    }
  });

  // The original (DRF) also took HTML-form bodies, e.g. for /auth/token/: flat fields become strings.
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_req, body, done) => {
    const out: Record<string, string> = {};
    for (const [k, v] of new URLSearchParams(body as string)) if (k !== '__proto__' && k !== 'constructor') out[k] = v;
    done(null, out);
  });

  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: { title: 'Switchboard', description: 'Real-time customer-support backend', version: '0.1.0' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  // Scaled out, the budgets live in Redis, so that N instances do not give a client N budgets.
  await app.register(rateLimit, {
    global: false,
    keyGenerator: (req) => req.ip,
    ...(deps.rateLimitRedis ? { redis: deps.rateLimitRedis, nameSpace: `${config.redisPrefix}:{sb}:ratelimit:` } : {}),
  });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const gateway = new Gateway(services, app.log, deps.presence);
  await app.register(async (scope) => {
    await accountRoutes(scope, services);
    await conversationRoutes(scope, services);
    await repRoutes(scope, services);
    await queueRoutes(scope, services);
    await adminUserRoutes(scope, services);
    await opsRoutes(scope, services, { store: () => deps.store.ping(), ...(deps.readiness ?? {}) });
    await gateway.start(scope);
  });

  // The process may have stopped between a close and its dispatch: rebuild, then dispatch.
  if (deps.rebuildRouter ?? true) await rebuildRouting(services.ctx);
  app.addHook('onClose', async () => gateway.stop(1001));
  return { app, services, gateway };
}
