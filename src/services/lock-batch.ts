// LockBatch: requests that arrive in the same event-loop turn, or while the batch waits for the routing lock,
// run together as one batch under the lock (one store transaction instead of one each), in arrival order.
import type { SerialLock } from './context.ts';

/** A request in a batch: the batch's runner answers each one; a batch that throws rejects them all. */
export interface BatchItem {
  reject: (err: unknown) => void;
}

export class LockBatch<I extends BatchItem> {
  /** The batch waiting for the lock, and the lock's count of queued runs just after it was queued. */
  private pending: I[] | undefined;
  private queuedAt = -1;

  constructor(
    private readonly lock: SerialLock,
    /** At most this many a batch, so that one transaction (synchronous on SQLite) cannot stall the loop long. */
    private readonly max: number,
    private readonly runBatch: (items: I[]) => Promise<void>,
  ) {}

  add(item: I): void {
    // Joins the waiting batch only if nothing else took the lock's queue since: work queued before this
    // request (an abandon of the same conversation, say) still runs before it.
    if (this.pending && this.pending.length < this.max && this.lock.queuedRuns === this.queuedAt) {
      this.pending.push(item);
      return;
    }
    const items: I[] = [item];
    this.pending = items;
    this.lock
      .run(async () => {
        // SQLite answers without yielding, so the requests of one event-loop turn (each an I/O callback)
        // would never find the lock busy: the batch holds its place and waits for the turn to end.
        await new Promise<void>((r) => setImmediate(r));
        if (this.pending === items) this.pending = undefined;
        await this.runBatch(items);
      })
      .catch((err) => {
        for (const i of items) i.reject(err);
      });
    this.queuedAt = this.lock.queuedRuns;
  }
}
