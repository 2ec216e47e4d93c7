// Request authentication: resolves the Bearer token to an Identity and exposes role guards.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { forbidden, unauthorized } from '../domain/errors.ts';
import type { Identity, Role } from '../domain/types.ts';
import type { Accounts } from '../services/accounts.ts';
import { bearerToken } from '../auth/bearer.ts';

declare module 'fastify' {
  interface FastifyRequest {
    identity?: Identity;
  }
}

/**
 * An onRequest hook that demands a valid access token, and optionally one of the given roles. It runs before
 * the body is read and validated, so an unauthenticated caller gets 401 (a wrong role 403) whatever it sends,
 * as DRF checks authentication and permissions before it parses the body.
 */
export function requireAuth(accounts: Accounts, roles?: Role[]) {
  return async (request: FastifyRequest, _reply: FastifyReply) => {
    const token = bearerToken(request.headers.authorization);
    if (!token) throw unauthorized('Authentication credentials were not provided.');
    request.identity = await accounts.authenticate(token);
    if (roles && !roles.includes(request.identity.user.role)) throw forbidden();
  };
}

export function identityOf(request: FastifyRequest): Identity {
  if (!request.identity) throw unauthorized();
  return request.identity;
}
