// Pushes queue movement: `queued` frames to waiting customers when their position changes (at most one a
// second per socket, merged, never dropped) and `queue` frames to agent sockets (at most one a second).
import type { QueueViewer } from '../services/queue-view.ts';
import type { Router } from '../routing/port.ts';
import { queuedFrame } from './frames.ts';
import type { SocketRegistry } from './registry.ts';

const MIN_GAP_MS = 100;

function queueFrame(length: number, oldestQueuedAt: number | null, now: number): string {
  const oldestWaitS = oldestQueuedAt === null ? 0 : Math.max(0, Math.floor((now - oldestQueuedAt) / 1000));
  return JSON.stringify({ type: 'queue', length, oldest_wait_s: oldestWaitS });
}

export class QueueNotifier {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastAgentFrameAt = 0;
  private lastAgentKey = '';
  private stopped = false;
  private lastRefreshAt = 0;

  constructor(
    private readonly registry: SocketRegistry,
    private readonly viewer: QueueViewer,
    private readonly router: Pick<Router, 'stats'>,
    private readonly onError: (err: unknown) => void,
  ) {}

  /**
   * Something moved: recompute soon. Calls while a refresh runs are merged into one more pass, and
   * passes are at least MIN_GAP_MS apart: a drain moves the queue thousands of times a second, while a
   * socket hears its position at most once a second anyway.
   */
  poke(): void {
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
      this.poke();
    }, delayMs);
    this.timer.unref();
  }

  private async refresh(): Promise<void> {
    this.lastRefreshAt = Date.now();
    try {
      const view = await this.viewer.view();
      const now = Date.now();
      const positions = new Map(view.entries.map((e) => [e.conversationId, e]));
      let soonest = Infinity;
      for (const s of this.registry.waitingCustomers()) {
        const entry = positions.get(s.conversationId!);
        if (!entry || entry.position === s.lastPosition) continue;
        const due = s.lastQueuedFrameAt + 1000;
        if (now >= due) {
          s.lastPosition = entry.position;
          s.lastQueuedFrameAt = now;
          s.send(queuedFrame(entry.position, entry.estimatedWaitS));
        } else {
          soonest = Math.min(soonest, due - now);
        }
      }
      const oldest = view.entries.reduce<number | null>((m, e) => (m === null || e.queuedAt < m ? e.queuedAt : m), null);
      // Agents hear of a change in length or head, not of the oldest wait merely growing.
      const agentKey = `${view.entries.length}:${oldest}`;
      const agentDue = this.lastAgentFrameAt + 1000;
      if (agentKey !== this.lastAgentKey) {
        if (now >= agentDue) {
          this.lastAgentFrameAt = now;
          this.lastAgentKey = agentKey;
          const frame = queueFrame(view.entries.length, oldest, now);
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
        this.poke();
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
