// Pushes queue movement: `queued` frames to waiting customers when their position changes (at most one a
// second per socket, merged, never dropped) and `queue` frames to agent sockets (at most one a second).
import type { QueueViewer } from '../services/queue-view.ts';
import { queuedFrame } from './frames.ts';
import type { SocketRegistry } from './registry.ts';

const MIN_GAP_MS = 100;

export class QueueNotifier {
  private running = false;
  private again = false;
  private timer: NodeJS.Timeout | undefined;
  private lastAgentFrameAt = 0;
  private lastAgentFrame = '';
  private stopped = false;
  private lastRefreshAt = 0;

  constructor(
    private readonly registry: SocketRegistry,
    private readonly viewer: QueueViewer,
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
      const oldest = view.entries.reduce((m, e) => Math.min(m, e.queuedAt), Infinity);
      const agentFrame = JSON.stringify({
        type: 'queue',
        length: view.entries.length,
        oldest_wait_s: oldest === Infinity ? 0 : Math.max(0, Math.floor((now - oldest) / 1000)),
      });
      const agentDue = this.lastAgentFrameAt + 1000;
      const agentChanged = agentFrame.replace(/"oldest_wait_s":\d+/, '') !== this.lastAgentFrame.replace(/"oldest_wait_s":\d+/, '');
      if (agentChanged) {
        if (now >= agentDue) {
          this.lastAgentFrameAt = now;
          this.lastAgentFrame = agentFrame;
          for (const a of this.registry.allAgents()) a.send(agentFrame);
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
    const view = await this.viewer.view();
    const now = Date.now();
    const oldest = view.entries.reduce((m, e) => Math.min(m, e.queuedAt), Infinity);
    return JSON.stringify({ type: 'queue', length: view.entries.length, oldest_wait_s: oldest === Infinity ? 0 : Math.max(0, Math.floor((now - oldest) / 1000)) });
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }
}
