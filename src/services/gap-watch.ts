// Serves what a gap in queue_seq held back once its hold runs out (see Router.enqueueAndDispatch): the instance
// whose entry waits behind the gap dispatches again, so that a gap left by an instance that died is skipped
// even when nothing else happens.
import { assignProposals } from './assign.ts';
import type { ServiceContext } from './context.ts';

const timers = new WeakMap<ServiceContext, NodeJS.Timeout>();

/** After an enqueue that left entries waiting: one dispatch per gap hold at most, per instance. */
export function watchGaps(ctx: ServiceContext, delayMs = ctx.gapHoldMs): void {
  if (timers.has(ctx) || ctx.isClosed()) return;
  const timer = setTimeout(() => {
    timers.delete(ctx);
    ctx.lock
      .run(async () => {
        const { proposals, waitMs } = await ctx.router.dispatch();
        if (proposals.length > 0) await assignProposals(ctx, proposals);
        if (waitMs > 0) watchGaps(ctx, waitMs);
      })
      .catch((err) => ctx.reportError(err, 'dispatching past a queue_seq gap failed'));
  }, delayMs);
  timer.unref();
  timers.set(ctx, timer);
}
