// Fan-out between instances over Redis pub/sub: one channel, every instance subscribes, and an instance
// delivers its own events only when they come back from Redis, so all instances see one order.
// Pub/sub forgets what it published while a subscriber was away: after a reconnect the bus says so
// (onMissed), and the gateway catches up from the store, which is the truth (R5).
import { Cluster, Redis } from 'ioredis';
import type { Bus, BusEvent } from './port.ts';

export class RedisBus implements Bus {
  private readonly listeners = new Set<(e: BusEvent) => void>();
  private readonly missedListeners = new Set<() => void>();
  private readonly channel: string;
  private subscriber: Redis | undefined;
  /** On a cluster: a plain connection to the master that owns the channel's slot (see channelNode). */
  private clusterPublisher: Redis | undefined;
  private closing = false;

  constructor(
    private readonly publisher: Redis | Cluster,
    private readonly prefix: string,
  ) {
    this.channel = `${prefix}:{sb}:events`;
  }

  async start(): Promise<void> {
    // Resubscribing by hand (not ioredis' autoResubscribe) tells us when the channel is live again.
    const subscriber = await this.subscriberConnection();
    this.subscriber = subscriber;
    subscriber.on('error', () => undefined);
    subscriber.on('message', (channel: string, payload: string) => {
      if (channel !== this.channel) return;
      let event: BusEvent;
      try {
        event = JSON.parse(payload) as BusEvent;
      } catch {
        return;
      }
      for (const l of this.listeners) {
        try {
          l(event);
        } catch {
          // One listener's failure must not stop the others.
        }
      }
    });
    await subscriber.subscribe(this.channel);
    let lost = false;
    subscriber.on('close', () => (lost = !this.closing));
    subscriber.on('ready', () => {
      if (!lost) return;
      subscriber.subscribe(this.channel).then(
        () => {
          lost = false;
          this.missed();
        },
        // Not listening yet: drop the connection and try again (its 'close' keeps `lost` set).
        () => {
          if (!this.closing) subscriber.disconnect(true);
        },
      );
    });
  }

  private async subscriberConnection(): Promise<Redis> {
    const options = { autoResubscribe: false, connectionName: `${this.prefix}:subscriber` };
    if (!(this.publisher instanceof Cluster)) return this.publisher.duplicate(options);
    // On a cluster a PUBLISH reaches every node, but publishes made on different nodes can arrive in
    // different orders. So every instance publishes on, and listens to, one node: the master that owns
    // the channel's hash slot ({sb}, the slot of every key). Plain connections keep the
    // reconnect-then-report logic below (the Cluster client would resubscribe silently).
    const node = await channelNode(this.publisher, this.channel);
    this.clusterPublisher = new Redis({ ...node, maxRetriesPerRequest: 5, connectionName: `${this.prefix}:publisher` });
    this.clusterPublisher.on('error', () => undefined);
    return new Redis({ ...node, ...options });
  }

  private missed(): void {
    for (const l of this.missedListeners) {
      try {
        l();
      } catch {
        // As above.
      }
    }
  }

  async publish(event: BusEvent): Promise<void> {
    await (this.clusterPublisher ?? this.publisher).publish(this.channel, JSON.stringify(event));
  }

  subscribe(listener: (e: BusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onMissed(listener: () => void): () => void {
    this.missedListeners.add(listener);
    return () => this.missedListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closing = true;
    this.listeners.clear();
    this.missedListeners.clear();
    if (this.subscriber) {
      await endConnection(this.subscriber);
      this.subscriber = undefined;
    }
    if (this.clusterPublisher) {
      await endConnection(this.clusterPublisher);
      this.clusterPublisher = undefined;
    }
  }
}

/**
 * QUIT when connected (a clean goodbye). A connection that is reconnecting would queue the QUIT until it is
 * back, which may be never (Redis down at shutdown), and keep retrying meanwhile: it is dropped instead.
 * Either way it never reconnects afterwards.
 */
async function endConnection(conn: Redis): Promise<void> {
  if (conn.status === 'ready') await conn.quit().catch(() => undefined);
  conn.disconnect();
}

type NodeAddress = { host: string; port: number; username?: string; password?: string; tls?: object };

/** The master that owns the slot of `channel`, from CLUSTER SLOTS. */
async function channelNode(cluster: Cluster, channel: string): Promise<NodeAddress> {
  const slot = Number(await cluster.cluster('KEYSLOT', channel));
  const ranges = await cluster.cluster('SLOTS');
  const range = ranges.find(([from, to]) => slot >= from && slot <= to);
  if (!range || !range[2]) throw new Error(`No Redis Cluster node owns slot ${slot} of ${channel}.`);
  const [host, port] = range[2];
  const { username, password, tls } = cluster.options.redisOptions ?? {};
  return { host, port: Number(port), username, password, tls };
}
