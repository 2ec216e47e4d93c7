// The SQL store, part one: the connection, accounts, refresh-token families and rep profiles.
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Database } from './schema.ts';
import type { AppendMessage, AppendResult, NewUser, RotateResult, UserQuery, UsernameClash, UserWithHash, UserWithProfile } from './port.ts';
import { UsernameTaken } from './port.ts';
import type { Identity, RepStatus, RepWithUser, Role, User } from '../domain/types.ts';
import { isUniqueViolation, toRep, toUser } from './sql-rows.ts';
import { canonicalUsername } from '../domain/usernames.ts';
import { prepare } from './prepared.ts';

/** The identity behind a token: every authenticated request and socket reads it. */
const identityQuery = (root: Kysely<Database>) =>
  prepare(root, (db, userId: number) =>
    db
      .selectFrom('users as u')
      .leftJoin('customer_profiles as c', 'c.user_id', 'u.id')
      .leftJoin('rep_profiles as r', 'r.user_id', 'u.id')
      .selectAll('u')
      .select([
        'c.id as c_id',
        'c.phone_number as c_phone_number',
        'r.id as r_id',
        'r.max_capacity as r_max_capacity',
        'r.status as r_status',
        'r.load as r_load',
        'r.last_assigned_at as r_last_assigned_at',
        'r.watched as r_watched',
        'r.offline_reason as r_offline_reason',
        'r.presence_gen as r_presence_gen',
      ])
      .where('u.id', '=', userId),
  );

export class SqlAccountStore {
  private readonly identityQuery: ReturnType<typeof identityQuery>;

  constructor(
    readonly db: Kysely<Database>,
    readonly dialect: 'sqlite' | 'postgres',
    protected readonly onClose: () => Promise<void> = async () => {},
    /** The dialect's group-committing writer for chat messages. */
    protected readonly messageWriter?: { append(m: AppendMessage): Promise<AppendResult> },
  ) {
    this.identityQuery = identityQuery(db);
  }

  async ping(): Promise<void> {
    await sql`select 1`.execute(this.db);
  }

  async close(): Promise<void> {
    await this.onClose();
    await this.db.destroy();
  }

  // ---- accounts

  protected async insertUser(trx: Transaction<Database>, u: NewUser, role: Role): Promise<User> {
    try {
      const row = await trx
        .insertInto('users')
        .values({
          username: u.username,
          // Unique: a second spelling of a taken name ("Admin", "ａｄｍｉｎ") is a unique violation like the name itself.
          username_key: canonicalUsername(u.username),
          email: u.email,
          first_name: u.firstName,
          last_name: u.lastName,
          password_hash: u.passwordHash,
          role,
          created_at: Date.now(),
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toUser(row);
    } catch (err) {
      if (isUniqueViolation(err)) throw new UsernameTaken();
      throw err;
    }
  }

  protected async withUniqueCheck<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      // PostgreSQL reports the violation on the insert; a concurrent commit can surface it at COMMIT too.
      if (isUniqueViolation(err)) throw new UsernameTaken();
      throw err;
    }
  }

  createCustomer(u: NewUser, phoneNumber: number) {
    return this.withUniqueCheck(() =>
      this.db.transaction().execute(async (trx) => {
        const user = await this.insertUser(trx, u, 'customer');
        const p = await trx.insertInto('customer_profiles').values({ user_id: user.id, phone_number: phoneNumber }).returningAll().executeTakeFirstOrThrow();
        return { user, profile: { id: Number(p.id), userId: user.id, phoneNumber: Number(p.phone_number) } };
      }),
    );
  }

  createRep(u: NewUser, maxCapacity: number) {
    return this.withUniqueCheck(() =>
      this.db.transaction().execute(async (trx) => {
        const user = await this.insertUser(trx, u, 'rep');
        const p = await trx
          .insertInto('rep_profiles')
          .values({ user_id: user.id, max_capacity: maxCapacity, status: 'online' })
          .returningAll()
          .executeTakeFirstOrThrow();
        return { user, profile: toRep(p) };
      }),
    );
  }

