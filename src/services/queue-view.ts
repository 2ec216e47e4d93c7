// The queue as customers and reps see it: positions and wait estimates, from the Router and recent history.
import { estimateWaitS, meanHandleTimeS } from '../domain/estimate.ts';
import type { QueueEntry } from '../routing/port.ts';
import type { ServiceContext } from './context.ts';

export interface QueueView {
  entries: Array<QueueEntry & { position: number; estimatedWaitS: number }>;
  tailEstimateS: number;
}

export class QueueViewer {
  private cached: { at: number; meanS: number; capacity: number } | undefined;

  constructor(private readonly ctx: ServiceContext) {}

  /** Handle times and online capacity change slowly: refreshed at most every 5 s. */
  private async factors(): Promise<{ meanS: number; capacity: number }> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < 5000) return this.cached;
    const [times, reps] = await Promise.all([this.ctx.store.recentHandleTimesS(50), this.ctx.store.listReps()]);
    const capacity = reps.filter((r) => r.status === 'online').reduce((a, r) => a + r.maxCapacity, 0);
    this.cached = { at: now, meanS: meanHandleTimeS(times), capacity };
    return this.cached;
  }

  async view(): Promise<QueueView> {
    const [queue, f] = await Promise.all([this.ctx.router.queue(), this.factors()]);
    return {
      entries: queue.map((e, i) => ({ ...e, position: i + 1, estimatedWaitS: estimateWaitS(i + 1, f.meanS, f.capacity) })),
      tailEstimateS: estimateWaitS(queue.length + 1, f.meanS, f.capacity),
    };
  }

  /** From the factors last read (a default before the first read): for frames that must go out now. */
  estimateNow(position: number): number {
    const f = this.cached ?? { meanS: meanHandleTimeS([]), capacity: 1 };
    void this.factors().catch(() => undefined);
    return estimateWaitS(position, f.meanS, f.capacity);
  }

  async estimateFor(position: number): Promise<number> {
    const f = await this.factors();
    return estimateWaitS(position, f.meanS, f.capacity);
  }
}
