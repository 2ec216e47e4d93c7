// rebuildRouting: loads the router from a store snapshot and then dispatches. A rebuild alone would
// leave queued conversations beside free slots until some later event happened to dispatch.
import { isEligible } from '../domain/policy.ts';
import { assignProposals } from './assign.ts';
import { slotOf, type ServiceContext } from './context.ts';

/** Call with the routing lock held (or before serving). */
export async function rebuildRouting(ctx: ServiceContext): Promise<void> {
  const snapshot = await ctx.store.routingSnapshot();
  await ctx.router.rebuild(snapshot);
  if (snapshot.queue.length === 0) return;
  for (const rep of snapshot.reps) {
    if (isEligible(slotOf(rep))) await assignProposals(ctx, await ctx.router.setRep(slotOf(rep)));
  }
}
