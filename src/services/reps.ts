// Rep verbs: change status or capacity (which may pull from the queue), and requeue a departed rep's chats.
import type { RepProfile, RepStatus } from '../domain/types.ts';
import { notFound } from '../domain/errors.ts';
import { assignProposals } from './assign.ts';
import { entryOf, slotOf, type ServiceContext } from './context.ts';

/** A rep's status or capacity changed: raising capacity or coming online pulls from the queue at once. */
export function updateRepSettings(ctx: ServiceContext, repId: number, patch: { status?: RepStatus; maxCapacity?: number }): Promise<RepProfile> {
  return ctx.lock.run(async () => {
    if (patch.status === 'offline') {
      const rep = await requeueRepLocked(ctx, repId, 'manual');
      if (patch.maxCapacity === undefined) return rep;
    }
    const rep = await ctx.store.updateRep(repId, patch);
    if (!rep) throw notFound('No such rep.');
    await assignProposals(ctx, await ctx.router.setRep(slotOf(rep)));
    return (await ctx.store.updateRep(repId, {}))!;
  });
}

/** Registration: the router learns of the rep, which may take queued conversations at once. */
export function registerRep(ctx: ServiceContext, rep: RepProfile): Promise<void> {
  return ctx.lock.run(async () => {
    await assignProposals(ctx, await ctx.router.setRep(slotOf(rep)));
  });
}

/** The rep left (presence expired, or set offline): its open chats go back to the queue at their places. */
export function requeueRep(ctx: ServiceContext, repId: number): Promise<RepProfile> {
  return ctx.lock.run(() => requeueRepLocked(ctx, repId, 'presence'));
}

async function requeueRepLocked(ctx: ServiceContext, repId: number, by: 'manual' | 'presence'): Promise<RepProfile> {
  const reason = 'requeued' as const;
  const rep = await ctx.store.updateRep(repId, { status: 'offline', offlineReason: by });
  if (!rep) throw notFound('No such rep.');
  const card = await ctx.repCard(repId);
  const entries = [];
  const notices = [];
  for (const c of await ctx.store.assignedTo(repId)) {
    const requeued = await ctx.store.requeue(c.id, repId, ctx.now());
    if (!requeued) continue;
    entries.push(entryOf(requeued));
    const customer = await ctx.customerCard(c.customerId);
    notices.push({ kind: 'requeued' as const, conversationId: c.id, customerUserId: customer!.userId, rep: card, reason, position: 1 });
  }
  const fresh = (await ctx.store.updateRep(repId, {}))!;
  const proposals = await ctx.router.requeueRep(slotOf(fresh), entries);
  // Announced once the router has them back, so that each customer's `queued` carries its real place.
  for (const n of notices) await ctx.bus.publish({ ...n, position: Math.max(1, await ctx.router.position(n.conversationId)) });
  await assignProposals(ctx, proposals);
  await ctx.bus.publish({ kind: 'queue_changed' });
  return fresh;
}
