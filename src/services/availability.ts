// Whether anyone can answer now: reps online, reps with a free slot, the queue and its estimate. Public
// (the widget asks before a customer waits), so it is computed at most once a second.
import type { ServiceContext } from './context.ts';
import type { QueueViewer } from './queue-view.ts';

export interface Availability {
  repsOnline: number;
  repsAccepting: number;
  queueLength: number;
  estimatedWaitS: number;
}

export class AvailabilityView {
  private cached: { at: number; value: Promise<Availability> } | undefined;

  constructor(
    private readonly ctx: ServiceContext,
    private readonly queue: QueueViewer,
  ) {}

  get(): Promise<Availability> {
    const now = Date.now();
    if (this.cached && now - this.cached.at < 1000) return this.cached.value;
    const value = this.compute();
    this.cached = { at: now, value };
    value.catch(() => (this.cached = undefined));
    return value;
  }

  private async compute(): Promise<Availability> {
    const [reps, stats] = await Promise.all([this.ctx.store.listReps(), this.ctx.router.stats()]);
    const online = reps.filter((r) => r.status === 'online' && r.user.isActive);
    return {
      repsOnline: online.length,
      repsAccepting: online.filter((r) => r.load < r.maxCapacity).length,
      queueLength: stats.length,
      estimatedWaitS: online.length ? await this.queue.estimateFor(stats.length + 1) : 0,
    };
  }
}