  createAdmin(u: NewUser) {
    return this.withUniqueCheck(() => this.db.transaction().execute((trx) => this.insertUser(trx, u, 'admin')));
  }

  async findUserByUsername(username: string): Promise<UserWithHash | undefined> {
    // The exact name first: a user whose name clashed (no key) is found by it, not by the older holder of the key.
    const row = await this.db
      .selectFrom('users')
      .selectAll()
      .where((eb) => eb.or([eb('username', '=', username), eb('username_key', '=', canonicalUsername(username))]))
      .orderBy(sql`case when username = ${username} then 0 else 1 end`)
      .limit(1)
      .executeTakeFirst();
    return row ? { ...toUser(row), passwordHash: row.password_hash } : undefined;
  }

  async listUsernameClashes(): Promise<UsernameClash[]> {
    const rows = await this.db
      .selectFrom('username_clashes as c')
      .innerJoin('users as u', 'u.id', 'c.user_id')
      .selectAll('u')
      .select(['c.kept_user_id', 'c.username_key as clash_key', 'c.found_at'])
      .orderBy('c.user_id')
      .execute();
    return rows.map((r) => ({ user: toUser(r), keptUserId: Number(r.kept_user_id), usernameKey: r.clash_key, foundAt: Number(r.found_at) }));
  }

  /** One round trip: every authenticated request and socket asks it. */
  async getIdentity(userId: number): Promise<Identity | undefined> {
    const row = (await this.identityQuery(this.db, userId)).rows[0];
    if (!row) return undefined;
    const user = toUser(row);
    if (user.role === 'customer' && row.c_id !== null) {
      return { user, customer: { id: Number(row.c_id), userId, phoneNumber: Number(row.c_phone_number) } };
    }
    if (user.role === 'rep' && row.r_id !== null) {
      const rep = toRep({
        id: row.r_id,
        user_id: userId,
        max_capacity: row.r_max_capacity!,
        status: row.r_status!,
        load: row.r_load!,
        last_assigned_at: row.r_last_assigned_at,
        watched: row.r_watched!,
        offline_reason: row.r_offline_reason,
        presence_gen: row.r_presence_gen ?? 0,
      });
      return { user, rep };
    }
    return { user };
  }

  async getCustomer(customerId: number) {
    const r = await this.db
      .selectFrom('customer_profiles as p')
      .innerJoin('users as u', 'u.id', 'p.user_id')
      .selectAll('u')
      .select(['p.id as profile_id', 'p.phone_number'])
      .where('p.id', '=', customerId)
      .executeTakeFirst();
    if (!r) return undefined;
    const user = toUser(r);
    return { profile: { id: Number(r.profile_id), userId: user.id, phoneNumber: Number(r.phone_number) }, user };
  }

  async bumpTokenEpoch(userId: number): Promise<void> {
    await this.db.updateTable('users').set({ token_epoch: sql`token_epoch + 1` }).where('id', '=', userId).execute();
  }

  protected usersWithProfileQuery() {
    return this.db
      .selectFrom('users as u')
      .leftJoin('customer_profiles as c', 'c.user_id', 'u.id')
      .leftJoin('rep_profiles as r', 'r.user_id', 'u.id')
      .selectAll('u')
      .select(['c.id as c_id', 'r.id as r_id']);
  }

  private toUserWithProfile(row: any): UserWithProfile {
    const profileId = row.c_id ?? row.r_id;
    return { user: toUser(row), profileId: profileId === null || profileId === undefined ? null : Number(profileId) };
  }

