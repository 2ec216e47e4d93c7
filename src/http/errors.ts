// The one error handler: typed domain errors, validation failures and Fastify's own errors become
// JSON {detail, code, ...field errors}; nothing a client sends ever gets a 5xx or a stack trace.
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError } from '../domain/errors.ts';

interface AjvIssue {
  instancePath: string;
  keyword: string;
  message?: string;
  params: Record<string, unknown>;
}

/** Turns Ajv's flat list into DRF's nested shape: {"user": {"username": ["This field is required."]}}. */
export function fieldErrors(issues: AjvIssue[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const issue of issues) {
    const path = issue.instancePath.split('/').filter(Boolean).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let message = issue.message ?? 'Invalid value.';
    if (issue.keyword === 'required') {
      path.push(String(issue.params.missingProperty));
      message = 'This field is required.';
    } else if (issue.keyword === 'type') {
      message = `Expected ${String(issue.params.type)}.`;
    } else if (issue.keyword === 'pattern' && path[path.length - 1] === 'username') {
      message = 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.';
    } else if (issue.keyword === 'pattern') {
      message = 'Enter a valid value.';
    } else if (issue.keyword === 'minLength' && issue.params.limit === 1) {
      message = 'This field may not be blank.';
    }
    if (path.length === 0) path.push('non_field_errors');
    let node: Record<string, unknown> = out;
    for (let i = 0; i < path.length - 1; i++) {
      const next = node[path[i]];
      if (typeof next !== 'object' || next === null || Array.isArray(next)) node[path[i]] = {};
      node = node[path[i]] as Record<string, unknown>;
    }
    const leaf = path[path.length - 1];
    const list = Array.isArray(node[leaf]) ? (node[leaf] as string[]) : [];
    if (!list.includes(message)) list.push(message);
    node[leaf] = list;
  }
  return out;
}

const FASTIFY_CODES: Record<string, { status: number; code: string; detail: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: 'too_large', detail: 'Request body is larger than 64 KiB.' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: { status: 415, code: 'unsupported_media_type', detail: 'Unsupported media type; send application/json.' },
  FST_ERR_CTP_EMPTY_JSON_BODY: { status: 400, code: 'parse_error', detail: 'JSON parse error - the body is empty.' },
  FST_ERR_CTP_INVALID_JSON_BODY: { status: 400, code: 'parse_error', detail: 'JSON parse error.' },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: { status: 400, code: 'parse_error', detail: 'Content-Length does not match the body.' },
};

export function installErrorHandler(app: FastifyInstance): void {
  app.setErrorHandler((error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
    if (error instanceof DomainError) {
      if (error.retryAfterS !== undefined) reply.header('Retry-After', String(Math.max(1, Math.ceil(error.retryAfterS))));
      return reply.status(error.status).send({ detail: error.message, code: error.code, ...(error.fields ?? {}) });
    }
    if (error.validation) {
      const fields = fieldErrors(error.validation as AjvIssue[]);
      const where = error.validationContext ?? 'body';
      const detail = where === 'body' ? 'Invalid input.' : `Invalid ${where}.`;
      return reply.status(400).send({ detail, code: 'invalid', ...fields });
    }
    const known = error.code ? FASTIFY_CODES[error.code] : undefined;
    if (known) return reply.status(known.status).send({ detail: known.detail, code: known.code });
    if (error instanceof SyntaxError) return reply.status(400).send({ detail: 'JSON parse error.', code: 'parse_error' });
    const status = error.statusCode ?? 500;
    if (status === 429) {
      return reply.status(429).send({ detail: 'Request was throttled.', code: 'throttled' });
    }
    if (status >= 400 && status < 500) {
      return reply.status(status).send({ detail: error.message || 'Bad request.', code: (error.code ?? 'bad_request').toLowerCase() });
    }
    request.log.error({ err: error }, 'unhandled error');
    return reply.status(500).send({ detail: 'Internal server error.', code: 'server_error' });
  });
}

/**
 * For Fastify's `frameworkErrors` option: errors the router raises before any route or error handler runs
 * (a malformed percent-encoding, a path parameter over `maxParamLength`). Without it Fastify answers with
 * its own body, which has no `detail` and echoes the whole URL back. A path that cannot name a resource is
 * "not found", like any other id that is not a UUID.
 */
export function frameworkErrorHandler(error: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  if (error.code === 'FST_ERR_BAD_URL' || error.code === 'FST_ERR_MAX_PARAM_LENGTH') {
    void reply.status(404).send({ detail: 'Not found.', code: 'not_found' });
    return;
  }
  const status = error.statusCode && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply.status(status).send({ detail: 'Bad request.', code: 'bad_request' });
}

/** Remembers every route's methods so that an unknown method on a known path answers 405, not 404. */
export function installNotFound(app: FastifyInstance): void {
  const patterns: Array<{ re: RegExp; methods: Set<string> }> = [];
  app.addHook('onRoute', (route) => {
    if (route.url === '*' || route.url.includes('*')) return;
    const source = route.url
      .replace(/\/$/, '')
      .split('/')
      .map((seg) => (seg.startsWith(':') ? '[^/]+' : seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')))
      .join('/');
    const re = new RegExp(`^${source}/?$`);
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    let entry = patterns.find((p) => p.re.source === re.source);
    if (!entry) {
      entry = { re, methods: new Set() };
      patterns.push(entry);
    }
    for (const m of methods) entry.methods.add(m.toUpperCase());
  });
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0];
    const allowed = new Set<string>();
    for (const p of patterns) if (p.re.test(path)) for (const m of p.methods) allowed.add(m);
    if (allowed.size > 0) {
      reply.header('Allow', [...allowed].join(', '));
      return reply.status(405).send({ detail: `Method "${request.method}" not allowed.`, code: 'method_not_allowed' });
    }
    return reply.status(404).send({ detail: 'Not found.', code: 'not_found' });
  });
}
