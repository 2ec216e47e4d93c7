// Rep verbs: change status or capacity (which may pull from the queue), and requeue a departed rep's chats.
import type { Conversation, RepProfile, RepStatus } from '../domain/types.ts';
import { notFound } from '../domain/errors.ts';
import { assignProposals } from './assign.ts';
import { entryOf, slotOf, type ServiceContext } from './context.ts';

/** A rep's status or capacity changed: raising capacity or coming online pulls from the queue at once. */
export function updateRepSettings(ctx: ServiceContext, repId: number, patch: { status?: RepStatus; maxCapacity?: number }): Promise<RepProfile> {
  return ctx.lock.run(async () => {
    if (patch.status === 'offline') {
      const rep = await requeueRepLocked(ctx, repId, 'manual');
      if (!rep) throw notFound('No such rep.');
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

/**
 * The rep's console is back after presence took it offline: online again, which may pull from the queue.
 * Decided under the routing lock from a fresh read, so it cannot interleave with a requeue of the same rep;
 * a rep that set itself offline stays offline until it says otherwise.
 */
export function repReturned(ctx: ServiceContext, repId: number): Promise<void> {
  return ctx.lock.run(async () => {
    const current = await ctx.store.updateRep(repId, {});
    if (!current || current.status !== 'offline' || current.offlineReason !== 'presence') return;
    const rep = await ctx.store.updateRep(repId, { status: 'online' });
    if (rep) await assignProposals(ctx, await ctx.router.setRep(slotOf(rep)));
  });
}

/**
 * Presence saw the rep leave: it goes offline and its open chats go back to the queue at their places.
 * `stillGone` is asked after the rep's presence generation was read; an agent socket that comes back after
 * that bumps the generation, and the store refuses the offline transition. Undefined when refused.
 */
export function requeueRep(ctx: ServiceContext, repId: number, stillGone?: () => boolean | Promise<boolean>): Promise<RepProfile | undefined> {
  return ctx.lock.run(async () => {
    const rep = await ctx.store.getRep(repId);
    if (!rep) return undefined;
    if (stillGone && !(await stillGone())) return undefined;
    return requeueRepLocked(ctx, repId, 'presence', rep.presenceGen);
  });
}

/**
 * The store makes the rep offline and requeues all its chats in one transaction; the router then follows.
 * A process that dies between the two leaves the router behind the store, which the reconciler repairs.
 */
async function requeueRepLocked(ctx: ServiceContext, repId: number, by: 'manual' | 'presence', presenceGen?: number): Promise<RepProfile | undefined> {
  const out = await ctx.store.takeRepOffline(repId, by, ctx.now(), presenceGen);
  if (!out) return undefined;
  await announceRequeued(ctx, out.rep, out.requeued);
  return out.rep;
}

/** The router learns that the rep left with these chats; each customer hears `queued` with its real place. */
async function announceRequeued(ctx: ServiceContext, rep: RepProfile, requeued: Conversation[]): Promise<void> {
  const proposals = await ctx.router.requeueRep(slotOf(rep), requeued.map(entryOf));
  const card = await ctx.repCard(rep.id);
  // Announced once the router has them back, so that each customer's `queued` carries its real place.
  for (const c of requeued) {
    const customer = await ctx.customerCard(c.customerId);
    if (!customer) continue;
    const position = Math.max(1, await ctx.router.position(c.id));
    await ctx.publish({ kind: 'requeued', conversationId: c.id, customerUserId: customer.userId, rep: card, reason: 'requeued', position, version: c.version });
  }
  await assignProposals(ctx, proposals);
  await ctx.publish({ kind: 'queue_changed' });
}

/**
 * Finishes taking offline a rep that the store has offline but still holding chats (a transition that did
 * not run as one unit, from before this was one transaction, or a chat assigned by a racing transaction).
 */
export function finishRepOffline(ctx: ServiceContext, repId: number): Promise<void> {
  return ctx.lock.run(async () => {
    const rep = await ctx.store.getRep(repId);
    if (!rep || rep.status !== 'offline') return;
    await requeueRepLocked(ctx, repId, rep.offlineReason ?? 'manual');
  });
}
