// Presence shared by all instances through Redis: each instance keeps a last-seen time for the reps and
// customers it holds sockets for (refreshed every second, and stamped at disconnect), and every instance
// sweeps: a watched rep unseen for REP_GRACE_MS goes offline (its chats requeue), a queued customer unseen
// for CUSTOMER_GRACE_MS abandons. A killed instance simply stops refreshing, so its users expire too.
// Both outcomes are conditional updates in the store, so two instances sweeping at once is harmless.
import type { FastifyBaseLogger } from 'fastify';
import type { Cluster, Redis } from 'ioredis';
import type { ServiceContext } from '../services/context.ts';
import { requeueRep } from '../services/reps.ts';
import { abandonConversation } from '../services/abandon.ts';
import { InFlight, type PresenceOptions, type PresenceTracker } from './presence.ts';

/** Stamps must come several times per grace period, or a short grace would expire live users. */
export function presenceIntervals(repGraceMs: number, customerGraceMs: number): { refreshMs: number; sweepMs: number } {
  const grace = Math.min(repGraceMs, customerGraceMs);
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.floor(v)));
  return { refreshMs: clamp(grace / 4, 50, 1000), sweepMs: clamp(grace / 8, 25, 250) };
}

export class RedisPresence implements PresenceTracker {
  private readonly repKey: string;
  private readonly convKey: string;
  private refreshTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private sweeping = false;
  private lastPrune = 0;
  private stopped = false;
  private readonly work = new InFlight();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly redis: Redis | Cluster,
    prefix: string,
    private readonly opts: PresenceOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.repKey = `${prefix}:{sb}:presence:rep`;
    this.convKey = `${prefix}:{sb}:presence:conv`;
  }

  private touch(key: string, member: string | number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    // GT: a later time from another instance is never moved back.
    return this.redis
      .zadd(key, 'GT', Date.now(), String(member))
      .then(() => undefined)
      .catch((err) => this.log.warn({ err }, 'presence touch failed'));
  }

  /** A sweep re-reads this after reading the presence generation, so a return stamped here first is always seen. */
  private async expired(key: string, member: string, graceMs: number): Promise<boolean> {
    const score = await this.redis.zscore(key, member);
    return score !== null && Date.now() - Number(score) >= graceMs;
  }

  repConnected(repId: number): Promise<void> {
    return this.touch(this.repKey, repId);
  }

  repDisconnected(repId: number): void {
    this.touch(this.repKey, repId);
  }

  customerBack(conversationId: string): Promise<void> {
    return this.touch(this.convKey, conversationId);
  }

  customerLeft(conversationId: string): void {
    this.touch(this.convKey, conversationId);
  }

  async bootstrap(): Promise<void> {
    const { refreshMs, sweepMs } = presenceIntervals(this.opts.repGraceMs, this.opts.customerGraceMs);
    this.refreshTimer = setInterval(() => this.refresh(), refreshMs);
    this.refreshTimer.unref();
    this.sweepTimer = setInterval(() => {
      if (this.sweeping || this.stopped) return;
      this.sweeping = true;
      this.sweepOnce()
        .catch((err) => this.log.warn({ err }, 'presence sweep failed'))
        .finally(() => (this.sweeping = false));
    }, sweepMs);
    this.sweepTimer.unref();
  }

  private refresh(): void {
    if (this.stopped) return;
    const now = Date.now();
    const pipe = this.redis.pipeline();
    let n = 0;
    for (const repId of this.opts.localReps()) {
      pipe.zadd(this.repKey, 'GT', now, String(repId));
      n++;
    }
    for (const convId of this.opts.localCustomerConversations()) {
      pipe.zadd(this.convKey, 'GT', now, convId);
      n++;
    }
    if (n > 0) pipe.exec().catch((err) => this.log.warn({ err }, 'presence refresh failed'));
  }

  /** Missing means never seen since the last rebuild or flush: the grace period starts now (NX). */
  private async lastSeen(key: string, members: string[], now: number): Promise<Array<number>> {
    if (members.length === 0) return [];
    const scores = await this.redis.zmscore(key, ...members);
    const missing = members.filter((_, i) => scores[i] === null);
    if (missing.length > 0) await this.redis.zadd(key, 'NX', ...missing.flatMap((m) => [now, m]));
    return scores.map((s) => (s === null ? now : Number(s)));
  }

  /** One sweep; SIGTERM's drain waits for it (see idle). */
  sweepOnce(): Promise<void> {
    const run = this.sweep();
    this.work.track(run);
    return run;
  }

  idle(): Promise<void> {
    return this.work.idle();
  }

  private async sweep(): Promise<void> {
    if (this.stopped) return;
    const now = Date.now();
    const local = new Set(this.opts.localReps());
    const reps = (await this.ctx.store.listReps()).filter((r) => r.watched && r.status !== 'offline' && !local.has(r.id));
    const repSeen = await this.lastSeen(this.repKey, reps.map((r) => String(r.id)), now);
    for (let i = 0; i < reps.length; i++) {
      if (now - repSeen[i] < this.opts.repGraceMs || this.stopped) continue;
      const id = String(reps[i].id);
      const gone = await requeueRep(this.ctx, reps[i].id, async () => !this.opts.repHasSocket(reps[i].id) && (await this.expired(this.repKey, id, this.opts.repGraceMs)));
      if (gone) await this.redis.zrem(this.repKey, id);
    }

    const localConvs = new Set(this.opts.localCustomerConversations());
    const queued = (await this.ctx.router.queue()).map((e) => e.conversationId).filter((id) => !localConvs.has(id));
    const convSeen = await this.lastSeen(this.convKey, queued, now);
    for (let i = 0; i < queued.length; i++) {
      if (now - convSeen[i] < this.opts.customerGraceMs || this.stopped) continue;
      const id = queued[i];
      const stillGone = async () => !this.opts.customerHasSocket(id) && (await this.expired(this.convKey, id, this.opts.customerGraceMs));
      if (await abandonConversation(this.ctx, id, stillGone)) await this.redis.zrem(this.convKey, id);
    }
    // Entries of conversations long gone would otherwise pile up.
    if (now - this.lastPrune > 60_000) {
      this.lastPrune = now;
      const horizon = now - Math.max(3_600_000, 2 * this.opts.customerGraceMs, 2 * this.opts.repGraceMs);
      await this.redis.zremrangebyscore(this.convKey, '-inf', horizon);
    }
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    clearInterval(this.sweepTimer);
  }
}
