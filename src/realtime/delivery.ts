// Events out: turns bus events (after the commit) into server frames for this instance's sockets, in order,
// filling a socket's gaps from the store (DESIGN R5).
import type { AppServices } from '../app-services.ts';
import type { BusEvent, RepCard } from '../bus/port.ts';
import type { Message } from '../domain/types.ts';
import type { ClientSocket } from './client-socket.ts';
import { CLOSE } from './close-codes.ts';
import { messageFrame, queuedFrame } from './frames.ts';
import type { PresenceTracker } from './presence.ts';
import type { QueueNotifier } from './queue-notifier.ts';
import type { SocketRegistry } from './registry.ts';

/** What delivery asks of the gateway: work that goes through the services. */
export interface DeliveryHooks {
  /** An abandoned conversation whose customer socket is open here goes back to the queue. */
  reenter(conversationId: string): void;
  /** A publish failed after its commit somewhere: catch every socket here up from the store. */
  resync(): void;
}

const FILL_BATCH = 500;
/** Under the 1 MiB limit (1013) with room for live frames. */
const FILL_LOW_WATER = 256 * 1024;

export class Delivery {
  constructor(
    private readonly s: AppServices,
    private readonly registry: SocketRegistry,
    private readonly presence: PresenceTracker,
    private readonly notifier: QueueNotifier,
    private readonly hooks: DeliveryHooks = { reenter: () => undefined, resync: () => undefined },
  ) {}

  /** `version`: the conversation's version in this queued state; an older one than the socket's last is dropped. */
  /**
   * Queued in the store, but with no place in the router yet (router drift the reconciler is repairing):
   * waiting, told nothing yet. The queue notifier sends its first `queued` frame once the router places it.
   */
  markUnplaced(sock: ClientSocket): void {
    if (sock.waiting) return;
    sock.waiting = true;
    sock.lastPosition = 0;
    sock.lastQueuedFrameAt = 0;
  }

  markWaiting(sock: ClientSocket, position: number, estimate: number, version?: number): void {
    if (!sock.acceptRouting(version)) return;
    sock.routingFrames++;
    sock.waiting = true;
    sock.lastPosition = position;
    sock.lastQueuedFrameAt = Date.now();
    sock.send(queuedFrame(position, estimate, version));
  }

  onEvent(e: BusEvent): void {
    switch (e.kind) {
      case 'message':
        return this.deliverMessage(e.message);
      case 'typing':
      case 'read': {
        const frame =
          e.kind === 'typing'
            ? JSON.stringify({ type: 'typing', conversation: e.conversationId, user: e.username, typing: e.typing })
            : JSON.stringify({ type: 'read', conversation: e.conversationId, user: e.username, seq: e.seq });
        for (const sock of this.registry.conversation(e.conversationId)) if (sock.userId !== e.userId) sock.send(frame);
        return;
      }
      case 'assigned':
        return this.onAssigned(e);
      case 'requeued':
        return this.onRequeued(e);
      case 'closed':
        return this.onClosed(e);
      case 'abandoned':
        if (this.registry.customerConversationOpen(e.conversationId)) this.hooks.reenter(e.conversationId);
        return;
      case 'resync':
        return this.hooks.resync();
      case 'queue_changed':
        return this.notifier.poke();
      case 'logout':
        for (const sock of [...this.registry.user(e.userId)]) sock.close(CLOSE.badToken, 'Logged out');
        return;
    }
  }

  private deliverMessage(m: Message): void {
    const sockets = this.registry.conversation(m.conversationId);
    if (sockets.size === 0) return;
    // Counted where it is delivered: every instance hears every message, but only some hold its sockets.
    this.s.metrics.messagesRelayed.inc();
    this.s.metrics.fanoutLag.observe(Math.max(0, Date.now() - m.timestamp) / 1000);
    for (const sock of sockets) {
      if (sock.closed) continue;
      if (sock.lastSeqSent < 0) {
        sock.missedLive = true;
        continue;
      }
      if (m.seq === sock.lastSeqSent + 1) {
        sock.lastSeqSent = m.seq;
        sock.send(messageFrame(m));
      } else if (m.seq > sock.lastSeqSent + 1) {
        // A gap (frames raced across instances, or a resume in flight): fill from the store, in order.
        sock.enqueue(() => this.fill(sock));
      }
    }
  }

  /** Reads what the socket lacks from the store, in batches, each sent only once the peer took the last one. */
  async fill(sock: ClientSocket): Promise<void> {
    for (;;) {
      await sock.drained();
      if (sock.closed) return;
      const batch = await this.s.ctx.store.messagesAfter(sock.conversationId!, sock.lastSeqSent, FILL_BATCH);
      for (const m of batch) {
        // Live frames may have advanced the socket while this batch was read: skip what it has.
        if (m.seq <= sock.lastSeqSent) continue;
        if (m.seq !== sock.lastSeqSent + 1) return;
        sock.lastSeqSent = m.seq;
        sock.send(messageFrame(m));
        // A batch can hold 2 MB of text: wait for the peer within it, not only between batches. Live frames
        // that arrive meanwhile advance lastSeqSent, and the checks above skip what they sent.
        if (sock.ws.bufferedAmount > FILL_LOW_WATER) {
          await sock.drained(FILL_LOW_WATER);
          if (sock.closed) return;
        }
      }
      if (batch.length < FILL_BATCH) return;
    }
  }

