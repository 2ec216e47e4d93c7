// Pushes queue movement: `queued` frames to waiting customers when their position changes (at most one a
// second per socket, merged, never dropped) and `queue` frames to agent sockets (at most one a second).
//
// Cost model (independent of the queue's length n, but for the log n of a rank lookup): a refresh reads the
// queue's length and oldest wait (O(log n)), then looks up the rank of at most `batch` conversations whose
// customer sockets are waiting on this instance, are due a frame (none in the last second), and have not
// been looked up since the queue last moved. A socket is looked up at most once per movement and sent a
// frame only when its position changed. What the batch leaves over goes in the next refresh (>= 100 ms on).
import type { QueueViewer } from '../services/queue-view.ts';
import type { Router } from '../routing/port.ts';
import type { ClientSocket } from './client-socket.ts';
import { queuedFrame } from './frames.ts';

const MIN_GAP_MS = 100;
/** Rank lookups per refresh at most: on Redis, one `positions` call of this many ZRANKs. */
export const NOTIFY_BATCH = 500;

function queueFrame(length: number, oldestQueuedAt: number | null, now: number): string {
  const oldestWaitS = oldestQueuedAt === null ? 0 : Math.max(0, Math.floor((now - oldestQueuedAt) / 1000));
  return JSON.stringify({ type: 'queue', length, oldest_wait_s: oldestWaitS });
}

/** What the notifier reads of the socket registry: only this instance's sockets. */
export interface NotifierSockets {
  waitingCustomers(): Iterable<ClientSocket>;
  allAgents(): Iterable<ClientSocket>;
}

export class QueueNotifier {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastAgentFrameAt = 0;
  private lastAgentKey = '';
  private stopped = false;
  private lastRefreshAt = 0;
  /** Grows with each poke (the queue moved); a socket looked up at this generation needs no new lookup. */
  private generation = 1;
  private readonly checkedAt = new WeakMap<ClientSocket, number>();

  constructor(
    private readonly registry: NotifierSockets,
    private readonly viewer: Pick<QueueViewer, 'estimateFor' | 'estimateNow'>,
    private readonly router: Pick<Router, 'stats' | 'positions'>,
    private readonly onError: (err: unknown) => void,
    private readonly batch = NOTIFY_BATCH,
  ) {}

  /**
   * Something moved: recompute soon. Calls while a refresh runs are merged into one more pass, and
   * passes are at least MIN_GAP_MS apart: a drain moves the queue thousands of times a second, while a
   * socket hears its position at most once a second anyway.
   */
  poke(): void {
    this.generation++;
    this.wake();
  }

  private wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = true;
    const wait = this.lastRefreshAt + MIN_GAP_MS - Date.now();
    if (wait > 0) setTimeout(() => void this.refresh(), wait).unref();
    else setImmediate(() => void this.refresh());
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.wake();
    }, delayMs);
    this.timer.unref();
  }

  /** The sockets to look up now (at most `batch` conversations), and when the next one falls due. */
  private due(now: number): { byConversation: Map<string, ClientSocket[]>; soonest: number; more: boolean } {
    const byConversation = new Map<string, ClientSocket[]>();
    let soonest = Infinity;
    let more = false;
    for (const s of this.registry.waitingCustomers()) {
      if (this.checkedAt.get(s) === this.generation || !s.conversationId) continue;
      const dueAt = s.lastQueuedFrameAt + 1000;
      if (now < dueAt) {
        soonest = Math.min(soonest, dueAt - now);
        continue;
      }
      const group = byConversation.get(s.conversationId);
      if (group) group.push(s);
      else if (byConversation.size < this.batch) byConversation.set(s.conversationId, [s]);
      else more = true;
    }
    return { byConversation, soonest, more };
  }

  /** One pass; normally run by poke(), and by hand in tests (with the notifier stopped). */
  async refresh(): Promise<void> {
    this.lastRefreshAt = Date.now();
    const generation = this.generation;
    try {
      const stats = await this.router.stats();
      const now = Date.now();
      const { byConversation, soonest: customerDue, more } = this.due(now);
      let soonest = customerDue;
      if (byConversation.size > 0) {
        const ids = [...byConversation.keys()];
        const places = await this.router.positions(ids);
        await this.viewer.estimateFor(1);
        const sentAt = Date.now();
        ids.forEach((id, i) => {
          const position = places[i].position;
          for (const s of byConversation.get(id)!) {
            this.checkedAt.set(s, generation);
            if (position === 0 || position === s.lastPosition || !s.waiting || s.closed) continue;
            s.lastPosition = position;
            s.lastQueuedFrameAt = sentAt;
            s.send(queuedFrame(position, this.viewer.estimateNow(position)));
          }
        });
      }
      if (more) soonest = Math.min(soonest, MIN_GAP_MS);
      // Agents hear of a change in length or head, not of the oldest wait merely growing.
      const agentKey = `${stats.length}:${stats.oldestQueuedAt}`;
      const agentDue = this.lastAgentFrameAt + 1000;
      if (agentKey !== this.lastAgentKey) {
        if (now >= agentDue) {
          this.lastAgentFrameAt = now;
          this.lastAgentKey = agentKey;
          const frame = queueFrame(stats.length, stats.oldestQueuedAt, now);
          for (const a of this.registry.allAgents()) a.send(frame);
        } else {
          soonest = Math.min(soonest, agentDue - now);
        }
      }
      if (soonest !== Infinity) this.schedule(Math.ceil(soonest));
    } catch (err) {
      this.onError(err);
    } finally {
      this.running = false;
      if (this.again) {
        this.again = false;
        this.wake();
      }
    }
  }

  /** The current queue frame, for an agent socket that just connected. */
  async agentSnapshot(): Promise<string> {
    const stats = await this.router.stats();
    return queueFrame(stats.length, stats.oldestQueuedAt, Date.now());
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
