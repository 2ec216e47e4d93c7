// Access and refresh tokens: HS256 JWTs, signed with jose and verified with fast-jwt (node:crypto's HMAC,
// synchronous: ~10-50 µs against jose's WebCrypto path at ~0.5-2 ms under load, which a connect storm of
// fresh tokens pays once per socket; see bench/README.md). Refresh tokens rotate inside a family; reuse
// revokes the family.
import { SignJWT } from 'jose';
import { createVerifier } from 'fast-jwt';
import { randomUUID } from 'node:crypto';
import type { Role } from '../domain/types.ts';

export interface AccessClaims {
  userId: number;
  role: Role;
  epoch: number;
}

export interface RefreshClaims {
  userId: number;
  jti: string;
  familyId: string;
  /** When the family began (its login), seconds; the family ends familyTtlS later however often it rotates. */
  familyStartS: number;
}

export class TokenError extends Error {}

const ISSUER = 'switchboard';
const VERIFIED_CACHE_SIZE = 20_000;
const ROLES = ['customer', 'rep', 'admin'] as const;

export class TokenService {
  private readonly key: Uint8Array;
  private readonly verifier: (token: string) => Record<string, unknown>;
  private readonly familyTtlS: number;
  private readonly now: () => number;

  constructor(
    secret: string,
    readonly accessTtlS: number,
    readonly refreshTtlS: number,
    opts: { familyTtlS?: number; clock?: () => number } = {},
  ) {
    this.key = new TextEncoder().encode(secret);
    this.familyTtlS = opts.familyTtlS ?? 30 * 86_400;
    this.now = opts.clock ?? Date.now;
    // Only HS256 with this key and issuer. Expiry and not-before are checked below against `now`, so that
    // tests can move the clock (no clock tolerance).
    this.verifier = createVerifier({ key: secret, algorithms: ['HS256'], allowedIss: ISSUER, cache: false, ignoreExpiration: true, ignoreNotBefore: true });
  }

  private nowS(): number {
    return Math.floor(this.now() / 1000);
  }

  async signAccess(c: AccessClaims): Promise<string> {
    return new SignJWT({ typ: 'access', role: c.role, ep: c.epoch })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(c.userId))
      .setIssuer(ISSUER)
      .setIssuedAt(this.nowS())
      .setJti(randomUUID())
      .setExpirationTime(this.nowS() + this.accessTtlS)
      .sign(this.key);
  }

  /** The family's end, seconds: no refresh token of it lives past this. */
  familyEndS(familyStartS: number): number {
    return familyStartS + this.familyTtlS;
  }

  /**
   * A refresh token of the family; a new family starts now. Its expiry is the refresh lifetime, cut to the
   * family's end (the caller refuses a family that has ended).
   */
  async signRefresh(userId: number, familyId: string, familyStartS = this.nowS()): Promise<{ token: string; jti: string; expiresAt: number }> {
    const jti = randomUUID();
    const exp = Math.min(this.nowS() + this.refreshTtlS, this.familyEndS(familyStartS));
    const token = await new SignJWT({ typ: 'refresh', fam: familyId, fst: familyStartS })
      .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
      .setSubject(String(userId))
      .setIssuer(ISSUER)
      .setIssuedAt(this.nowS())
      .setJti(jti)
      .setExpirationTime(exp)
      .sign(this.key);
    return { token, jti, expiresAt: exp * 1000 };
  }

  private async verify(token: string, typ: 'access' | 'refresh') {
    if (typeof token !== 'string' || token.length === 0 || token.length > 4096) throw new TokenError('malformed token');
    let payload: Record<string, unknown>;
    try {
      payload = this.verifier(token);
    } catch {
      throw new TokenError('invalid token');
    }
    // fast-jwt checks an issuer only when the token names one: a token without one is not ours either.
    if (payload.iss !== ISSUER) throw new TokenError('bad issuer');
    if (payload.typ !== typ) throw new TokenError(`not an ${typ} token`);
    if (typeof payload.exp !== 'number') throw new TokenError('no expiry');
    const nowS = this.now() / 1000;
    if (payload.exp <= nowS) throw new TokenError('expired');
    if (typeof payload.nbf === 'number' && payload.nbf > nowS) throw new TokenError('not yet valid');
    const userId = Number(payload.sub);
    if (!Number.isSafeInteger(userId) || userId <= 0) throw new TokenError('bad subject');
    return { payload, userId };
  }

  /**
   * Verified access tokens are remembered until they expire: clients send the same token on every
   * request and socket, and a signature check costs far more than a map lookup. Revocation does not
   * depend on this (logout bumps the user's token epoch, checked against the store on every use).
   */
  private readonly verified = new Map<string, Readonly<AccessClaims> & { readonly expMs: number }>();

  async verifyAccess(token: string): Promise<AccessClaims> {
    const hit = this.verified.get(token);
    if (hit && hit.expMs > this.now()) return { userId: hit.userId, role: hit.role, epoch: hit.epoch };
    const { payload, userId } = await this.verify(token, 'access');
    // The constant, not the parsed string: one entry per token stays in the cache (as many as open sockets).
    const role = ROLES.find((r) => r === payload.role);
    if (!role) throw new TokenError('bad role');
    const epoch = Number(payload.ep ?? 0);
    if (this.verified.size >= VERIFIED_CACHE_SIZE) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, { userId, role, epoch, expMs: Number(payload.exp) * 1000 });
    return { userId, role, epoch };
  }

  async verifyRefresh(token: string): Promise<RefreshClaims> {
    const { payload, userId } = await this.verify(token, 'refresh');
    if (typeof payload.jti !== 'string' || typeof payload.fam !== 'string') throw new TokenError('bad refresh token');
    // A token from before family lifetimes were recorded starts its family at its own issue time.
    const familyStartS = typeof payload.fst === 'number' ? payload.fst : Number(payload.iat ?? this.nowS());
    return { userId, jti: payload.jti, familyId: payload.fam, familyStartS };
  }
}
