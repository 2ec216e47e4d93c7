// Instances that stopped without draining. An instance killed between a commit and its publish takes the event
// with it: a customer keeps waiting on a chat that a rep already holds, and the rep's console never hears of
// it. Every instance stamps itself in one Redis sorted set, by Redis's clock (so that skew between hosts
// cannot fake a death). The first instance to find a stamp older than PEER_GONE_MS removes it, atomically, and
// reports it: the caller publishes `resync`, and every instance catches its sockets up from the store, as after
// any other fan-out gap. A drained instance removes its own stamp, so a clean stop costs nobody a catch-up.
import type { Cluster, Redis } from 'ioredis';

/** How often an instance stamps itself, and looks for peers that stopped. */
export const PEER_BEAT_MS = 500;
/** A stamp this old is a dead instance: six missed beats, far past any pause a live event loop takes. */
export const PEER_GONE_MS = 3000;

/** KEYS[1] the stamps; ARGV[1] this instance, ARGV[2] PEER_GONE_MS. Returns the instances found gone (removed). */
const BEAT = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZADD', KEYS[1], now, ARGV[1])
local gone = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]), 'LIMIT', 0, 32)
for _, id in ipairs(gone) do redis.call('ZREM', KEYS[1], id) end
return gone`;

type WithBeat = { sbPeerBeat(key: string, id: string, goneMs: number): Promise<string[]> };

export interface PeerWatchOptions {
  /** Peers found gone; each is reported to exactly one instance. */
  onGone(ids: string[]): void;
  onError(err: unknown): void;
  beatMs?: number;
  goneMs?: number;
}

export class PeerWatch {
  private timer: NodeJS.Timeout | undefined;
  private beating = false;
  /** While Redis is unreachable, its failure is reported once, not at every beat. */
  private failing = false;

  constructor(
    private readonly redis: Redis | Cluster,
    private readonly key: string,
    readonly id: string,
    private readonly opts: PeerWatchOptions,
  ) {
    if (!(redis as unknown as Partial<WithBeat>).sbPeerBeat) redis.defineCommand('sbPeerBeat', { numberOfKeys: 1, lua: BEAT });
  }

  /** Stamps at once (a peer started just now is known before its first interval), then every beatMs. */
  async start(): Promise<void> {
    await this.beat();
    this.timer = setInterval(() => void this.beat(), this.opts.beatMs ?? PEER_BEAT_MS);
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    // A beat still waiting on Redis is enough: beats never pile up behind a slow connection.
    if (this.beating) return;
    this.beating = true;
    try {
      const gone = await (this.redis as unknown as WithBeat).sbPeerBeat(this.key, this.id, this.opts.goneMs ?? PEER_GONE_MS);
      this.failing = false;
      if (gone.length > 0) this.opts.onGone(gone);
    } catch (err) {
      if (!this.failing) this.opts.onError(err);
      this.failing = true;
    } finally {
      this.beating = false;
    }
  }

  /** After a drain: everything this instance committed was published, so its peers need not catch up. */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.redis.zrem(this.key, this.id).catch((err) => this.opts.onError(err));
  }
}
