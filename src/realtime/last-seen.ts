// Last-seen times ordered by time, so that a presence sweep reads only the members whose time is past
// the grace period (the oldest first, a bounded batch): a Redis sorted set shared by every instance, or
// an ordered set in memory for one process.
import type { Cluster, Redis } from 'ioredis';
import { RankedSet } from '../routing/ranked-set.ts';

export interface LastSeenSet {
  /** Sets the time unless a later one is there (GT). */
  touch(member: string, at: number): Promise<void>;
  /** Sets the time of members not there yet (NX): a grace period already running is not restarted. */
  seed(members: string[], at: number): Promise<void>;
  /** Members last seen at or before `upTo`, oldest first, at most `limit`: O(log n + limit). */
  expired(upTo: number, limit: number): Promise<string[]>;
  /** Whether the member is there and last seen at or before `upTo` (asked again just before acting). */
  stillExpired(member: string, upTo: number): Promise<boolean>;
  remove(member: string): Promise<void>;
  size(): Promise<number>;
  /** False once the set was lost (a Redis flush or restart) after its last seed: the sweep must seed again. */
  intact(): Promise<boolean>;
}

interface Seen {
  member: string;
  at: number;
}

const byTime = (a: Seen, b: Seen): number => a.at - b.at || (a.member < b.member ? -1 : a.member > b.member ? 1 : 0);

export class MemoryLastSeen implements LastSeenSet {
  private readonly times = new Map<string, number>();
  private readonly order = new RankedSet<Seen>(byTime);

  private set(member: string, at: number): void {
    const old = this.times.get(member);
    if (old !== undefined) this.order.delete({ member, at: old });
    this.times.set(member, at);
    this.order.add({ member, at });
  }

  async touch(member: string, at: number): Promise<void> {
    const old = this.times.get(member);
    if (old === undefined || at > old) this.set(member, at);
  }

  async seed(members: string[], at: number): Promise<void> {
    for (const m of members) if (!this.times.has(m)) this.set(m, at);
  }

  async expired(upTo: number, limit: number): Promise<string[]> {
    const count = Math.min(limit, this.order.countBelow({ member: '', at: upTo + 1 }));
    return this.order.slice(0, count).map((s) => s.member);
  }

  async stillExpired(member: string, upTo: number): Promise<boolean> {
    const at = this.times.get(member);
    return at !== undefined && at <= upTo;
  }

  async remove(member: string): Promise<void> {
    const at = this.times.get(member);
    if (at === undefined) return;
    this.times.delete(member);
    this.order.delete({ member, at });
  }

  async size(): Promise<number> {
    return this.times.size;
  }

  async intact(): Promise<boolean> {
    return true;
  }
}

/** A member no rep id or conversation id can be, scored +inf so that no sweep ever reads it as expired. */
const SEEDED = '~seeded';

export class RedisLastSeen implements LastSeenSet {
  constructor(
    private readonly redis: Redis | Cluster,
    readonly key: string,
  ) {}

  async touch(member: string, at: number): Promise<void> {
    await this.redis.zadd(this.key, 'GT', at, member);
  }

  /** Also (re)sets the SEEDED marker, whose absence tells a later sweep that the set was lost. */
  async seed(members: string[], at: number): Promise<void> {
    await this.redis.zadd(this.key, 'NX', '+inf', SEEDED, ...members.flatMap((m) => [at, m]));
  }

  expired(upTo: number, limit: number): Promise<string[]> {
    return this.redis.zrangebyscore(this.key, '-inf', upTo, 'LIMIT', 0, limit);
  }

  async stillExpired(member: string, upTo: number): Promise<boolean> {
    const score = await this.redis.zscore(this.key, member);
    return score !== null && Number(score) <= upTo;
  }

  async remove(member: string): Promise<void> {
    await this.redis.zrem(this.key, member);
  }

  /** Without the marker: the members with a time. */
  size(): Promise<number> {
    return this.redis.zcount(this.key, '-inf', '(+inf');
  }

  async intact(): Promise<boolean> {
    return (await this.redis.zscore(this.key, SEEDED)) !== null;
  }
}
