// The in-process Router: the queue in blocks by queue_seq (seq-blocks.ts: rank and select in O(log n),
// insert and remove shifting one block), the wait order in a ranked set, reps in a map. One process only.
import { pickRep, type RepSlot } from '../domain/policy.ts';
import type { RoutingSnapshot } from '../domain/types.ts';
import type { Admission, Proposal, QueueDigest, QueueEntry, QueuePage, QueuePlace, QueueStats, RejectFix, Router, RouterView, TransferResult } from './port.ts';
import { RankedSet } from './ranked-set.ts';
import { SeqBlocks } from './seq-blocks.ts';

const byQueuedAt = (a: QueueEntry, b: QueueEntry): number =>
  a.queuedAt - b.queuedAt || (a.conversationId < b.conversationId ? -1 : a.conversationId > b.conversationId ? 1 : 0);

/** How far above the store's floor a rebuilt router starts handing out queue_seqs. */
const SEQ_MARGIN = 1000;

interface Held {
  repId: number;
  entry: QueueEntry;
}

export class MemoryRouter implements Router {
  /** By queue_seq (equal ones, only from a snapshot without one, by id as a Redis sorted set does). */
  private readonly queueList = new SeqBlocks<QueueEntry>();
  /** The same entries by queued_at: a requeued entry keeps its place but its wait restarts. */
  private readonly waitOrder = new RankedSet<QueueEntry>(byQueuedAt);
  private readonly queued = new Map<string, QueueEntry>();
  /** Admitted, their enqueue not committed yet: counted in positions, never proposed. */
  private readonly pending = new Set<string>();
  /** The last queue_seq handed out by admit. */
  private lastSeq = 0;
  /** The sum of the confirmed (not pending) entries' queue_seqs: the digest the reconciler compares. */
  private seqSum = 0;
  private readonly held = new Map<string, Held>();
  private readonly reps = new Map<number, RepSlot>();
  /** Highest version seen per conversation: an older operation is a no-op (DESIGN R3). */
  private readonly versions = new Map<string, number>();
  /**
   * The last lastAssignedAt handed out or loaded. Stamps strictly increase, so that reps assigned
   * within the same millisecond still tie-break by who was assigned first (the policy's "idle longest").
   */
  private clock = 0;

  async rebuild(s: RoutingSnapshot): Promise<void> {
    this.queueList.clear();
    this.waitOrder.clear();
    this.queued.clear();
    this.pending.clear();
    this.seqSum = 0;
    this.held.clear();
    this.reps.clear();
    this.versions.clear();
    for (const r of s.reps) {
      this.reps.set(r.id, { repId: r.id, status: r.status, load: 0, maxCapacity: r.maxCapacity, lastAssignedAt: r.lastAssignedAt });
      this.noteStamp(r.lastAssignedAt);
    }
    for (const c of s.assigned) {
      if (c.repId === null) continue;
      const entry = { conversationId: c.id, queueSeq: c.queueSeq ?? 0, customerId: c.customerId, queuedAt: c.queuedAt ?? c.createdAt, version: c.version };
      this.held.set(c.id, { repId: c.repId, entry });
      const rep = this.reps.get(c.repId);
      if (rep) rep.load++;
      this.versions.set(c.id, c.version);
    }
    let last = s.queueSeqFloor;
    for (const c of s.queue) {
      this.insert({ conversationId: c.id, queueSeq: c.queueSeq ?? 0, customerId: c.customerId, queuedAt: c.queuedAt ?? c.createdAt, version: c.version });
      last = Math.max(last, c.queueSeq ?? 0);
    }
    // As in the Redis adapter: admissions not yet committed are above the store's floor, so later ones
    // start a margin above it (no two conversations share a queue_seq).
    this.lastSeq = Math.max(this.lastSeq, last + SEQ_MARGIN);
  }

  /** In-process operations are serialized by the services' routing lock, which the caller holds. */
  async rebuildFrom(read: () => Promise<RoutingSnapshot>): Promise<void> {
    await this.rebuild(await read());
  }

  private insert(entry: QueueEntry): void {
    if (this.queued.has(entry.conversationId)) return;
    this.queued.set(entry.conversationId, entry);
    this.versions.set(entry.conversationId, Math.max(entry.version, this.versions.get(entry.conversationId) ?? 0));
    // Placed by queue_seq: a requeued conversation goes back to its original place.
    this.queueList.add(entry);
    this.waitOrder.add(entry);
    this.seqSum += entry.queueSeq;
  }

