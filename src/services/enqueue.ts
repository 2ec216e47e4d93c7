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
  onQueued?: (position: number, estimatedWaitS: number) => void;
  estimate?: (position: number) => Promise<number>;
}

export function enqueueConversation(ctx: ServiceContext, conversationId: string, opts: EnqueueOptions = {}): Promise<EnqueueOutcome> {
  return ctx.lock.run(async () => {
    let proposals: Proposal[] = [];
    const queued = await ctx.store.enqueue(conversationId, ctx.now(), async (c) => {
      proposals = await ctx.router.enqueueAndDispatch(entryOf(c));
    });
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
        if (position > 0) opts.onQueued(position, opts.estimate ? await opts.estimate(position) : 0);
      }
      await ctx.bus.publish({ kind: 'queue_changed' });
    }
    return { conversation: mine ? mine.conversation : queued, assigned: mine !== undefined };
  });
}
