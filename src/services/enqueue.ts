// enqueueConversation: a new or abandoned conversation enters routing (customer connect or POST /queue/).
import { conflict, notFound } from '../domain/errors.ts';
import type { Conversation } from '../domain/types.ts';
import { assignProposals } from './assign.ts';
import { entryOf, type ServiceContext } from './context.ts';

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
 * The store commits first and the router is told after: the router never holds a conversation that a failed
 * COMMIT left `new`, and no database lock (the queue_seq counter row) is held across a Redis call, so a Redis
 * stall cannot starve the PostgreSQL pool. A COMMIT that reported failure may still have happened: the store
 * is read again, and a conversation it has queued is routed all the same.
 */
export function enqueueConversation(ctx: ServiceContext, conversationId: string, opts: EnqueueOptions = {}): Promise<EnqueueOutcome> {
  return ctx.lock.run(async () => {
    let queued: Conversation | undefined;
    try {
      queued = await ctx.store.enqueue(conversationId, ctx.now());
    } catch (err) {
      const current = await ctx.store.getConversation(conversationId).catch(() => undefined);
      if (current?.status !== 'queued') throw err;
      queued = current;
    }
    if (!queued) {
      const current = await ctx.store.getConversation(conversationId);
      if (!current) throw notFound();
      if (opts.strict) throw conflict(`Cannot queue a conversation that is ${current.status}.`, 'illegal_transition');
      return { conversation: current, assigned: current.status === 'assigned' };
    }
    const proposals = await ctx.router.enqueueAndDispatch(entryOf(queued));
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
