// The in-process Limits adapter (embedded mode): the same counters as the Redis adapter, in maps.
import type { Limits, WindowCount } from './port.ts';

const SWEEP_MS = 10_000;

interface Lease {
  holder: string;
  until: number;
}

export class MemoryLimits implements Limits {
  private readonly windows = new Map<string, { count: number; endsAt: number }>();
  /**
   * key -> its leases. A list, not a map: a key (one user's sockets) holds one or a few leases, and a map per
   * key costs ~200 bytes more for each idle socket an instance holds.
   */
  private readonly leases = new Map<string, Lease[]>();
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

  /** The key's unexpired leases (expired ones are dropped); the key is forgotten when none are left. */
  private live(key: string, now: number): Lease[] {
    const held = this.leases.get(key);
    if (!held) return [];
    const alive = held.some((l) => l.until <= now) ? held.filter((l) => l.until > now) : held;
    if (alive.length === 0) this.leases.delete(key);
    else if (alive !== held) this.leases.set(key, alive);
    return alive;
  }

  private put(key: string, holder: string, until: number): void {
    const held = this.leases.get(key);
    const lease = held?.find((l) => l.holder === holder);
    if (lease) lease.until = until;
    else if (held) held.push({ holder, until });
    else this.leases.set(key, [{ holder, until }]);
  }

  async acquire(key: string, holder: string, max: number, ttlMs: number): Promise<boolean> {
    const now = this.now();
    const held = this.live(key, now);
    if (!held.some((l) => l.holder === holder) && held.length >= max) return false;
    this.put(key, holder, now + ttlMs);
    return true;
  }

  async renew(leases: ReadonlyArray<{ key: string; holder: string }>, ttlMs: number): Promise<void> {
    const until = this.now() + ttlMs;
    for (const { key, holder } of leases) this.put(key, holder, until);
  }

  async release(key: string, holder: string): Promise<void> {
    const held = this.leases.get(key);
    if (!held) return;
    const rest = held.filter((l) => l.holder !== holder);
    if (rest.length === 0) this.leases.delete(key);
    else this.leases.set(key, rest);
  }

  async count(key: string): Promise<number> {
    return this.live(key, this.now()).length;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, w] of this.windows) if (w.endsAt <= now) this.windows.delete(key);
    for (const key of [...this.leases.keys()]) this.live(key, now);
  }

  async close(): Promise<void> {
    clearInterval(this.sweeper);
  }
}
