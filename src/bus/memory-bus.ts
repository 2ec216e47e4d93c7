// In-process fan-out: listeners are called synchronously, in publish order.
import type { Bus, BusEvent } from './port.ts';

export class MemoryBus implements Bus {
  private readonly listeners = new Set<(e: BusEvent) => void>();

  async publish(event: BusEvent): Promise<void> {
    for (const l of this.listeners) {
      try {
        l(event);
      } catch {
        // A listener's failure must not stop delivery to the others.
      }
    }
  }

  subscribe(listener: (e: BusEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** In-process delivery cannot lose events. */
  onMissed(): () => void {
    return () => undefined;
  }

  async close(): Promise<void> {
    this.listeners.clear();
  }
}
