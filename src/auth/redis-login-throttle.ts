// The scaled mode's login throttle: failures live in Redis, so that N instances do not give a guesser N budgets.
import { readFileSync } from 'node:fs';
import type { Cluster, Redis } from 'ioredis';
import type { FailureState, LoginThrottle } from './login-throttle.ts';

const FAILURE_SCRIPT = readFileSync(new URL('./redis/loginFailure-1.lua', import.meta.url), 'utf8');

type WithFailure = (Redis | Cluster) & { sbLoginFailure(key: string, now: number, windowMs: number): Promise<unknown> };

export class RedisLoginThrottle implements LoginThrottle {
  private readonly redis: WithFailure;

  constructor(
    redis: Redis | Cluster,
    private readonly prefix: string,
    private readonly windowMs: number,
  ) {
    if (!(redis as unknown as Partial<WithFailure>).sbLoginFailure) redis.defineCommand('sbLoginFailure', { numberOfKeys: 1, lua: FAILURE_SCRIPT });
    this.redis = redis as WithFailure;
  }

  private key(k: string): string {
    return `${this.prefix}:{sb}:login-failures:${k}`;
  }

  async state(key: string, now: number): Promise<FailureState | undefined> {
    const [n, start, last] = await this.redis.hmget(this.key(key), 'n', 'start', 'last');
    if (n === null || start === null || last === null) return undefined;
    const s = { n: Number(n), start: Number(start), last: Number(last) };
    return now >= s.start + this.windowMs ? undefined : s;
  }

  async failure(key: string, now: number): Promise<void> {
    await this.redis.sbLoginFailure(this.key(key), now, this.windowMs);
  }

  async success(key: string): Promise<void> {
    await this.redis.del(this.key(key));
  }
}
