// Token extraction from an Authorization header, shared by HTTP requests and socket upgrades.

/** The token of a `Bearer` (or the original's `JWT`) Authorization header, if it has one. */
export function bearerToken(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^(?:Bearer|JWT)\s+(\S+)\s*$/i.exec(header);
  return match ? match[1] : undefined;
}
