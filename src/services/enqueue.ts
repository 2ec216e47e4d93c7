// enqueueConversation: a new or abandoned conversation enters routing (customer connect or POST /queue/).
import { conflict, notFound } from '../domain/errors.ts';
import type { Conversation } from '../domain/types.ts';
import { assignProposals } from './assign.ts';
import { entryOf, type ServiceContext } from './context.ts';
import { LockBatch } from './lock-batch.ts';
import type { Admission, Proposal } from '../routing/port.ts';

export type EnqueueOutcome = { conversation: Conversation; assigned: boolean };

/**
 * Idempotent: a conversation already queued or assigned is left where it is. Two tabs that connect
 * at once enqueue it once, because the store's conditional update lets exactly one through.
 */
export interface EnqueueOptions {
  /** 409 instead of a no-op when the conversation is not new or abandoned (POST /queue/). */
  strict?: boolean;
  /** Called under the routing lock when the conversation must wait, so its `queued` frame precedes any `assigned`. */
  onQueued?: (position: number, estimatedWaitS: number, version: number) => void;
  estimate?: (position: number) => Promise<number>;
  /**
   * The conversation as the caller just read it (a socket's setup does), instead of a second read. Safe when
   * stale: its version changes only with its status, and the store's enqueue is conditional on that version.
   */
  known?: Conversation;
}

/**
 * The router decides the order: it admits the conversation at the tail first (Router.admit, one atomic step
 * across instances, which hands out its queue_seq and counts it in every position), then the store commits it
 * as queued with that queue_seq, and then the router confirms it, which lets dispatch offer it. No store lock
 * is held while the router answers, so a stalled Redis holds up no PostgreSQL transaction. The position in
 * the first `queued` frame is exact. An admission whose enqueue did not commit is taken out again; one whose
 * instance died before that, or whose confirm was lost, is found by the reconciler (`not-queued`,
 * `unconfirmed`).
 */
export function enqueueConversation(ctx: ServiceContext, conversationId: string, opts: EnqueueOptions = {}): Promise<EnqueueOutcome> {
  let batch = batches.get(ctx);
  if (!batch) batches.set(ctx, (batch = new LockBatch(ctx.lock, MAX_BATCH, (items) => enqueueItems(ctx, items))));
  const b = batch;
  return new Promise((resolve, reject) => b.add({ conversationId, opts, resolve, reject }));
}

interface Pending {
  conversationId: string;
  opts: EnqueueOptions;
  resolve: (out: EnqueueOutcome) => void;
  reject: (err: unknown) => void;
}

const batches = new WeakMap<ServiceContext, LockBatch<Pending>>();
const MAX_BATCH = 100;

/*
 * Enqueues that arrive together (a connect storm) share one store transaction (LockBatch), in arrival order:
 * one commit instead of one each, which is most of an enqueue's cost. Each is still the store's conditional
 * transition; the router admits them in arrival order and confirms them in queue_seq order. A lone enqueue is
 * a batch of one.
 */

const enqueueable = (c: Conversation | undefined): c is Conversation => c !== undefined && (c.status === 'new' || c.status === 'abandoned');

