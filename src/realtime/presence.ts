// Presence and abandonment timers: a watched rep with no agent socket past REP_GRACE_MS goes offline
// (its chats requeue); a queued customer with no socket past CUSTOMER_GRACE_MS abandons.
import type { FastifyBaseLogger } from 'fastify';
import type { ServiceContext } from '../services/context.ts';
import { requeueRep } from '../services/reps.ts';
import { abandonConversation } from '../services/abandon.ts';

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

export class LocalPresence implements PresenceTracker {
  private readonly repTimers = new Map<number, NodeJS.Timeout>();
  private readonly customerTimers = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  private sweeper: NodeJS.Timeout | undefined;
  private readonly work = new InFlight();

  constructor(
    private readonly ctx: ServiceContext,
    private readonly opts: PresenceOptions,
    private readonly log: FastifyBaseLogger,
  ) {}

  repConnected(repId: number): void {
    clearTimeout(this.repTimers.get(repId));
    this.repTimers.delete(repId);
  }

  repDisconnected(repId: number): void {
    if (this.stopped || this.repTimers.has(repId)) return;
    const timer = setTimeout(() => {
      this.repTimers.delete(repId);
      if (this.stopped || this.opts.repHasSocket(repId)) return;
      this.work.track(
        requeueRep(this.ctx, repId, () => !this.opts.repHasSocket(repId)).catch((err) => this.log.error({ err, repId }, 'presence requeue failed')),
      );
    }, this.opts.repGraceMs);
    timer.unref();
    this.repTimers.set(repId, timer);
  }

  customerBack(conversationId: string): void {
    clearTimeout(this.customerTimers.get(conversationId));
    this.customerTimers.delete(conversationId);
  }

  customerLeft(conversationId: string): void {
    if (this.stopped || this.customerTimers.has(conversationId)) return;
    const timer = setTimeout(() => {
      this.customerTimers.delete(conversationId);
      if (this.stopped || this.opts.customerHasSocket(conversationId)) return;
      this.work.track(
        abandonConversation(this.ctx, conversationId, () => !this.opts.customerHasSocket(conversationId)).catch((err) =>
          this.log.error({ err, conversationId }, 'abandon failed'),
        ),
      );
    }, this.opts.customerGraceMs);
    timer.unref();
    this.customerTimers.set(conversationId, timer);
  }

  /** After a start, nobody is connected yet: every watched rep and queued customer gets a full grace period. */
  async bootstrap(): Promise<void> {
    const snap = await this.ctx.store.routingSnapshot();
    for (const rep of snap.reps) if (rep.watched && rep.status !== 'offline') this.repDisconnected(rep.id);
    for (const c of snap.queue) this.customerLeft(c.id);
    // A conversation can also be queued with no socket at all (POST /queue/): its grace starts when seen.
    this.sweeper = setInterval(() => {
      this.ctx.router
        .queue()
        .then((queue) => {
          for (const e of queue) if (!this.opts.customerHasSocket(e.conversationId)) this.customerLeft(e.conversationId);
        })
        .catch(() => undefined);
    }, 1000);
    this.sweeper.unref();
  }

  idle(): Promise<void> {
    return this.work.idle();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.sweeper);
    for (const t of this.repTimers.values()) clearTimeout(t);
    for (const t of this.customerTimers.values()) clearTimeout(t);
    this.repTimers.clear();
    this.customerTimers.clear();
  }
}
