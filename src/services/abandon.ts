// abandonConversation: a queued customer stayed away past its grace period; it leaves the queue.
import type { ServiceContext } from './context.ts';

export function abandonConversation(ctx: ServiceContext, conversationId: string): Promise<boolean> {
  return ctx.lock.run(async () => {
    const current = await ctx.store.getConversation(conversationId);
    if (!current || current.status !== 'queued') return false;
    const done = await ctx.store.abandon(conversationId, current.version, ctx.now());
    if (!done) return false;
    await ctx.router.remove(conversationId);
    await ctx.bus.publish({ kind: 'queue_changed' });
    return true;
  });
}
