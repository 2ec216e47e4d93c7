// Presence: a watched rep with no agent socket past REP_GRACE_MS goes offline (its chats requeue); a queued
// customer with no socket past CUSTOMER_GRACE_MS abandons. Sweeps read only what has expired (presence-sweep.ts).
import type { FastifyBaseLogger } from 'fastify';
import type { ServiceContext } from '../services/context.ts';
import { MemoryLastSeen } from './last-seen.ts';
import { PresenceSweeper, SWEEP_MODE } from './presence-sweep.ts';

/** What the gateway tells presence; implemented by in-process timers or by Redis-shared last-seen times. */
export interface PresenceTracker {
  /** Resolves once the return is recorded where sweeps look (before the store's presence generation moves). */
  repConnected(repId: number): void | Promise<void>;
  repDisconnected(repId: number): void;
  customerBack(conversationId: string): void | Promise<void>;
  customerLeft(conversationId: string): void;
  bootstrap(): Promise<void>;
  stop(): void;
  /** Resolves when the requeues and abandons it started have finished (SIGTERM waits for them). */
  idle(): Promise<void>;
}

/** The presence-triggered work in flight, so that a drain can wait for it. */
export class InFlight {
  private readonly running = new Set<Promise<unknown>>();

  track(work: Promise<unknown>): void {
    const p = work.catch(() => undefined).finally(() => this.running.delete(p));
    this.running.add(p);
  }

  async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all([...this.running]);
  }
}

export interface PresenceOptions {
  repGraceMs: number;
  customerGraceMs: number;
  /** Asked again when a timer fires: a socket may have come back on this instance. */
  repHasSocket: (repId: number) => boolean;
  customerHasSocket: (conversationId: string) => boolean;
  /** Reps with an agent socket, and conversations with a customer socket, on this instance. */
  localReps: () => Iterable<number>;
  localCustomerConversations: () => Iterable<string>;
}

export type PresenceFactory = (ctx: ServiceContext, opts: PresenceOptions, log: FastifyBaseLogger) => PresenceTracker;

/** Stamps must come several times per grace period, or a short grace would expire live users. */
export function presenceIntervals(repGraceMs: number, customerGraceMs: number): { refreshMs: number; sweepMs: number } {
  const grace = Math.min(repGraceMs, customerGraceMs);
  const clamp = (v: number, lo: number, hi: number) => Math.max(lo, Math.min(hi, Math.floor(v)));
  return { refreshMs: clamp(grace / 4, 50, 1000), sweepMs: clamp(grace / 8, 25, 250) };
}

/** Runs a sweep every `sweepMs`, one at a time; the drain waits for the one in flight. */
export class SweepTimer {
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly sweeper: PresenceSweeper,
    private readonly work: InFlight,
    private readonly log: FastifyBaseLogger,
  ) {}

  start(sweepMs: number): void {
    this.timer = setInterval(() => void this.sweepOnce(), sweepMs);
    this.timer.unref();
  }

  /** One sweep (none when one is running); SIGTERM's drain waits for it. */
  sweepOnce(): Promise<void> {
    if (this.sweeping || this.sweeper.stopped) return Promise.resolve();
    this.sweeping = true;
    const run = this.sweeper
      .sweep()
      .catch((err) => this.log.warn({ err }, 'presence sweep failed'))
      .finally(() => (this.sweeping = false));
    this.work.track(run);
    return run;
  }

  stop(): void {
    this.sweeper.stopped = true;
    clearInterval(this.timer);
  }
}

/**
 * One process: the times at which reps and customers left, in ordered sets (a socket's return forgets its
 * member). The sweep reads only those past their grace period.
 */
export class LocalPresence implements PresenceTracker {
  private readonly reps = new MemoryLastSeen();
  private readonly convs = new MemoryLastSeen();
  private readonly work = new InFlight();
  private readonly timer: SweepTimer;

  constructor(
    ctx: ServiceContext,
    private readonly opts: PresenceOptions,
    log: FastifyBaseLogger,
  ) {
    const sweeper = new PresenceSweeper(ctx, this.reps, this.convs, { ...opts, ...SWEEP_MODE.local }, log);
    this.timer = new SweepTimer(sweeper, this.work, log);
  }

  async repConnected(repId: number): Promise<void> {
    await this.reps.remove(String(repId));
  }

  repDisconnected(repId: number): void {
    void this.reps.seed([String(repId)], Date.now());
  }

  async customerBack(conversationId: string): Promise<void> {
    await this.convs.remove(conversationId);
  }

  customerLeft(conversationId: string): void {
    void this.convs.seed([conversationId], Date.now());
  }

  /** After a start nobody is connected yet: watched reps and queued customers get a grace period from the first sweep. */
  async bootstrap(): Promise<void> {
    this.timer.start(presenceIntervals(this.opts.repGraceMs, this.opts.customerGraceMs).sweepMs);
  }

  sweepOnce(): Promise<void> {
    return this.timer.sweepOnce();
  }

  idle(): Promise<void> {
    return this.work.idle();
  }

  stop(): void {
    this.timer.stop();
  }
}
