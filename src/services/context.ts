// What every service verb works with: the two ports, the fan-out, a clock, and the per-process routing lock.
import type { Bus, BusEvent, CustomerCard, RepCard } from '../bus/port.ts';
import type { Router, QueueEntry } from '../routing/port.ts';
import type { Store } from '../store/port.ts';
import type { Conversation, RepProfile } from '../domain/types.ts';
import type { RepSlot } from '../domain/policy.ts';

/** Runs routing transitions of this process one at a time; across instances the store decides. */
export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve();
  /** How many runs were ever queued: work that joins a queued run may do so only while this is unchanged. */
  queuedRuns = 0;

  run<T>(fn: () => Promise<T>): Promise<T> {
    this.queuedRuns++;
    const result = this.tail.then(fn, fn);
    this.tail = result.catch(() => undefined);
    return result;
  }
}

export class ServiceContext {
  readonly lock = new SerialLock();
  private readonly repCards = new Map<number, RepCard>();
  private readonly customerCards = new Map<number, CustomerCard>();

  constructor(
    readonly store: Store,
    readonly router: Router,
    readonly bus: Bus,
    readonly now: () => number = Date.now,
  ) {}

  /** Names never change, so a rep's card is looked up once per process. */
  private readonly gapListeners = new Set<(err: unknown) => void>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private closed = false;

  /**
   * Publishes an event whose cause is already committed. A failure is a fan-out gap, never the caller's
   * error (a stored message is a sent message): this instance catches up at once, and a `resync` is
   * published, retried until the fan-out works again, so that every other instance catches up too.
   */
  async publish(event: BusEvent): Promise<void> {
    try {
      await this.bus.publish(event);
    } catch (err) {
      this.noteFanoutGap(err);
    }
  }

  /** Where failures that no caller can act on are logged (the app sets it). */
  reportError: (err: unknown, what: string) => void = () => undefined;

  /** Listeners (the gateway) catch this instance's sockets up after a publish was lost. */
  onFanoutGap(listener: (err: unknown) => void): () => void {
    this.gapListeners.add(listener);
    return () => this.gapListeners.delete(listener);
  }

  /** An event after a commit was lost: catch up here, and ask every instance to (see publish). */
  noteFanoutGap(err: unknown): void {
    this.reportError(err, 'a publish after its commit failed: a fan-out gap');
    for (const l of this.gapListeners) l(err);
    if (this.resyncTimer || this.closed) return;
    let delay = 50;
    const retry = () => {
      this.bus.publish({ kind: 'resync' }).then(
        () => (this.resyncTimer = undefined),
        () => {
          if (this.closed) return;
          delay = Math.min(delay * 2, 2000);
          this.resyncTimer = setTimeout(retry, delay);
          this.resyncTimer.unref();
        },
      );
    };
    this.resyncTimer = setTimeout(retry, delay);
    this.resyncTimer.unref();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.resyncTimer);
  }

  /** A user with no socket left on this instance needs no cached card (they would pile up forever). */
  forgetCards(ids: { repId?: number; customerId?: number }): void {
    if (ids.repId !== undefined) this.repCards.delete(ids.repId);
    if (ids.customerId !== undefined) this.customerCards.delete(ids.customerId);
  }

  cachedCards(): { reps: number; customers: number } {
    return { reps: this.repCards.size, customers: this.customerCards.size };
  }

  async repCard(repId: number): Promise<RepCard | null> {
    const cached = this.repCards.get(repId);
    if (cached) return cached;
    const rep = await this.store.getRep(repId);
    if (!rep) return null;
    const card = { id: rep.id, userId: rep.userId, username: rep.user.username, firstName: rep.user.firstName };
    this.repCards.set(repId, card);
    return card;
  }

  /**
   * A customer's socket here already knows its card (from the identity behind its token): its assignment then
   * reads nothing. Forgotten with the user's last socket, like a looked-up card.
   */
  knowCustomer(card: CustomerCard): void {
    this.customerCards.set(card.id, card);
  }

  async customerCard(customerId: number): Promise<CustomerCard | null> {
    const cached = this.customerCards.get(customerId);
    if (cached) return cached;
    const c = await this.store.getCustomer(customerId);
    if (!c) return null;
    const card = { id: c.profile.id, userId: c.user.id, username: c.user.username };
    this.customerCards.set(customerId, card);
    return card;
  }
}

export function entryOf(c: Conversation): QueueEntry {
  return {
    conversationId: c.id,
    queueSeq: c.queueSeq ?? 0,
    customerId: c.customerId,
    queuedAt: c.queuedAt ?? c.createdAt,
    version: c.version,
  };
}

export function slotOf(r: RepProfile): RepSlot {
  return { repId: r.id, status: r.status, load: r.load, maxCapacity: r.maxCapacity, lastAssignedAt: r.lastAssignedAt };
}