/** Admit, commit, confirm, assign: each caller gets the outcome (or error) of its own conversation. */
async function enqueueItems(ctx: ServiceContext, items: Pending[]): Promise<void> {
  const now = ctx.now();
  let before: Array<Conversation | undefined>;
  try {
    before = await Promise.all(items.map((i) => (i.opts.known?.id === i.conversationId ? i.opts.known : ctx.store.getConversation(i.conversationId))));
  } catch (err) {
    for (const i of items) i.reject(err);
    return;
  }
  // In arrival order: the calls go out in this order on one connection, and Redis runs them in it.
  const places: Array<Admission | undefined> = [];
  const admitting = items.map((item, k) => {
    const c = before[k];
    if (!enqueueable(c)) return Promise.resolve();
    return ctx.router.admit({ conversationId: c.id, customerId: c.customerId, queuedAt: now, version: c.version + 1 }).then((p) => {
      places[k] = p;
    });
  });
  const admitted = await Promise.allSettled(admitting);
  const failed = admitted.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    // An admission whose answer was lost may still have happened: each one sent is taken back if pending.
    for (const [k, item] of items.entries()) if (enqueueable(before[k])) await unadmit(ctx, item.conversationId, places[k]?.queueSeq);
    for (const i of items) i.reject(failed.reason);
    return;
  }

  const batch = items.flatMap((item, k) => {
    const place = places[k];
    const c = before[k];
    return place && c ? [{ k, item, place: { queueSeq: place.queueSeq, fromVersion: c.version } }] : [];
  });
  const results: Array<Conversation | undefined | Error> = items.map(() => undefined);
  if (batch.length > 0) {
    try {
      const stored = await ctx.store.enqueueMany(
        batch.map((b) => b.item.conversationId),
        now,
        batch.map((b) => b.place),
      );
      for (const [n, b] of batch.entries()) results[b.k] = stored[n];
    } catch (err) {
      // A COMMIT that reported failure may still have happened: only a fresh read says which.
      for (const b of batch) {
        const current = await ctx.store.getConversation(b.item.conversationId).catch(() => undefined);
        results[b.k] = current?.status === 'queued' ? current : (err as Error);
      }
    }
    // A second tab of a conversation committed in this batch shares its place: that place stays.
    const committed = new Set(batch.filter((b) => results[b.k] && !(results[b.k] instanceof Error)).map((b) => b.item.conversationId));
    for (const b of batch) if (!committed.has(b.item.conversationId)) await unadmit(ctx, b.item.conversationId, b.place.queueSeq);
  }

  // Confirmed in queue_seq order (the batch's order), each dispatching.
  const queued = results.filter((r): r is Conversation => r !== undefined && !(r instanceof Error));
  // Every confirm that answered has reserved slots for its proposals: none may be dropped because another failed.
  const proposals: Proposal[] = [];
  for (const confirmed of await Promise.allSettled(queued.map((c) => confirmOne(ctx, c)))) {
    if (confirmed.status === 'fulfilled') proposals.push(...confirmed.value);
    // Queued in the store: the reconciler confirms what is still pending (`unconfirmed`).
    else ctx.reportError(confirmed.reason, 'confirming an admitted conversation failed; the reconciler will');
  }
  let done: Awaited<ReturnType<typeof assignProposals>>;
  try {
    done = await assignProposals(ctx, proposals);
  } catch (err) {
    for (const item of items) item.reject(err);
    return;
  }
  let waiting = false;
  for (const [k, item] of items.entries()) {
    const result = results[k];
    try {
      if (result instanceof Error) throw result;
      if (!result) {
        item.resolve(await notQueued(ctx, item.conversationId, item.opts));
        continue;
      }
      const mine = done.find((d) => d.conversation.id === item.conversationId);
      if (!mine) {
        waiting = true;
        await tellQueued(ctx, item.conversationId, result, item.opts);
      }
      item.resolve({ conversation: mine ? mine.conversation : result, assigned: mine !== undefined });
    } catch (err) {
      item.reject(err);
    }
  }
  if (waiting) await ctx.publish({ kind: 'queue_changed' }).catch((err) => ctx.reportError(err, 'publishing queue_changed failed'));
}

/** Already queued or assigned (or missing): what the caller learns instead. */
async function notQueued(ctx: ServiceContext, conversationId: string, opts: EnqueueOptions): Promise<EnqueueOutcome> {
  const current = await ctx.store.getConversation(conversationId);
  if (!current) throw notFound();
  if (opts.strict) throw conflict(`Cannot queue a conversation that is ${current.status}.`, 'illegal_transition');
  return { conversation: current, assigned: current.status === 'assigned' };
}

/** Under the routing lock: the `queued` frame with its place goes out before any later `assigned`. */
async function tellQueued(ctx: ServiceContext, conversationId: string, queued: Conversation, opts: EnqueueOptions): Promise<void> {
  if (!opts.onQueued) return;
  const position = await ctx.router.position(conversationId);
  if (position > 0) opts.onQueued(position, opts.estimate ? await opts.estimate(position) : 0, queued.version);
}

/**
 * Confirms a committed enqueue in the router. An entry that is gone was taken out by a close or an abandon
 * that came after the commit (then it must stay out), or erased by a rebuild (then it must go back): only the
 * store can say which, so it is put back only while the store still has it queued at this version.
 */
async function confirmOne(ctx: ServiceContext, queued: Conversation): Promise<Proposal[]> {
  const { present, proposals } = await ctx.router.confirm(queued.id);
  if (present) return proposals;
  const current = await ctx.store.getConversation(queued.id);
  if (current?.status !== 'queued' || current.version !== queued.version) return proposals;
  return [...proposals, ...(await ctx.router.enqueueAndDispatch(entryOf(current)))];
}

/**
 * An admission whose enqueue did not commit leaves the router, in one atomic step and only while it is still
 * pending (at its queue_seq): an entry that another instance's enqueue of the same conversation committed and
 * confirmed meanwhile stays. What this cannot do (Redis is down), the reconciler finds (`not-queued`).
 */
async function unadmit(ctx: ServiceContext, conversationId: string, queueSeq?: number): Promise<void> {
  try {
    await ctx.router.unadmit(conversationId, queueSeq);
  } catch (err) {
    ctx.reportError(err, 'taking back an admission whose enqueue failed failed; the reconciler will');
  }
}
