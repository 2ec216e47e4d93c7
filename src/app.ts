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
import { RoutingReconciler } from './services/reconcile.ts';
import { Accounts } from './services/accounts.ts';
import { HashGate } from './auth/hash-gate.ts';
import { MemoryLoginThrottle, type LoginThrottle } from './auth/login-throttle.ts';
import { RedisLoginThrottle } from './auth/redis-login-throttle.ts';
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
import { adminReportRoutes } from './http/routes/admin-reports.ts';
import { widgetRoutes } from './http/routes/widget.ts';
import { webRoutes } from './http/web.ts';
import { registerServiceMetrics } from './http/service-metrics.ts';
import { adminCustomerRoutes } from './http/routes/admin-customers.ts';
import { RetentionSweeper } from './services/retention.ts';
import { Gateway } from './realtime/gateway.ts';
import { socketErrorHandler } from './realtime/protocol-errors.ts';
import type { PresenceFactory } from './realtime/presence.ts';
import type { Cluster, Redis } from 'ioredis';
import type { Limits } from './limits/port.ts';
import { MemoryLimits } from './limits/memory-limits.ts';
import { AcceptTimeout } from './services/accept-timeout.ts';

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
  /**
   * The routing reconciler (services/reconcile.ts), in every mode: scaled out, `tryLock` lets one instance
   * look at a time; in-process it always may. `false` turns it off (tests that drive it by hand).
   */
  reconcile?: { tryLock?: () => Promise<boolean>; intervalMs?: number } | false;
  /** Failed-login counts; in memory, or in `rateLimitRedis` when that is given. */
  loginThrottle?: LoginThrottle;
  /** Milliseconds for the account guards; tests move it instead of waiting. */
  clock?: () => number;
  /** Counters for the caps per user and per address; in-process unless scaled out. */
  limits?: Limits;
}

export interface BuiltApp {
  app: FastifyInstance;
  services: AppServices;
  gateway: Gateway;
  reconciler?: RoutingReconciler;
}

const REQUEST_ID = /^[A-Za-z0-9._-]{1,64}$/;

/** Never log a ?token=: it is a credential. */
export function redactUrl(url: string): string {
  return url.replace(/([?&](?:token|access|refresh)=)[^&]*/gi, '$1[redacted]');
}

/** Node checks these every connectionsCheckingInterval (30 s by default): often enough for the shortest one. */
function httpTimeouts(config: Config): { headersTimeout: number; connectionsCheckingInterval: number } {
  const headersTimeout = config.requestTimeoutMs > 0 ? Math.min(config.wsHandshakeTimeoutMs, config.requestTimeoutMs) : config.wsHandshakeTimeoutMs;
  const shortest = config.requestTimeoutMs > 0 ? Math.min(headersTimeout, config.requestTimeoutMs) : headersTimeout;
  return { headersTimeout, connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(shortest / 4))) };
}

export async function buildApp(deps: AppDeps): Promise<BuiltApp> {
  const { config } = deps;
  const app = Fastify({
    logger: deps.logger ?? false,
    bodyLimit: 64 * 1024,
    // A trickled body (or headers, an upgrade's included) cannot hold a connection for ever: 408, then closed.
    requestTimeout: config.requestTimeoutMs,
    http: httpTimeouts(config),
    // A hop count is proxy-addr's own rule (believe the nearest N hops), spelled as the function form.
    trustProxy: typeof config.trustProxy === 'number' ? ((hops: number) => (_addr: string, hop: number) => hop < hops)(config.trustProxy) : config.trustProxy,
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
  ctx.reportError = (err, what) => app.log.error({ err }, what);
  const tokens = new TokenService(deps.jwtSecret, config.accessTtlS, config.refreshTtlS, { familyTtlS: config.refreshFamilyTtlS, clock: deps.clock });
  const services: AppServices = {
    config,
    ctx,
    accounts: new Accounts(deps.store, tokens, deps.bus, {
      hashGate: new HashGate(config.hashConcurrency, config.hashQueue),
      loginRules: { maxFailures: config.loginMaxFailures, windowMs: config.loginWindowS * 1000 },
      loginThrottle:
        deps.loginThrottle ??
        (deps.rateLimitRedis
          ? new RedisLoginThrottle(deps.rateLimitRedis, config.redisPrefix, config.loginWindowS * 1000)
          : new MemoryLoginThrottle(config.loginWindowS * 1000)),
      clock: deps.clock,
    }),
    queueViewer: new QueueViewer(ctx),
    metrics: new Metrics(),
    limits: deps.limits ?? new MemoryLimits(),
  };

  registerServiceMetrics(services.metrics.registry, deps.store.reporting);
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
      // ip: the client's address as TRUST_PROXY allows it to be known (never a hop nobody vouches for).
      req.log.info({ method: req.method, url: redactUrl(req.url).slice(0, 512), status: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10, ip: req.ip }, 'request');
    }
  });

  // An empty body with a JSON content type is an empty object to the original's clients (DRF), not an error.
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => {
    const text = (body as string).trim();
    if (text === '') return done(null, {});
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
    // The library's own key is the client address with IPv6 grouped by /64: one host usually owns a whole
    // /64, so keying by the full address would give it 2^64 budgets.
    ipv6Subnet: 64,
    ...(deps.rateLimitRedis ? { redis: deps.rateLimitRedis, nameSpace: `${config.redisPrefix}:{sb}:ratelimit:` } : {}),
  });
  await app.register(websocket, { options: { maxPayload: 64 * 1024 }, errorHandler: socketErrorHandler });

  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());

  const gateway = new Gateway(services, app.log, deps.presence);
  await app.register(async (scope) => {
    await accountRoutes(scope, services);
    await conversationRoutes(scope, services);
    await repRoutes(scope, services);
    await queueRoutes(scope, services);
    await adminUserRoutes(scope, services);
    await adminReportRoutes(scope, services);
    await widgetRoutes(scope, services);
    await webRoutes(scope, config);
    await adminCustomerRoutes(scope, services);
    await opsRoutes(scope, services, { store: () => deps.store.ping(), ...(deps.readiness ?? {}) });
    await gateway.start(scope);
  });

  // The process may have stopped between a close and its dispatch: rebuild, then dispatch.
  if (deps.rebuildRouter ?? true) await rebuildRouting(services.ctx);
  let reconciler: RoutingReconciler | undefined;
  if (deps.reconcile !== false) {
    reconciler = new RoutingReconciler(ctx, deps.reconcile?.tryLock ?? (async () => true), (drift) =>
      app.log.warn({ drift: drift.slice(0, 20) }, 'routing state disagreed with the store; repaired'),
    );
    reconciler.start(deps.reconcile?.intervalMs ?? 2000);
  }
  const acceptTimeout = new AcceptTimeout(services.ctx, config.acceptTimeoutMs, (err) => app.log.error({ err }, 'accept timeout pass failed'));
  acceptTimeout.start();
  const retention = new RetentionSweeper(services.ctx, config.retentionDays, (err) => app.log.error({ err }, 'retention pass failed'));
  retention.start();
  app.addHook('onClose', async () => {
    reconciler?.stop();
    acceptTimeout.stop();
    retention.stop();
    gateway.stop(1001);
    ctx.close();
    if (!deps.limits) await services.limits.close();
  });
  return { app, services, gateway, reconciler };
}
