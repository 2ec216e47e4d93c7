// Serves the built browser console: the customer widget (/chat/), the agent console (/agent/), the
// supervisor view (/admin/), the embed snippet (/embed.js) and their hashed assets, with a CSP each.
import type { FastifyInstance, FastifyReply } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.ts';

export const WEB_DIST = fileURLToPath(new URL('../../web/dist/', import.meta.url));

const PAGES = { '/': 'index.html', '/chat/': 'chat/index.html', '/agent/': 'agent/index.html', '/admin/': 'admin/index.html' } as const;

/** The CSP of a page: everything from this origin only; only the widget may be framed, by WIDGET_ORIGINS. */
export function contentSecurityPolicy(page: keyof typeof PAGES, widgetOrigins: string[]): string {
  const ancestors = page === '/chat/' ? (widgetOrigins.includes('*') ? '*' : ["'self'", ...widgetOrigins].join(' ')) : "'none'";
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Preact and uPlot set element styles from script.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${ancestors}`,
  ].join('; ');
}

export async function webRoutes(app: FastifyInstance, config: Config, root = WEB_DIST): Promise<void> {
  await app.register(fastifyStatic, { root: `${root}assets`, prefix: '/assets/', immutable: true, maxAge: '365d', index: false, list: false });

  const notBuilt = (reply: FastifyReply) =>
    reply.status(503).send({ detail: 'The web console is not built: run `npm run build:web` (npm start does it by itself).', code: 'console_not_built' });

  for (const [path, file] of Object.entries(PAGES) as Array<[keyof typeof PAGES, string]>) {
    const csp = contentSecurityPolicy(path, config.widgetOrigins);
    app.get(path, { schema: { hide: true } }, (_req, reply) => {
      if (!existsSync(root + file)) return notBuilt(reply);
      reply.header('Content-Security-Policy', csp).header('X-Content-Type-Options', 'nosniff').header('Referrer-Policy', 'same-origin');
      return reply.sendFile(file, root, { maxAge: 0, immutable: false, cacheControl: false }).header('Cache-Control', 'no-cache');
    });
  }
  app.get('/embed.js', { schema: { hide: true } }, (_req, reply) => {
    if (!existsSync(root + 'embed.js')) return notBuilt(reply);
    return reply.header('Cache-Control', 'no-cache').sendFile('embed.js', root, { cacheControl: false });
  });
}
