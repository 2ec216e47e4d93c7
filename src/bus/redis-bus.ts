// Fan-out between instances over Redis pub/sub: one channel, every instance subscribes, and an instance
// delivers its own events only when they come back from Redis, so all instances see one order.
// Chat messages missed during a reconnect are recovered by the gateway's gap fill from the store (R5).
import type { Redis } from 'ioredis';
import type { Bus, BusEvent } from './port.ts';

export class RedisBus implements Bus {
  private readonly listeners = new Set<(e: BusEvent) => void>();
  private readonly channel: string;
  private subscriber: Redis | undefined;

  constructor(
    private readonly publisher: Redis,
    prefix: string,
  ) {
    this.channel = `${prefix}:{sb}:events`;
  }

  async start(): Promise<void> {
    this.subscriber = this.publisher.duplicate();
    this.subscriber.on('error', () => undefined);
    this.subscriber.on('message', (channel: string, payload: string) => {
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
    await this.subscriber.subscribe(this.channel);
  }

  async publish(event: BusEvent): Promise<void> {
    await this.publisher.publish(this.channel, JSON.stringify(event));
  }

  subscribe(listener: (e: BusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async close(): Promise<void> {
    this.listeners.clear();
    if (this.subscriber) {
      await this.subscriber.quit().catch(() => this.subscriber?.disconnect());
      this.subscriber = undefined;
    }
  }
}
