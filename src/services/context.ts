// What every service verb works with: the two ports, the fan-out, a clock, and the per-process routing lock.
import type { Bus, CustomerCard, RepCard } from '../bus/port.ts';
import type { Router, QueueEntry } from '../routing/port.ts';
import type { Store } from '../store/port.ts';
import type { Conversation, RepProfile } from '../domain/types.ts';
import type { RepSlot } from '../domain/policy.ts';

/** Runs routing transitions of this process one at a time; across instances the store decides. */
export class SerialLock {
  private tail: Promise<unknown> = Promise.resolve();

  run<T>(fn: () => Promise<T>): Promise<T> {
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
  async repCard(repId: number): Promise<RepCard | null> {
    const cached = this.repCards.get(repId);
    if (cached) return cached;
    const rep = await this.store.getRep(repId);
    if (!rep) return null;
    const card = { id: rep.id, userId: rep.userId, username: rep.user.username, firstName: rep.user.firstName };
    this.repCards.set(repId, card);
    return card;
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