  /** Once per socket and rep: the event and the connect-time check may both want to say it. */
  sendAssigned(sock: ClientSocket, a: { conversationId: string; rep: RepCard; version?: number }): void {
    if (!sock.acceptRouting(a.version)) return;
    sock.waiting = false;
    if (sock.assignedRepId === a.rep.id) return;
    sock.assignedRepId = a.rep.id;
    sock.routingFrames++;
    const rep = { id: a.rep.id, username: a.rep.username, first_name: a.rep.firstName };
    sock.send(JSON.stringify({ type: 'assigned', conversation: a.conversationId, rep, ...(a.version ? { version: a.version } : {}) }));
  }

  private onAssigned(e: Extract<BusEvent, { kind: 'assigned' }>): void {
    this.s.metrics.conversationsAssigned.inc();
    for (const sock of this.registry.conversation(e.conversationId)) {
      if (sock.userId === e.customer.userId) {
        this.sendAssigned(sock, e);
        this.presence.customerBack(e.conversationId);
      } else if (e.fromRep && sock.userId === e.fromRep.userId) {
        sock.send(JSON.stringify({ type: 'unassigned', conversation: e.conversationId, reason: 'transfer' }));
        sock.close(CLOSE.normal, 'Transferred');
      }
    }
    const toRep = JSON.stringify({ type: 'assigned', conversation: e.conversationId, customer: { id: e.customer.id, username: e.customer.username } });
    for (const sock of this.registry.agents(e.rep.id)) {
      sock.held.add(e.conversationId);
      sock.routingFrames++;
      sock.send(toRep);
    }
    if (e.fromRep) {
      const frame = JSON.stringify({ type: 'unassigned', conversation: e.conversationId, reason: 'transfer' });
      for (const sock of this.registry.agents(e.fromRep.id)) {
        sock.held.delete(e.conversationId);
        sock.routingFrames++;
        sock.send(frame);
      }
    }
  }

  private onRequeued(e: Extract<BusEvent, { kind: 'requeued' }>): void {
    const unassigned = JSON.stringify({ type: 'unassigned', conversation: e.conversationId, reason: e.reason });
    const customers: ClientSocket[] = [];
    for (const sock of [...this.registry.conversation(e.conversationId)]) {
      if (sock.userId === e.customerUserId) customers.push(sock);
      else if (e.rep && sock.userId === e.rep.userId) {
        sock.send(unassigned);
        sock.close(CLOSE.normal, 'Conversation requeued');
      }
    }
    if (e.rep) {
      for (const sock of this.registry.agents(e.rep.id)) {
        sock.held.delete(e.conversationId);
        sock.routingFrames++;
        sock.send(unassigned);
      }
    }
    if (customers.length === 0) {
      this.presence.customerLeft(e.conversationId);
      return;
    }
    // The customer hears `queued` with its place at once, so it always precedes a later `assigned`.
    const estimate = this.s.queueViewer.estimateNow(e.position);
    for (const sock of customers) {
      if (sock.closed || !sock.acceptRouting(e.version)) continue;
      sock.assignedRepId = undefined;
      this.markWaiting(sock, e.position, estimate, e.version);
    }
  }

  private onClosed(e: Extract<BusEvent, { kind: 'closed' }>): void {
    const closed = JSON.stringify({ type: 'closed', conversation: e.conversationId, by: e.by, reason: e.reason });
    for (const sock of [...this.registry.conversation(e.conversationId)]) {
      sock.waiting = false;
      // After whatever the socket is still doing (a gap fill above all): `closed` never overtakes a message.
      sock.enqueue(async () => {
        // The customer learns who served it before it hears the close, even when the assignment's own event
        // was lost with the instance that committed it.
        if (e.rep && sock.identity?.customer && !sock.closed) this.sendAssigned(sock, { conversationId: e.conversationId, rep: e.rep });
        if (e.redirectId && sock.id === e.originSocket) sock.send(JSON.stringify({ type: 'redirect', redirect_id: e.redirectId }));
        sock.send(closed);
        sock.close(CLOSE.normal, 'Conversation closed');
      });
    }
    this.presence.customerBack(e.conversationId);
    if (e.repUserId !== null) {
      const frame = JSON.stringify({ type: 'unassigned', conversation: e.conversationId, reason: 'closed' });
      for (const sock of this.registry.user(e.repUserId)) {
        if (sock.kind !== 'agent') continue;
        sock.held.delete(e.conversationId);
        sock.routingFrames++;
        sock.send(frame);
      }
    }
  }
}