  private unqueue(conversationId: string): QueueEntry | undefined {
    const entry = this.queued.get(conversationId);
    if (!entry) return undefined;
    this.queued.delete(conversationId);
    if (!this.pending.delete(conversationId)) this.seqSum -= entry.queueSeq;
    this.queueList.delete(entry);
    this.waitOrder.delete(entry);
    return entry;
  }

  private release(conversationId: string, repId?: number): void {
    const h = this.held.get(conversationId);
    if (!h || (repId !== undefined && h.repId !== repId)) return;
    this.held.delete(conversationId);
    const rep = this.reps.get(h.repId);
    if (rep && rep.load > 0) rep.load--;
  }

  private stamp(): number {
    this.clock = Math.max(Date.now(), this.clock + 1);
    return this.clock;
  }

  private noteStamp(at: number | null): void {
    if (at !== null && at > this.clock) this.clock = at;
  }

  private dispatch(excludeRep?: { conversationId: string; repId: number }): Proposal[] {
    const proposals: Proposal[] = [];
    let i = 0;
    for (;;) {
      const entry = this.queueList.at(i);
      if (!entry) break;
      // Admitted, not committed: the store would refuse it; it is offered once confirmed.
      if (this.pending.has(entry.conversationId)) {
        i++;
        continue;
      }
      const exclude = excludeRep && excludeRep.conversationId === entry.conversationId ? new Set([excludeRep.repId]) : undefined;
      const rep = pickRep(this.reps.values(), exclude);
      if (!rep) {
        // Nobody can take the head; only a head with an excluded rep lets a later entry go first.
        if (exclude) {
          i++;
          continue;
        }
        break;
      }
      this.unqueue(entry.conversationId);
      rep.load++;
      rep.lastAssignedAt = this.stamp();
      this.held.set(entry.conversationId, { repId: rep.repId, entry });
      proposals.push({ ...entry, repId: rep.repId });
    }
    return proposals;
  }

  private stale(entry: QueueEntry): boolean {
    return entry.version < (this.versions.get(entry.conversationId) ?? 0);
  }

  async admit(e: Omit<QueueEntry, 'queueSeq'>): Promise<Admission> {
    // Never below the tail: a new conversation must not jump the queue.
    const nextSeq = () => (this.lastSeq = Math.max(this.lastSeq, this.queueList.at(this.queueList.size - 1)?.queueSeq ?? 0) + 1);
    // The router disagrees with the store (held, or a newer version seen): no place; the store decides.
    if (this.held.has(e.conversationId) || this.stale({ ...e, queueSeq: 0 })) return { queueSeq: nextSeq(), position: 0 };
    let entry = this.queued.get(e.conversationId);
    if (!entry) {
      entry = { ...e, queueSeq: nextSeq() };
      this.insert(entry);
      this.pending.add(e.conversationId);
      this.seqSum -= entry.queueSeq;
    }
    return { queueSeq: entry.queueSeq, position: this.queueList.rank(entry) + 1 };
  }

  async confirm(conversationId: string): Promise<{ present: boolean; proposals: Proposal[] }> {
    const placed = this.queued.get(conversationId);
    if (placed && this.pending.delete(conversationId)) this.seqSum += placed.queueSeq;
    return { present: placed !== undefined, proposals: this.dispatch() };
  }

  async unadmit(conversationId: string, queueSeq?: number): Promise<boolean> {
    const placed = this.queued.get(conversationId);
    if (!placed || !this.pending.has(conversationId) || (queueSeq !== undefined && placed.queueSeq !== queueSeq)) return false;
    this.unqueue(conversationId);
    return true;
  }

  async enqueueAndDispatch(entry: QueueEntry): Promise<Proposal[]> {
    if (!this.stale(entry) && !this.held.has(entry.conversationId)) {
      const placed = this.queued.get(entry.conversationId);
      if (!placed) this.insert(entry);
      else if (this.pending.delete(entry.conversationId)) this.seqSum += placed.queueSeq;
    }
    return this.dispatch();
  }

  async releaseAndDispatch(conversationId: string, repId: number): Promise<Proposal[]> {
    this.unqueue(conversationId);
    this.release(conversationId, repId);
    // A closed conversation is forgotten, so the map does not grow with every one ever routed; a stale
    // operation on it is refused by the store (R1).
    this.versions.delete(conversationId);
    return this.dispatch();
  }

  async remove(conversationId: string, final = false): Promise<void> {
    this.unqueue(conversationId);
    this.release(conversationId);
    if (final) this.versions.delete(conversationId);
  }