  async listUsers(query: UserQuery): Promise<UserWithProfile[]> {
    let q = this.usersWithProfileQuery();
    if (query.role) q = q.where('u.role', '=', query.role);
    if (query.q) {
      // LIKE's wildcards in the search text match themselves.
      const pattern = `%${query.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const like = (col: string) => sql<boolean>`lower(${sql.ref(col)}) like ${pattern} escape '\\'`;
      // The canonical name too, so that "ＡＤＭ" finds "admin" as login would.
      const keyPattern = `%${canonicalUsername(query.q).replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
      const keyLike = sql<boolean>`u.username_key like ${keyPattern} escape '\\'`;
      q = q.where((eb) => eb.or([like('u.username'), like('u.email'), like('u.first_name'), like('u.last_name'), keyLike]));
    }
    const rows = await q.orderBy('u.id').limit(query.limit).offset(query.offset).execute();
    return rows.map((r) => this.toUserWithProfile(r));
  }

  async getUserWithProfile(userId: number): Promise<UserWithProfile | undefined> {
    const row = await this.usersWithProfileQuery().where('u.id', '=', userId).executeTakeFirst();
    return row ? this.toUserWithProfile(row) : undefined;
  }

  async setUserActive(userId: number, active: boolean): Promise<User | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx
        .updateTable('users')
        .set({ is_active: active ? 1 : 0, token_epoch: sql`token_epoch + 1` })
        .where('id', '=', userId)
        .returningAll()
        .executeTakeFirst();
      if (!row) return undefined;
      await trx.updateTable('refresh_tokens').set({ revoked: 1 }).where('user_id', '=', userId).execute();
      return toUser(row);
    });
  }

  async setPasswordHash(userId: number, passwordHash: string): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      const r = await trx
        .updateTable('users')
        .set({ password_hash: passwordHash, token_epoch: sql`token_epoch + 1` })
        .where('id', '=', userId)
        .executeTakeFirst();
      if (Number(r.numUpdatedRows) === 0) return false;
      await trx.updateTable('refresh_tokens').set({ revoked: 1 }).where('user_id', '=', userId).execute();
      return true;
    });
  }

  // ---- refresh tokens

  async insertRefreshToken(t: { jti: string; familyId: string; userId: number; expiresAt: number }): Promise<void> {
    await this.db.insertInto('refresh_tokens').values({ jti: t.jti, family_id: t.familyId, user_id: t.userId, expires_at: t.expiresAt }).execute();
  }

  async consumeRefreshToken(jti: string, now: number) {
    const used = await this.db
      .updateTable('refresh_tokens')
      .set({ used_at: now })
      .where('jti', '=', jti)
      .where('used_at', 'is', null)
      .where('revoked', '=', 0)
      .where('expires_at', '>', now)
      .returning(['family_id', 'user_id'])
      .executeTakeFirst();
    if (used) return { kind: 'ok' as const, familyId: used.family_id, userId: Number(used.user_id) };
    const row = await this.db
      .selectFrom('refresh_tokens')
      .select(['family_id', 'user_id', 'used_at', 'revoked'])
      .where('jti', '=', jti)
      .executeTakeFirst();
    if (!row) return { kind: 'unknown' as const };
    const replayed = row.used_at !== null || Number(row.revoked) !== 0;
    return { kind: replayed ? ('reused' as const) : ('expired' as const), familyId: row.family_id, userId: Number(row.user_id) };
  }

  /**
   * Consumes a refresh token and stores its successor in one transaction that holds the user's row, so that a
   * logout (which takes the same row first, see logoutUser) is either wholly before it (the token is revoked:
   * nothing is minted) or wholly after it (the successor is revoked and the epoch read here is stale).
   */
  async rotateRefreshToken(jti: string, now: number, next: { jti: string; familyId: string; userId: number; expiresAt: number }): Promise<RotateResult> {
    return this.db.transaction().execute(async (trx) => {
      let userQuery = trx.selectFrom('users').select(['token_epoch', 'role', 'is_active']).where('id', '=', next.userId);
      if (this.dialect === 'postgres') userQuery = userQuery.forUpdate();
      const user = await userQuery.executeTakeFirst();
      const used = await trx
        .updateTable('refresh_tokens')
        .set({ used_at: now })
        .where('jti', '=', jti)
        .where('user_id', '=', next.userId)
        .where('used_at', 'is', null)
        .where('revoked', '=', 0)
        .where('expires_at', '>', now)
        .returning(['family_id'])
        .executeTakeFirst();
      if (!used) {
        const row = await trx.selectFrom('refresh_tokens').select(['family_id', 'user_id', 'used_at', 'revoked']).where('jti', '=', jti).executeTakeFirst();
        if (!row) return { kind: 'unknown' as const };
        const replayed = row.used_at !== null || Number(row.revoked) !== 0;
        return { kind: replayed ? ('reused' as const) : ('expired' as const), familyId: row.family_id, userId: Number(row.user_id) };
      }
      if (!user || Number(user.is_active) === 0) return { kind: 'inactive' as const };
      await trx.insertInto('refresh_tokens').values({ jti: next.jti, family_id: next.familyId, user_id: next.userId, expires_at: next.expiresAt }).execute();
      return { kind: 'ok' as const, epoch: Number(user.token_epoch), role: user.role as Role };
    });
  }

  /** Logout: the user's row first (the lock rotateRefreshToken waits on), then every refresh token. */
  async logoutUser(userId: number): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      await trx.updateTable('users').set({ token_epoch: sql`token_epoch + 1` }).where('id', '=', userId).execute();
      await trx.updateTable('refresh_tokens').set({ revoked: 1 }).where('user_id', '=', userId).execute();
    });
  }

  async revokeFamily(familyId: string): Promise<void> {
    await this.db.updateTable('refresh_tokens').set({ revoked: 1 }).where('family_id', '=', familyId).execute();
  }

  async revokeUserTokens(userId: number): Promise<void> {
    await this.db.updateTable('refresh_tokens').set({ revoked: 1 }).where('user_id', '=', userId).execute();
  }

  // ---- reps

  protected repWithUserQuery() {
    return this.db
      .selectFrom('rep_profiles as r')
      .innerJoin('users as u', 'u.id', 'r.user_id')
      .selectAll('r')
      .select(['u.username', 'u.email', 'u.first_name', 'u.last_name', 'u.role', 'u.token_epoch', 'u.password_hash', 'u.created_at', 'u.is_active']);
  }

  protected toRepWithUser(r: any): RepWithUser {
    return {
      ...toRep(r),
      user: toUser({ ...r, id: r.user_id }),
    };
  }

  async getRep(repId: number): Promise<RepWithUser | undefined> {
    const r = await this.repWithUserQuery().where('r.id', '=', repId).executeTakeFirst();
    return r ? this.toRepWithUser(r) : undefined;
  }

  async listReps(): Promise<RepWithUser[]> {
    const rows = await this.repWithUserQuery().orderBy('r.id').execute();
    return rows.map((r) => this.toRepWithUser(r));
  }

  /** For the metrics gauge: a count, not the whole list of reps. */
  async countOnlineReps(): Promise<number> {
    const row = await this.db.selectFrom('rep_profiles').select((eb) => eb.fn.countAll<number>().as('n')).where('status', '=', 'online').executeTakeFirst();
    return Number(row?.n ?? 0);
  }

  async updateRep(repId: number, patch: { status?: RepStatus; maxCapacity?: number; watched?: boolean; offlineReason?: 'manual' | 'presence' }) {
    const set: Record<string, unknown> = {};
    if (patch.status !== undefined) {
      set.status = patch.status;
      set.offline_reason = patch.status === 'offline' ? (patch.offlineReason ?? 'manual') : null;
    }
    if (patch.maxCapacity !== undefined) set.max_capacity = patch.maxCapacity;
    if (patch.watched !== undefined) set.watched = patch.watched ? 1 : 0;
    if (Object.keys(set).length === 0) {
      const r = await this.db.selectFrom('rep_profiles').selectAll().where('id', '=', repId).executeTakeFirst();
      return r ? toRep(r) : undefined;
    }
    const r = await this.db.updateTable('rep_profiles').set(set).where('id', '=', repId).returningAll().executeTakeFirst();
    return r ? toRep(r) : undefined;
  }
}
