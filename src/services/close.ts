// closeConversation: ends a conversation, frees the rep's slot, and hands it to the head of the queue.
import { assertTransition } from '../domain/conversation.ts';
import { conflict, forbidden, notFound } from '../domain/errors.ts';
import type { ClosedBy } from '../domain/types.ts';
import { assignProposals } from './assign.ts';
import type { ServiceContext } from './context.ts';

export interface CloseRequest {
  conversationId: string;
  by: ClosedBy;
  /**
   * The rep profile that closes, when a rep does: the close happens only while that rep still holds the
   * conversation, and it gets the redirect if the freed slot comes back to it.
   */
  closingRepId?: number;
  originSocket?: string;
  reason?: string;
}

export async function closeConversation(ctx: ServiceContext, req: CloseRequest): Promise<{ redirectId: string | null }> {
  return (await close(ctx, req, true))!;
}

/**
 * A rep's close of a chat it holds, with no read before it: the store's conditional update checks that the
 * rep holds it (heldBy), which is all the caller's own check would have found. Resolves undefined, having
 * changed nothing, when the store refuses; the caller then reads the conversation to say why.
 */
export function closeIfHeld(ctx: ServiceContext, req: CloseRequest & { by: 'rep'; closingRepId: number }): Promise<{ redirectId: string | null } | undefined> {
  return close(ctx, req, false);
}

function close(ctx: ServiceContext, req: CloseRequest, explainRefusal: boolean): Promise<{ redirectId: string | null } | undefined> {
  return ctx.lock.run(async () => {
    // One transaction closes and hands the freed slot on; its conditional updates decide (R1). Only a
    // refusal needs the current state, to say why.
    const heldBy = req.by === 'rep' ? req.closingRepId : undefined;
    const outcome = await ctx.store.closeAndAssign(req.conversationId, req.by, ctx.now(), heldBy, async (c) => {
      if (c.status === 'assigned' && c.repId !== null) return ctx.router.releaseAndDispatch(c.id, c.repId);
      await ctx.router.remove(c.id, true);
      return [];
    });
    if (!outcome) {
      if (!explainRefusal) return undefined;
      const now = await ctx.store.getConversation(req.conversationId);
      if (!now) throw notFound();
      assertTransition(now.status, 'close');
      if (heldBy !== undefined && (now.status !== 'assigned' || now.repId !== heldBy)) throw forbidden('You no longer hold this conversation.');
      throw conflict('The conversation kept changing while it was being closed; try again.', 'conflict');
    }
    const { before } = outcome;
    let redirectId: string | null = null;
    if (before.status === 'assigned' && before.repId !== null) {
      const proposals = outcome.assigned.map((a) => a.proposal);
      const done = await assignProposals(ctx, proposals, new Map(outcome.assigned.map((a) => [a.proposal, a.result])));
      if (req.by === 'rep' && req.closingRepId !== undefined) {
        redirectId = done.find((d) => d.repId === req.closingRepId)?.conversation.id ?? null;
      }
    } else {
      await ctx.publish({ kind: 'queue_changed' });
    }
    const repUser = before.repId !== null && before.status === 'assigned' ? await ctx.repCard(before.repId) : null;
    await ctx.publish({
      kind: 'closed',
      conversationId: before.id,
      by: req.by === 'admin' ? 'system' : req.by,
      reason: req.reason ?? (req.by === 'system' ? 'closed by the system' : `closed by the ${req.by}`),
      repUserId: repUser?.userId ?? null,
      originSocket: req.originSocket,
      redirectId: redirectId ?? undefined,
    });
    return { redirectId };
  });
}