  async transfer(conversationId: string, fromRepId: number, toRepId: number): Promise<TransferResult> {
    const h = this.held.get(conversationId);
    const to = this.reps.get(toRepId);
    if (!h || h.repId !== fromRepId || toRepId === fromRepId) return { ok: false, proposals: [], refused: 'conversation' };
    if (!to || to.status !== 'online' || to.load >= to.maxCapacity) return { ok: false, proposals: [], refused: 'rep' };
    this.release(conversationId, fromRepId);
    to.load++;
    to.lastAssignedAt = this.stamp();
    this.held.set(conversationId, { repId: toRepId, entry: h.entry });
    return { ok: true, proposals: this.dispatch() };
  }

  async requeue(entry: QueueEntry, fromRepId: number, excludeRep?: number): Promise<Proposal[]> {
    // A stale requeue is a no-op: releasing would drop a later hold of the same conversation.
    if (!this.stale(entry)) {
      this.release(entry.conversationId, fromRepId);
      this.insert(entry);
    }
    return this.dispatch(excludeRep === undefined ? undefined : { conversationId: entry.conversationId, repId: excludeRep });
  }

  async requeueRep(rep: RepSlot, entries: QueueEntry[]): Promise<Proposal[]> {
    for (const [id, h] of this.held) if (h.repId === rep.repId) this.release(id, rep.repId);
    this.reps.set(rep.repId, { ...rep, load: 0, lastAssignedAt: this.reps.get(rep.repId)?.lastAssignedAt ?? rep.lastAssignedAt });
    this.noteStamp(rep.lastAssignedAt);
    for (const e of entries) if (!this.stale(e)) this.insert(e);
    return this.dispatch();
  }

  async setRep(rep: RepSlot): Promise<Proposal[]> {
    const current = this.reps.get(rep.repId);
    this.reps.set(rep.repId, {
      ...rep,
      load: current ? current.load : rep.load,
      lastAssignedAt: current?.lastAssignedAt ?? rep.lastAssignedAt,
    });
    this.noteStamp(rep.lastAssignedAt);
    return this.dispatch();
  }

  async reject(p: Proposal, fix: RejectFix): Promise<Proposal[]> {
    this.release(p.conversationId, p.repId);
    if (fix.rep) {
      // The router's load counts proposals still in flight, so it is normally the higher one; a lower
      // one means the router missed an assignment, and re-offering the rep would only be refused again.
      const current = this.reps.get(fix.rep.repId);
      this.reps.set(fix.rep.repId, { ...fix.rep, load: current ? Math.max(current.load, fix.rep.load) : fix.rep.load });
      this.noteStamp(fix.rep.lastAssignedAt);
    }
    if (fix.requeue) {
      if (!this.stale(fix.requeue)) this.insert(fix.requeue);
    } else this.unqueue(p.conversationId);
    return this.dispatch();
  }

  async queue(page?: QueuePage): Promise<QueueEntry[]> {
    return page ? this.queueList.slice(page.offset, page.limit) : this.queueList.values();
  }

  async queuedAfter(afterSeq: number, limit: number): Promise<QueueEntry[]> {
    // Below every entry of queue_seq afterSeq + 1 (no id sorts before the empty one).
    const from = this.queueList.countBelow({ conversationId: '', queueSeq: afterSeq + 1 });
    return this.queueList.slice(from, limit);
  }

  async stats(): Promise<QueueStats> {
    return { length: this.queueList.size, oldestQueuedAt: this.waitOrder.at(0)?.queuedAt ?? null };
  }

  async position(conversationId: string): Promise<number> {
    const entry = this.queued.get(conversationId);
    return entry ? this.queueList.rank(entry) + 1 : 0;
  }

  async positions(conversationIds: string[]): Promise<QueuePlace[]> {
    return conversationIds.map((id) => {
      const entry = this.queued.get(id);
      return entry ? { position: this.queueList.rank(entry) + 1, queueSeq: entry.queueSeq } : { position: 0, queueSeq: null };
    });
  }

  async digest(): Promise<QueueDigest> {
    return { length: this.queueList.size - this.pending.size, seqSum: this.seqSum, pending: this.pending.size };
  }

  async inspect(opts: { queueLimit?: number } = {}): Promise<RouterView> {
    const queued = (opts.queueLimit === undefined ? this.queueList.values() : this.queueList.slice(0, opts.queueLimit)).map((e) => e.conversationId);
    return {
      queued,
      pending: opts.queueLimit === undefined ? [...this.pending] : queued.filter((id) => this.pending.has(id)),
      held: new Map([...this.held].map(([id, h]) => [id, h.repId])),
      reps: new Map([...this.reps].map(([id, r]) => [id, { status: r.status, maxCapacity: r.maxCapacity, load: r.load }])),
      versionsKept: this.versions.size,
    };
  }

  async close(): Promise<void> {}
}
