// transferConversation: moves an assigned conversation to another rep, or back to the queue at its place.
import { assertTransition } from '../domain/conversation.ts';
import { conflict, forbidden, notFound } from '../domain/errors.ts';
import { assignProposals } from './assign.ts';
import { rebuildRouting } from './rebuild.ts';
import { entryOf, type ServiceContext } from './context.ts';

/**
 * `byRepId` is the rep asking, when a rep asks: the transfer happens only while it still holds the
 * conversation (the store's updates below are conditional on that holder, across instances too).
 */
export function transferConversation(ctx: ServiceContext, conversationId: string, toRepId: number | null, byRepId?: number): Promise<{ status: string; repId: number | null }> {
  return ctx.lock.run(async () => {
    const current = await ctx.store.getConversation(conversationId);
    if (!current) throw notFound();
    assertTransition(current.status, 'transfer');
    if (byRepId !== undefined && current.repId !== byRepId) throw forbidden('You no longer hold this conversation.');
    const fromRepId = current.repId!;
    const fromCard = await ctx.repCard(fromRepId);

    if (toRepId === null) {
      const requeued = await ctx.store.requeue(conversationId, fromRepId, ctx.now());
      if (!requeued) return refusedBecauseItMoved(ctx, conversationId, fromRepId, byRepId);
      // Not offered straight back to the rep who sent it.
      const proposals = await ctx.router.requeue(entryOf(requeued), fromRepId, fromRepId);
      const position = Math.max(1, await ctx.router.position(conversationId));
      const customerUserId = (await ctx.customerCard(current.customerId))!.userId;
      await ctx.publish({ kind: 'requeued', conversationId, customerUserId, rep: fromCard, reason: 'transfer', position, version: requeued.version });
      await assignProposals(ctx, proposals);
      await ctx.publish({ kind: 'queue_changed' });
      const after = await ctx.store.getConversation(conversationId);
      return { status: after!.status, repId: after!.repId };
    }

    if (toRepId === fromRepId) throw conflict('The conversation is already with that rep.', 'same_rep');
    const target = await ctx.store.getRep(toRepId);
    if (!target) throw notFound('No such rep.');
    const reserved = await ctx.router.transfer(conversationId, fromRepId, toRepId);
    if (!reserved.ok) {
      if (reserved.refused === 'rep') throw conflict('That rep is not online with a free slot.', 'rep_unavailable');
      const now = await ctx.store.getConversation(conversationId);
      if (now?.status === 'assigned' && now.repId === fromRepId) {
        // The store says fromRepId holds it but the router does not: the router drifted. Repair it.
        await rebuildRouting(ctx);
        throw conflict('Routing was out of date and has been repaired; try again.', 'try_again');
      }
      return refusedBecauseItMoved(ctx, conversationId, fromRepId, byRepId);
    }
    const result = await ctx.store.transfer(conversationId, fromRepId, toRepId, ctx.now());
    if (!result.ok) {
      // The store refused what the router reserved (the target, or the conversation, changed meanwhile).
      // A rebuild puts back both sides at once, including any slot the router already re-offered; it is
      // safe because the store decides every assignment.
      await rebuildRouting(ctx);
      if (result.reason === 'conversation') return refusedBecauseItMoved(ctx, conversationId, fromRepId, byRepId);
      throw conflict('That rep is not online with a free slot.', 'rep_unavailable');
    }
    const toCard = (await ctx.repCard(toRepId))!;
    const customer = (await ctx.customerCard(current.customerId))!;
    await ctx.publish({ kind: 'assigned', conversationId, rep: toCard, customer, fromRep: fromCard ?? undefined, version: result.conversation.version });
    await assignProposals(ctx, reserved.proposals);
    return { status: 'assigned', repId: toRepId };
  });
}

/** The chat moved on under us (another instance closed, requeued or transferred it): say so plainly. */
async function refusedBecauseItMoved(ctx: ServiceContext, conversationId: string, fromRepId: number, byRepId: number | undefined): Promise<never> {
  const now = await ctx.store.getConversation(conversationId);
  if (!now) throw notFound();
  assertTransition(now.status, 'transfer');
  if (byRepId !== undefined && now.repId !== byRepId) throw forbidden('You no longer hold this conversation.');
  throw conflict(now.repId === fromRepId ? 'The conversation changed; try again.' : 'The conversation is no longer with that rep.', 'illegal_transition');
}
