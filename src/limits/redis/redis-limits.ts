// The Redis Limits adapter (scaled mode): one Lua script per operation, so that every instance counts
// against the same budget. Keys are `${prefix}:{sb}:limits:<key>`, in the routing's hash tag.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Cluster, Redis } from 'ioredis';
import type { Limits, WindowCount } from '../port.ts';

const SCRIPT_DIR = dirname(fileURLToPath(import.meta.url));
const COMMAND_PREFIX = 'sbLimits_';
const defined = new WeakSet<Redis | Cluster>();

function defineCommands(redis: Redis | Cluster): void {
  if (defined.has(redis)) return;
  for (const file of readdirSync(SCRIPT_DIR)) {
    const match = /^([A-Za-z]+)-(\d+)\.lua$/.exec(file);
    if (!match) continue;
    redis.defineCommand(COMMAND_PREFIX + match[1], { numberOfKeys: Number(match[2]), lua: readFileSync(join(SCRIPT_DIR, file), 'utf8') });
  }
  defined.add(redis);
}

type Call = (...args: Array<string | number>) => Promise<unknown>;

export class RedisLimits implements Limits {
  private readonly base: string;

  constructor(
    private readonly redis: Redis | Cluster,
    prefix = 'sb',
  ) {
    this.base = `${prefix}:{sb}:limits:`;
    defineCommands(redis);
  }

  private call(name: string, ...args: Array<string | number>): Promise<unknown> {
    return ((this.redis as unknown as Record<string, Call>)[COMMAND_PREFIX + name])(...args);
  }

  async hit(key: string, windowMs: number, n = 1): Promise<WindowCount> {
    const [count, resetInMs] = (await this.call('hit', this.base + key, windowMs, n)) as [number, number];
    return { count: Number(count), resetInMs: Number(resetInMs) };
  }

  async acquire(key: string, holder: string, max: number, ttlMs: number): Promise<boolean> {
    return Number(await this.call('acquire', this.base + key, holder, max, ttlMs)) === 1;
  }

  async renew(leases: ReadonlyArray<{ key: string; holder: string }>, ttlMs: number): Promise<void> {
    const byKey = new Map<string, string[]>();
    for (const { key, holder } of leases) {
      const holders = byKey.get(key);
      if (holders) holders.push(holder);
      else byKey.set(key, [holder]);
    }
    await Promise.all([...byKey].map(([key, holders]) => this.call('renew', this.base + key, ttlMs, ...holders)));
  }

  async release(key: string, holder: string): Promise<void> {
    await this.redis.zrem(this.base + key, holder);
  }

  async count(key: string): Promise<number> {
    return Number(await this.call('count', this.base + key));
  }

  /** The Redis connection belongs to the caller. */
  async close(): Promise<void> {}
}
