// enqueueConversation: a new or abandoned conversation enters routing (customer connect or POST /queue/).
import { conflict, notFound } from '../domain/errors.ts';
import type { Conversation } from '../domain/types.ts';
import { assignProposals } from './assign.ts';
import { entryOf, type ServiceContext } from './context.ts';
import type { Proposal } from '../routing/port.ts';

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
}

/**
 * The router is told inside the store's transaction, while the queue_seq allocation is locked, so that it
 * receives entries in queue_seq order across instances: the queue is served first come, first served, and the
 * position in the first `queued` frame is exact. A COMMIT that fails after the router took the entry is
 * undone in the router: its proposals are handed back (the store refuses them) and the entry is removed. A
 * COMMIT that reported failure may still have happened: the store is read again, and a conversation it has
 * queued is routed all the same. (The price: a stalled Redis call holds the queue_seq row lock; see
 * docs/architecture.md.)
 */
export function enqueueConversation(ctx: ServiceContext, conversationId: string, opts: EnqueueOptions = {}): Promise<EnqueueOutcome> {
  let batch = batches.get(ctx);
  if (!batch) batches.set(ctx, (batch = new EnqueueBatch(ctx)));
  return batch.add(conversationId, opts);
}

interface Pending {
  conversationId: string;
  opts: EnqueueOptions;
  resolve: (out: EnqueueOutcome) => void;
  reject: (err: unknown) => void;
}

const batches = new WeakMap<ServiceContext, EnqueueBatch>();
const MAX_BATCH = 100;

/**
 * Enqueues that arrive in the same event-loop turn, or while the batch waits for the routing lock (a
 * connect storm), share one store transaction, in arrival order: one commit instead of one each, which is
 * most of an enqueue's cost. Each is still the store's conditional transition, and the router still
 * receives them inside the transaction, in queue_seq order. A lone enqueue takes the single path, unchanged.
 * A batch takes at most MAX_BATCH, so that one transaction (synchronous on SQLite) cannot stall the loop long.
 */
class EnqueueBatch {
  /** The batch waiting for the lock, and the lock's count of queued runs just after it was queued. */
  private pending: Pending[] | undefined;
  private queuedAt = -1;

  constructor(private readonly ctx: ServiceContext) {}

  add(conversationId: string, opts: EnqueueOptions): Promise<EnqueueOutcome> {
    return new Promise((resolve, reject) => {
      const item = { conversationId, opts, resolve, reject };
      // Joins the waiting batch only if nothing else took the lock's queue since: work queued before this
      // enqueue (an abandon of the same conversation, say) still runs before it.
      if (this.pending && this.pending.length < MAX_BATCH && this.ctx.lock.queuedRuns === this.queuedAt) {
        this.pending.push(item);
        return;
      }
      const items: Pending[] = [item];
      this.pending = items;
      this.ctx.lock
        .run(async () => {
          // SQLite answers without yielding, so the connects of one event-loop turn (each an I/O callback)
          // would never find the lock busy: the batch holds its place and waits for the turn to end.
          await new Promise<void>((r) => setImmediate(r));
          if (this.pending === items) this.pending = undefined;
          if (items.length === 1) await enqueueOne(this.ctx, conversationId, opts).then(resolve, reject);
          else await enqueueMany(this.ctx, items);
        })
        .catch((err) => {
          for (const i of items) i.reject(err);
        });
      this.queuedAt = this.ctx.lock.queuedRuns;
    });
  }
}

async function enqueueOne(ctx: ServiceContext, conversationId: string, opts: EnqueueOptions): Promise<EnqueueOutcome> {
  let proposals: Proposal[] = [];
  let routed = false;
  let queued: Conversation | undefined;
  try {
    queued = await ctx.store.enqueue(conversationId, ctx.now(), async (c) => {
      proposals = await ctx.router.enqueueAndDispatch(entryOf(c));
      routed = true;
    });
  } catch (err) {
    const current = await ctx.store.getConversation(conversationId).catch(() => undefined);
    if (current?.status !== 'queued') {
      if (routed) await unroute(ctx, conversationId, proposals);
      throw err;
    }
    queued = current;
  }
  if (!queued) return notQueued(ctx, conversationId, opts);
  const done = await assignProposals(ctx, proposals);
  const mine = done.find((d) => d.conversation.id === conversationId);
  if (!mine) {
    await tellQueued(ctx, conversationId, queued, opts);
    await ctx.publish({ kind: 'queue_changed' });
  }
  return { conversation: mine ? mine.conversation : queued, assigned: mine !== undefined };
}

/** enqueueOne for several, with one transaction; each caller gets the outcome (or error) it would have got. */
async function enqueueMany(ctx: ServiceContext, items: Pending[]): Promise<void> {
  const proposals = new Map<string, Proposal[]>();
  let results: Array<Conversation | undefined | Error>;
  try {
    results = await ctx.store.enqueueMany(
      items.map((i) => i.conversationId),
      ctx.now(),
      async (queued) => {
        for (const c of queued) proposals.set(c.id, await ctx.router.enqueueAndDispatch(entryOf(c)));
      },
    );
  } catch (err) {
    // As for one: a conversation the store has queued after all is routed; one it has not leaves the router.
    results = [];
    for (const item of items) {
      const current = await ctx.store.getConversation(item.conversationId).catch(() => undefined);
      if (current?.status === 'queued') {
        results.push(current);
        continue;
      }
      const routed = proposals.get(item.conversationId);
      if (routed) {
        proposals.delete(item.conversationId);
        await unroute(ctx, item.conversationId, routed);
      }
      results.push(err as Error);
    }
  }
  let done: Awaited<ReturnType<typeof assignProposals>>;
  try {
    done = await assignProposals(ctx, [...proposals.values()].flat());
  } catch (err) {
    for (const item of items) item.reject(err);
    return;
  }
  let waiting = false;
  for (const [k, item] of items.entries()) {
    const queued = results[k];
    try {
      if (queued instanceof Error) throw queued;
      if (!queued) {
        item.resolve(await notQueued(ctx, item.conversationId, item.opts));
        continue;
      }
      const mine = done.find((d) => d.conversation.id === item.conversationId);
      if (!mine) {
        waiting = true;
        await tellQueued(ctx, item.conversationId, queued, item.opts);
      }
      item.resolve({ conversation: mine ? mine.conversation : queued, assigned: mine !== undefined });
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

/** The router took an entry whose COMMIT failed: the store refuses its proposals, and the entry goes. */
async function unroute(ctx: ServiceContext, conversationId: string, proposals: Proposal[]): Promise<void> {
  try {
    await assignProposals(ctx, proposals);
    await ctx.router.remove(conversationId);
  } catch (err) {
    // The reconciler finds what is left (a router entry the store does not have as queued).
    ctx.reportError(err, 'undoing the routing of a failed enqueue failed; the reconciler will');
  }
}
