// The queue as customers and reps see it: positions and wait estimates, from the Router and recent history.
// Every read is a page or a rank lookup: none grows with the whole queue.
import { estimateWaitS, meanHandleTimeS } from '../domain/estimate.ts';
import type { QueueEntry, QueueStats } from '../routing/port.ts';
import type { ServiceContext } from './context.ts';

export type QueueViewEntry = QueueEntry & { position: number; estimatedWaitS: number };

export interface QueueView {
  entries: QueueViewEntry[];
  /** The whole queue's length and oldest wait, not just this page's. */
  stats: QueueStats;
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

  /** `limit` entries from the 0-based `offset`: O(log n + limit) in the router. */
  async page(offset: number, limit: number): Promise<QueueView> {
    const [entries, stats, f] = await Promise.all([this.ctx.router.queue({ offset, limit }), this.ctx.router.stats(), this.factors()]);
    return {
      entries: entries.map((e, i) => ({ ...e, position: offset + i + 1, estimatedWaitS: estimateWaitS(offset + i + 1, f.meanS, f.capacity) })),
      stats,
      tailEstimateS: estimateWaitS(stats.length + 1, f.meanS, f.capacity),
    };
  }

  /** The given conversations' places (those still queued, in queue order): one rank lookup each. */
  async of(conversations: Array<Pick<QueueEntry, 'conversationId' | 'customerId' | 'queuedAt' | 'version'>>): Promise<QueueView> {
    const [places, stats, f] = await Promise.all([this.ctx.router.positions(conversations.map((c) => c.conversationId)), this.ctx.router.stats(), this.factors()]);
    const entries: QueueViewEntry[] = [];
    conversations.forEach((c, i) => {
      const { position, queueSeq } = places[i];
      if (position > 0) entries.push({ ...c, queueSeq: queueSeq ?? 0, position, estimatedWaitS: estimateWaitS(position, f.meanS, f.capacity) });
    });
    entries.sort((a, b) => a.position - b.position);
    return { entries, stats, tailEstimateS: estimateWaitS(stats.length + 1, f.meanS, f.capacity) };
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
