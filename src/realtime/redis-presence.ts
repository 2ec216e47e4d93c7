// Presence shared by all instances through Redis: each instance keeps a last-seen time for the reps and
// customers it holds sockets for (refreshed every second, and stamped at disconnect), in sorted sets by
// time, and every instance sweeps what has expired (ZRANGEBYSCORE -inf..now-grace, a bounded batch): a
// watched rep unseen for REP_GRACE_MS goes offline (its chats requeue), a queued customer unseen for
// CUSTOMER_GRACE_MS abandons. A killed instance simply stops refreshing, so its users expire too.
// Both outcomes are conditional updates in the store, so two instances sweeping at once is harmless.
import type { FastifyBaseLogger } from 'fastify';
import type { ChainableCommander, Cluster, Redis } from 'ioredis';
import type { ServiceContext } from '../services/context.ts';
import { RedisLastSeen } from './last-seen.ts';
import { InFlight, presenceIntervals, SweepTimer, type PresenceOptions, type PresenceTracker } from './presence.ts';
import { PresenceSweeper, SWEEP_MODE } from './presence-sweep.ts';

export { presenceIntervals };

export class RedisPresence implements PresenceTracker {
  private readonly reps: RedisLastSeen;
  private readonly convs: RedisLastSeen;
  private refreshTimer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly work = new InFlight();
  private readonly timer: SweepTimer;

  constructor(
    ctx: ServiceContext,
    private readonly redis: Redis | Cluster,
    prefix: string,
    private readonly opts: PresenceOptions,
    private readonly log: FastifyBaseLogger,
  ) {
    this.reps = new RedisLastSeen(redis, `${prefix}:{sb}:presence:rep`);
    this.convs = new RedisLastSeen(redis, `${prefix}:{sb}:presence:conv`);
    const sweeper = new PresenceSweeper(ctx, this.reps, this.convs, { ...opts, ...SWEEP_MODE.shared }, log);
    this.timer = new SweepTimer(sweeper, this.work, log);
  }

  /** GT: a later time from another instance is never moved back. */
  private touch(set: RedisLastSeen, member: string | number): Promise<void> {
    if (this.stopped) return Promise.resolve();
    return set.touch(String(member), Date.now()).catch((err) => this.log.warn({ err }, 'presence touch failed'));
  }

  repConnected(repId: number): Promise<void> {
    return this.touch(this.reps, repId);
  }

  repDisconnected(repId: number): void {
    void this.touch(this.reps, repId);
  }

  customerBack(conversationId: string): Promise<void> {
    return this.touch(this.convs, conversationId);
  }

  customerLeft(conversationId: string): void {
    void this.touch(this.convs, conversationId);
  }

  async bootstrap(): Promise<void> {
    const { refreshMs, sweepMs } = presenceIntervals(this.opts.repGraceMs, this.opts.customerGraceMs);
    this.refreshTimer = setInterval(() => this.refresh(), refreshMs);
    this.refreshTimer.unref();
    this.timer.start(sweepMs);
  }

  /**
   * Every member this instance holds, restamped: one ZADD per REFRESH_CHUNK members rather than one per member
   * (an instance holding thousands of waiting customers sent thousands of commands a second).
   */
  private refresh(): void {
    if (this.stopped) return;
    const now = Date.now();
    const pipe = this.redis.pipeline();
    const n = restamp(pipe, this.reps.key, now, Array.from(this.opts.localReps(), String)) + restamp(pipe, this.convs.key, now, this.opts.localCustomerConversations());
    if (n > 0) pipe.exec().catch((err) => this.log.warn({ err }, 'presence refresh failed'));
  }

  /** One sweep; SIGTERM's drain waits for it (see idle). */
  sweepOnce(): Promise<void> {
    return this.timer.sweepOnce();
  }

  idle(): Promise<void> {
    return this.work.idle();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.refreshTimer);
    this.timer.stop();
  }
}

/** Members per ZADD of a refresh: large enough to cost one command per chunk, small enough not to stall Redis. */
export const REFRESH_CHUNK = 500;

/** Queues ZADD GT of `members` at `at`, REFRESH_CHUNK at a time; returns the number of commands queued. */
export function restamp(pipe: ChainableCommander, key: string, at: number, members: Iterable<string>): number {
  let commands = 0;
  let args: Array<string | number> = [];
  const flush = () => {
    pipe.zadd(key, 'GT', ...args);
    commands++;
    args = [];
  };
  for (const m of members) {
    args.push(at, m);
    if (args.length === REFRESH_CHUNK * 2) flush();
  }
  if (args.length > 0) flush();
  return commands;
}
