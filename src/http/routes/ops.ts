// Operations routes: liveness, readiness (the store, and Redis when configured), Prometheus metrics.
import type { FastifyInstance } from 'fastify';
import { Type } from 'typebox';
import type { AppServices } from '../../app-services.ts';
import { bearerToken } from '../../auth/bearer.ts';
import { sameSecret } from '../../auth/secrets.ts';

/** A scrape flood costs at most one count of the online reps per this many milliseconds. */
const REPS_ONLINE_TTL_MS = 5000;

export async function opsRoutes(app: FastifyInstance, s: AppServices, checks: Record<string, () => Promise<void>>): Promise<void> {
  app.get('/healthz', { schema: { tags: ['ops'], response: { 200: Type.Object({ status: Type.String() }) } } }, async () => ({ status: 'ok' }));

  app.get('/readyz', { schema: { tags: ['ops'] } }, async (req, reply) => {
    const results: Record<string, string> = {};
    let ok = true;
    for (const [name, check] of Object.entries(checks)) {
      try {
        await Promise.race([check(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000).unref())]);
        results[name] = 'ok';
      } catch (err) {
        ok = false;
        // A driver's message names hosts and addresses: it goes to the log, never to an anonymous caller.
        req.log.warn({ check: name, err }, 'readiness check failed');
        results[name] = 'error';
      }
    }
    return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'unavailable', checks: results });
  });

  let repsOnlineAt = -Infinity;
  app.get('/metrics', { schema: { tags: ['ops'], hide: true } }, async (req, reply) => {
    if (s.config.metricsToken && !sameSecret(bearerToken(req.headers.authorization), s.config.metricsToken)) {
      return reply.status(401).send({ detail: 'A metrics token is required.', code: 'not_authenticated' });
    }
    try {
      const stats = await s.ctx.router.stats();
      s.metrics.queueLength.set(stats.length);
      if (Date.now() - repsOnlineAt >= REPS_ONLINE_TTL_MS) {
        repsOnlineAt = Date.now();
        s.metrics.repsOnline.set(await s.ctx.store.countOnlineReps());
      }
    } catch {
      // Metrics still answer when routing is briefly unavailable.
    }
    reply.header('Content-Type', s.metrics.registry.contentType);
    return s.metrics.registry.metrics();
  });
}
