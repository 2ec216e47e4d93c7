// Account verbs: register, log in, refresh (rotating), log out, and resolve an access token to an identity.
import { randomUUID } from 'node:crypto';
import type { Store, NewUser } from '../store/port.ts';
import { UsernameTaken } from '../store/port.ts';
import { hashPassword, verifyPassword, dummyHash } from '../auth/passwords.ts';
import { TokenError, type TokenService } from '../auth/tokens.ts';
import { badRequest, throttled, unauthorized, unavailable } from '../domain/errors.ts';
import { HashGate, HashGateFull } from '../auth/hash-gate.ts';
import { blockedUntil, MemoryLoginThrottle, throttleKey, type LoginThrottle, type ThrottleRules } from '../auth/login-throttle.ts';
import { canonicalUsername, confusableMix } from '../domain/usernames.ts';
import type { Identity } from '../domain/types.ts';
import type { Bus } from '../bus/port.ts';

export interface TokenPair {
  access: string;
  refresh: string;
}

export interface AccountGuards {
  /** Bounds the scrypt jobs running and waiting. */
  hashGate?: HashGate;
  /** Failed logins per username. */
  loginThrottle?: LoginThrottle;
  loginRules?: ThrottleRules;
  /** Milliseconds; tests move it instead of waiting. */
  clock?: () => number;
}

export class Accounts {
  private readonly hashGate: HashGate;
  private readonly loginThrottle: LoginThrottle;
  private readonly loginRules: ThrottleRules;
  private readonly now: () => number;

  constructor(
    private readonly store: Store,
    private readonly tokens: TokenService,
    private readonly bus: Bus,
    guards: AccountGuards = {},
  ) {
    this.hashGate = guards.hashGate ?? new HashGate(2, 64);
    this.loginRules = guards.loginRules ?? { maxFailures: 10, windowMs: 900_000 };
    this.loginThrottle = guards.loginThrottle ?? new MemoryLoginThrottle(this.loginRules.windowMs);
    this.now = guards.clock ?? Date.now;
  }

  /** Every scrypt job goes through the gate; a full queue is a 503 the client may retry. */
  private async hashing<T>(job: () => Promise<T>): Promise<T> {
    try {
      return await this.hashGate.run(job);
    } catch (err) {
      if (err instanceof HashGateFull) throw unavailable('The server is busy checking passwords; retry shortly.', 1);
      throw err;
    }
  }

  private async newUser(u: { username: string; email: string; first_name: string; last_name: string }, password: string): Promise<NewUser> {
    const passwordHash = await this.hashing(() => hashPassword(password));
    return { username: u.username, email: u.email, firstName: u.first_name, lastName: u.last_name, passwordHash };
  }

  /** Before any lookup or hashing: a name mixing look-alike scripts is refused like any bad field. */
  private checkUsername(username: string): void {
    const mix = confusableMix(username);
    if (mix) throw badRequest(mix, { user: { username: [mix] } }, 'username_confusable');
  }

  private taken(err: unknown): never {
    if (err instanceof UsernameTaken) throw badRequest('A user with that username already exists.', { user: { username: [err.message] } }, 'username_taken');
    throw err;
  }

  async registerCustomer(u: Parameters<Accounts['newUser']>[0], password: string, phoneNumber: number) {
    this.checkUsername(u.username);
    // Finds "admin" for "Ａｄｍｉｎ" too (the store compares canonical names), so that is the same 400 as a duplicate.
    if (await this.store.findUserByUsername(u.username)) this.taken(new UsernameTaken());
    return this.store.createCustomer(await this.newUser(u, password), phoneNumber).catch((e) => this.taken(e));
  }

  async registerRep(u: Parameters<Accounts['newUser']>[0], password: string, maxCapacity: number) {
    this.checkUsername(u.username);
    if (await this.store.findUserByUsername(u.username)) this.taken(new UsernameTaken());
    return this.store.createRep(await this.newUser(u, password), maxCapacity).catch((e) => this.taken(e));
  }

  /** An admin sets a new password: every session the account had ends. */
  async resetPassword(userId: number, password: string): Promise<boolean> {
    if (!(await this.store.setPasswordHash(userId, await this.hashing(() => hashPassword(password))))) return false;
    await this.bus.publish({ kind: 'logout', userId });
    return true;
  }

