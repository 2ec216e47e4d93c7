// assignProposals: commits each Router proposal with the store's conditional update (R1), then announces it.
import type { Proposal } from '../routing/port.ts';
import type { Conversation } from '../domain/types.ts';
import type { AssignResult } from '../store/port.ts';
import { entryOf, slotOf, type ServiceContext } from './context.ts';

const MAX_ROUNDS = 10_000;

/** Returns the conversations actually assigned, in commit order. No frame is published before its commit. */
/**
 * `decided` holds the store's answers to proposals it already committed (a close and its next assignment
 * share one transaction); those are not tried again, only announced or, if refused, handed back to the router.
 */
export async function assignProposals(
  ctx: ServiceContext,
  first: Proposal[],
  decided?: ReadonlyMap<Proposal, AssignResult>,
): Promise<Array<{ conversation: Conversation; repId: number }>> {
  const done: Array<{ conversation: Conversation; repId: number }> = [];
  const work = [...first];
  let rounds = 0;
  while (work.length > 0 && rounds++ < MAX_ROUNDS) {
    const p = work.shift()!;
    const result = decided?.get(p) ?? (await ctx.store.assign(p.conversationId, p.repId, ctx.now()));
    if (result.ok) {
      done.push({ conversation: result.conversation, repId: p.repId });
      const [rep, customer] = await Promise.all([ctx.repCard(p.repId), ctx.customerCard(result.conversation.customerId)]);
      if (rep && customer) await ctx.bus.publish({ kind: 'assigned', conversationId: p.conversationId, rep, customer });
      continue;
    }
    // The store refused: tell the router what the store knows, and take its next proposals.
    const current = await ctx.store.getConversation(p.conversationId);
    const requeue = current && current.status === 'queued' ? entryOf(current) : null;
    const rep = result.reason === 'rep' ? await ctx.store.getRep(p.repId) : undefined;
    work.push(...(await ctx.router.reject(p, { requeue, rep: rep ? slotOf(rep) : undefined })));
  }
  if (done.length > 0 || first.length > 0) await ctx.bus.publish({ kind: 'queue_changed' });
  return done;
}
