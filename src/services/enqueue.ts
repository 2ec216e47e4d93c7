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
  return ctx.lock.run(async () => {
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
    if (!queued) {
      const current = await ctx.store.getConversation(conversationId);
      if (!current) throw notFound();
      if (opts.strict) throw conflict(`Cannot queue a conversation that is ${current.status}.`, 'illegal_transition');
      return { conversation: current, assigned: current.status === 'assigned' };
    }
    const done = await assignProposals(ctx, proposals);
    const mine = done.find((d) => d.conversation.id === conversationId);
    if (!mine) {
      if (opts.onQueued) {
        const position = await ctx.router.position(conversationId);
        if (position > 0) opts.onQueued(position, opts.estimate ? await opts.estimate(position) : 0, queued.version);
      }
      await ctx.publish({ kind: 'queue_changed' });
    }
    return { conversation: mine ? mine.conversation : queued, assigned: mine !== undefined };
  });
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
