// The Router port: a fast index of the queue and of rep slots that PROPOSES assignments.
// Each method is one atomic operation (no check-then-act across calls); the store's conditional
// updates decide (DESIGN R1), and a refused proposal comes back through reject().
import type { RepSlot } from '../domain/policy.ts';
import type { RoutingSnapshot } from '../domain/types.ts';

export interface QueueEntry {
  conversationId: string;
  queueSeq: number;
  customerId: number;
  queuedAt: number;
  version: number;
}

/** A slot reserved in the router for a queued conversation; the store must still commit it. */
export interface Proposal {
  conversationId: string;
  repId: number;
  queueSeq: number;
  customerId: number;
  queuedAt: number;
  version: number;
}

/** A place at the tail, handed out before the enqueue commits (Router.admit). */
export interface Admission {
  queueSeq: number;
  /** 1-based, counting every entry ahead, pending or not; 0 when the entry was not placed. */
  position: number;
}

/** Where a conversation waits: its 1-based position (0 when not queued) and its queue_seq (null then). */
export interface QueuePlace {
  position: number;
  queueSeq: number | null;
}

/** A page of the queue: `limit` entries from the 0-based `offset`. */
export interface QueuePage {
  offset: number;
  limit: number;
}

export interface QueueStats {
  length: number;
  oldestQueuedAt: number | null;
}

export interface RejectFix {
  /** The conversation as the store has it now: back in the queue if still queued, dropped otherwise. */
  requeue: QueueEntry | null;
  /** The rep as the store has it now, when the rep's side refused. */
  rep?: RepSlot;
}

/** The committed (confirmed) part of the queue in two numbers, which the store can give cheaply too. */
export interface QueueDigest {
  /** Queued entries, not counting pending admissions. */
  length: number;
  /** The sum of their queue_seqs. */
  seqSum: number;
  /** Pending admissions (admitted, not confirmed). */
  pending: number;
}

/** The router's whole state at one instant, for the reconciler that compares it with the store. */
export interface RouterView {
  queued: string[];
  /** The queued ones that are admitted but not confirmed (their enqueue has not committed, or its confirm failed). */
  pending: string[];
  /** conversation -> rep holding (or reserved for) it */
  held: Map<string, number>;
  reps: Map<number, { status: RepSlot['status']; maxCapacity: number; load: number }>;
  /** How many conversations' versions it remembers (closed ones are forgotten). */
  versionsKept: number;
}

/** ok, or why not: the conversation is not held by fromRepId (any more), or toRepId cannot take it. */
export type TransferResult = { ok: true; proposals: Proposal[] } | { ok: false; proposals: []; refused: 'conversation' | 'rep' };

export interface Router {
  /** Replaces all routing state with a store snapshot. */
  rebuild(snapshot: RoutingSnapshot): Promise<void>;
  /**
   * A fenced rebuild: no router operation (of any instance) lands between the snapshot read and its load,
   * so the load erases nothing made meanwhile. Operations that arrive meanwhile wait and then run on the new state.
   */
  rebuildFrom(read: () => Promise<RoutingSnapshot>): Promise<void>;
  /**
   * Places a conversation at the tail and hands out its queue_seq, before the store commits it as queued:
   * the router decides the queue's order, atomically across instances, so the store holds no lock while the
   * router answers. The entry is pending: counted in positions, never proposed, until enqueueAndDispatch
   * confirms it (or remove takes it out, when the enqueue failed). Already queued: its place. Held, or
   * older than the version seen (the router disagrees with the store, which decides): a queue_seq and no
   * place (position 0); the reconciler then loads what the store committed.
   */
  admit(entry: Omit<QueueEntry, 'queueSeq'>): Promise<Admission>;
  /**
   * The admitted conversation's enqueue committed: its pending entry may be proposed; then dispatches. An
   * entry that is gone (closed or abandoned meanwhile, or erased by a rebuild) is not put back: `present`
   * false, and the caller asks the store before enqueueing it again.
   */
  confirm(conversationId: string): Promise<{ present: boolean; proposals: Proposal[] }>;
  /**
   * Takes back an admission whose enqueue did not commit, only while it is still pending (at `queueSeq`,
   * when given): an entry that another enqueue of the same conversation committed and confirmed stays.
   */
  unadmit(conversationId: string, queueSeq?: number): Promise<boolean>;
  /** Adds the conversation to the queue (idempotent by id and version), confirms an admitted one, and dispatches. */
  enqueueAndDispatch(entry: QueueEntry): Promise<Proposal[]>;
  /** The conversation no longer holds the rep's slot (closed); frees it, forgets its version, and dispatches. */
  releaseAndDispatch(conversationId: string, repId: number): Promise<Proposal[]>;
  /**
   * Drops a conversation that left routing while queued (closed, abandoned). `final` (closed: nothing
   * follows) also forgets its version, so that routing state does not grow with every conversation ever seen.
   */
  remove(conversationId: string, final?: boolean): Promise<void>;
  /** Reserves a slot on toRep and frees fromRep's, atomically; false when toRep is not eligible. */
  transfer(conversationId: string, fromRepId: number, toRepId: number): Promise<TransferResult>;
  /** Puts an assigned conversation back at its original place; excludeRep is not offered it in this dispatch. */
  requeue(entry: QueueEntry, fromRepId: number, excludeRep?: number): Promise<Proposal[]>;
  /** Sets the rep's status (e.g. offline), requeues its conversations at their original places, dispatches. */
  requeueRep(rep: RepSlot, entries: QueueEntry[]): Promise<Proposal[]>;
  /** Registers or updates a rep's status and capacity, then dispatches (a slot may have opened). */
  setRep(rep: RepSlot): Promise<Proposal[]>;
  /** Undoes a proposal the store refused, applies the store's view, and dispatches again. */
  reject(proposal: Proposal, fix: RejectFix): Promise<Proposal[]>;
  /** The queue in order (position 1 first); with a page, only that page, in O(log n + limit). */
  queue(page?: QueuePage): Promise<QueueEntry[]>;
  /**
   * Queued entries with a queue_seq above `afterSeq`, in order, at most `limit`: O(log n + limit). Presence
   * reads what entered the queue since it last looked (a cursor), instead of the whole queue.
   */
  queuedAfter(afterSeq: number, limit: number): Promise<QueueEntry[]>;
  stats(): Promise<QueueStats>;
  /** 1-based place in the queue, 0 when the conversation is not queued; a rank lookup, O(log n). */
  position(conversationId: string): Promise<number>;
  /** position() for many conversations in one call (one round trip on Redis), in the order given. */
  positions(conversationIds: string[]): Promise<QueuePlace[]>;
  /** With `queueLimit`, `queued` (and `pending`) hold only that many from the head: the reconciler's light pass. */
  inspect(opts?: { queueLimit?: number }): Promise<RouterView>;
  /**
   * The queue's digest, kept as entries come and go (O(1)). An adapter that has it lets the reconciler compare
   * the queue with the store in O(1) instead of reading both whole; one that does not (Redis) is compared whole.
   */
  digest?(): Promise<QueueDigest>;
  close(): Promise<void>;
}
