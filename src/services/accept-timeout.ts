// The accept timeout: a chat whose rep neither opens it (its chat socket joins) nor writes in it within
// ACCEPT_TIMEOUT_MS of the assignment goes back to the queue at its place, and the rep goes `away`, so that
// a rep who never answers cannot absorb the queue. The rep is never set offline: DESIGN keeps that for
// presence, and presence never touches a rep without /ws/agent/.
import { assignProposals } from './assign.ts';
import { entryOf, slotOf, type ServiceContext } from './context.ts';

const BATCH = 100;

/** The rep opened the chat. A rep's message always comes through a chat socket that joined, so this is the mark. */
export async function markAccepted(ctx: ServiceContext, conversationId: string, repId: number): Promise<void> {
  await ctx.store.markAccepted(conversationId, repId, ctx.now());
}

/** One pass: requeues what is due. Safe on several instances at once: the store's conditional update decides. */
export async function requeueUnopened(ctx: ServiceContext, timeoutMs: number): Promise<number> {
  const cutoff = ctx.now() - timeoutMs;
  let requeued = 0;
  for (const c of await ctx.store.unopened(cutoff, BATCH)) {
    if (c.repId === null) continue;
    const repId = c.repId;
    const done = await ctx.lock.run(async () => {
      const back = await ctx.store.requeue(c.id, repId, ctx.now(), cutoff);
      if (!back) return false;
      let rep = await ctx.store.getRep(repId);
      if (rep?.status === 'online') rep = { ...rep, ...(await ctx.store.updateRep(repId, { status: 'away' }))! };
      const proposals = rep ? await ctx.router.setRep(slotOf(rep)) : [];
      // Not offered straight back to the rep who left it unanswered.
      proposals.push(...(await ctx.router.requeue(entryOf(back), repId, repId)));
      const customer = await ctx.customerCard(c.customerId);
      const position = Math.max(1, await ctx.router.position(c.id));
      if (customer) await ctx.bus.publish({ kind: 'requeued', conversationId: c.id, customerUserId: customer.userId, rep: await ctx.repCard(repId), reason: 'requeued', position });
      await assignProposals(ctx, proposals);
      await ctx.bus.publish({ kind: 'queue_changed' });
      return true;
    });
    if (done) requeued++;
  }
  return requeued;
}

/** Runs the pass on a timer; each instance runs one. */
export class AcceptTimeout {
  private timer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly timeoutMs: number,
    private readonly onError: (err: unknown) => void,
  ) {}

  start(): void {
    if (this.timeoutMs <= 0 || this.timer) return;
    const every = Math.max(50, Math.min(1000, Math.floor(this.timeoutMs / 4)));
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = true;
      requeueUnopened(this.ctx, this.timeoutMs)
        .catch(this.onError)
        .finally(() => (this.running = false));
    }, every);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
