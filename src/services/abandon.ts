// abandonConversation: a queued customer stayed away past its grace period; it leaves the queue.
import type { ServiceContext } from './context.ts';

/**
 * `stillGone` is asked after the conversation's presence generation was read: a customer socket that comes
 * back after that bumps the generation, and the store then refuses the abandon (on every instance). One that
 * came back before it is seen by `stillGone`. What still slips through (a socket whose setup read the
 * conversation just before this commit) hears `abandoned` and puts the conversation back at the tail.
 */
export function abandonConversation(ctx: ServiceContext, conversationId: string, stillGone?: () => boolean | Promise<boolean>): Promise<boolean> {
  return ctx.lock.run(async () => {
    const current = await ctx.store.getConversation(conversationId);
    if (!current || current.status !== 'queued') return false;
    if (stillGone && !(await stillGone())) return false;
    const done = await ctx.store.abandon(conversationId, current.version, ctx.now(), current.presenceGen);
    if (!done) return false;
    await ctx.router.remove(conversationId);
    await ctx.publish({ kind: 'abandoned', conversationId, version: done.version });
    await ctx.publish({ kind: 'queue_changed' });
    return true;
  });
}
