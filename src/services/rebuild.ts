// rebuildRouting: loads the router from a store snapshot and then dispatches. A rebuild alone would
// leave queued conversations beside free slots until some later event happened to dispatch.
import { isEligible } from '../domain/policy.ts';
import type { RepProfile } from '../domain/types.ts';
import { assignProposals } from './assign.ts';
import { slotOf, type ServiceContext } from './context.ts';

/**
 * Call with the routing lock held (or before serving). The rebuild is fenced (Router.rebuildFrom): the
 * snapshot is read only once no router operation can land before its load, so nothing made meanwhile by
 * another instance is erased.
 */
export async function rebuildRouting(ctx: ServiceContext): Promise<void> {
  let snapshot: Awaited<ReturnType<typeof ctx.store.routingSnapshot>> | undefined;
  await ctx.router.rebuildFrom(async () => (snapshot = await ctx.store.routingSnapshot()));
  if (!snapshot || snapshot.queue.length === 0) return;
  await dispatchEligible(ctx, snapshot.reps);
}

/** Offers the queue to every eligible rep (the router dispatches on setRep). Call with the routing lock held. */
export async function dispatchEligible(ctx: ServiceContext, reps: RepProfile[]): Promise<void> {
  for (const rep of reps) {
    if (isEligible(slotOf(rep))) await assignProposals(ctx, await ctx.router.setRep(slotOf(rep)));
  }
}