  async createAdmin(username: string, password: string, email = '') {
    this.checkUsername(username);
    return this.store.createAdmin(await this.newUser({ username, email, first_name: '', last_name: '' }, password)).catch((e) => this.taken(e));
  }

  private async issue(userId: number, role: Identity['user']['role'], epoch: number, familyId: string): Promise<TokenPair> {
    const refresh = await this.tokens.signRefresh(userId, familyId);
    await this.store.insertRefreshToken({ jti: refresh.jti, familyId, userId, expiresAt: refresh.expiresAt });
    const access = await this.tokens.signAccess({ userId, role, epoch });
    return { access, refresh: refresh.token };
  }

  async login(username: string, password: string): Promise<TokenPair> {
    // One budget per name as people read it: "Admin" and full-width "ａｄｍｉｎ" spend the budget of "admin".
    const key = throttleKey(canonicalUsername(username));
    const until = blockedUntil(await this.loginThrottle.state(key, this.now()), this.loginRules, this.now());
    // Refused before any hashing: a locked name costs the pool nothing.
    if (until > 0) throw throttled('Too many failed logins for this username; try again later.', (until - this.now()) / 1000);
    const user = await this.store.findUserByUsername(username);
    // Hash even for an unknown user, so that the answer's timing does not tell which usernames exist.
    const ok = await this.hashing(async () => verifyPassword(password, user ? user.passwordHash : await dummyHash()));
    // A deactivated account gets the same answer as a wrong password (DRF's wording says as much).
    if (!user || !ok || !user.isActive) {
      await this.loginThrottle.failure(key, this.now());
      throw unauthorized('No active account found with the given credentials', 'authentication_failed');
    }
    await this.loginThrottle.success(key);
    return this.issue(user.id, user.role, user.tokenEpoch, randomUUID());
  }

  async refresh(token: string): Promise<TokenPair> {
    let claims;
    try {
      claims = await this.tokens.verifyRefresh(token);
    } catch {
      throw unauthorized('Token is invalid or expired', 'token_not_valid');
    }
    // A family lives REFRESH_FAMILY_TTL_S from its login, however often it rotates: a stolen token cannot be
    // kept alive for ever by rotating it.
    if (this.tokens.familyEndS(claims.familyStartS) * 1000 <= this.now()) throw unauthorized('Token is invalid or expired', 'token_not_valid');
    const next = await this.tokens.signRefresh(claims.userId, claims.familyId, claims.familyStartS);
    const used = await this.store.rotateRefreshToken(claims.jti, this.now(), { jti: next.jti, familyId: claims.familyId, userId: claims.userId, expiresAt: next.expiresAt });
    if (used.kind === 'reused' || used.kind === 'expired') {
      // A replayed refresh token means it leaked: the whole family goes, and so do the access tokens and
      // sockets made from it (which side is the thief is unknown, so both sign in again).
      await this.store.revokeFamily(used.familyId);
      if (used.kind === 'reused') {
        await this.store.bumpTokenEpoch(used.userId);
        await this.bus.publish({ kind: 'logout', userId: used.userId });
      }
    }
    if (used.kind !== 'ok') throw unauthorized('Token is invalid or expired', 'token_not_valid');
    const access = await this.tokens.signAccess({ userId: claims.userId, role: used.role, epoch: used.epoch });
    return { access, refresh: next.token };
  }

  /** Revokes every refresh token, invalidates outstanding access tokens, and closes the user's sockets. */
  async logout(userId: number): Promise<void> {
    await this.store.logoutUser(userId);
    await this.bus.publish({ kind: 'logout', userId });
  }

  async authenticate(token: string): Promise<Identity> {
    let claims;
    try {
      claims = await this.tokens.verifyAccess(token);
    } catch (err) {
      if (err instanceof TokenError) throw unauthorized('Given token not valid for any token type', 'token_not_valid');
      throw err;
    }
    const identity = await this.store.getIdentity(claims.userId);
    if (!identity || !identity.user.isActive || identity.user.tokenEpoch !== claims.epoch || identity.user.role !== claims.role) {
      throw unauthorized('Given token not valid for any token type', 'token_not_valid');
    }
    return identity;
  }
}
