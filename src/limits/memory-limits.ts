// The in-process Limits adapter (embedded mode): the same counters as the Redis adapter, in maps.
import type { Limits, WindowCount } from './port.ts';

const SWEEP_MS = 10_000;

export class MemoryLimits implements Limits {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  /** key -> holder -> lease end */
  private readonly leases = new Map<string, Map<string, number>>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    // Windows and leases of keys nobody touches again would otherwise stay forever.
    this.sweeper = setInterval(() => this.sweep(), SWEEP_MS);
    this.sweeper.unref();
  }

  async hit(key: string, windowMs: number, n = 1): Promise<WindowCount> {
    const now = this.now();
    let w = this.windows.get(key);
    if (!w || w.endsAt <= now) this.windows.set(key, (w = { count: 0, endsAt: now + windowMs }));
    w.count += n;
    return { count: w.count, resetInMs: w.endsAt - now };
  }

  private live(key: string, now: number): Map<string, number> {
    let held = this.leases.get(key);
    if (!held) this.leases.set(key, (held = new Map()));
    for (const [holder, until] of held) if (until <= now) held.delete(holder);
    return held;
  }

  async acquire(key: string, holder: string, max: number, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const held = this.live(key, now);
    if (!held.has(holder) && held.size >= max) return false;
    held.set(holder, now + ttlMs);
    return true;
  }

  async renew(leases: ReadonlyArray<{ key: string; holder: string }>, ttlMs: number): Promise<void> {
    const until = this.now() + ttlMs;
    for (const { key, holder } of leases) {
      let held = this.leases.get(key);
      if (!held) this.leases.set(key, (held = new Map()));
      held.set(holder, until);
    }
  }

  async release(key: string, holder: string): Promise<void> {
    const held = this.leases.get(key);
    if (!held) return;
    held.delete(holder);
    if (held.size === 0) this.leases.delete(key);
  }

  async count(key: string): Promise<number> {
    return this.leases.has(key) ? this.live(key, this.now()).size : 0;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, w] of this.windows) if (w.endsAt <= now) this.windows.delete(key);
    for (const key of [...this.leases.keys()]) if (this.live(key, now).size === 0) this.leases.delete(key);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
