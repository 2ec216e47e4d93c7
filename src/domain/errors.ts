// Typed domain errors; the HTTP error handler and the socket gateway map each to a status or frame.

export class DomainError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fields?: Record<string, unknown>,
    /** Sent as Retry-After (seconds) with a 429 or 503. */
    readonly retryAfterS?: number,
  ) {
    super(message);
  }
}

export const badRequest = (detail: string, fields?: Record<string, unknown>, code = 'invalid') => new DomainError(400, code, detail, fields);
export const unauthorized = (detail = 'Authentication credentials were not provided or are invalid.', code = 'not_authenticated') =>
  new DomainError(401, code, detail);
export const forbidden = (detail = 'You do not have permission to perform this action.') => new DomainError(403, 'permission_denied', detail);
export const notFound = (detail = 'Not found.') => new DomainError(404, 'not_found', detail);
export const conflict = (detail: string, code = 'conflict') => new DomainError(409, code, detail);
export const unavailable = (detail: string, retryAfterS?: number) => new DomainError(503, 'unavailable', detail, undefined, retryAfterS);
export const throttled = (detail: string, retryAfterS: number) => new DomainError(429, 'throttled', detail, undefined, retryAfterS);
