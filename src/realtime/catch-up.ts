// Catch-up after a fan-out gap: the bus lost events while it reconnected, so every socket on this instance is
// brought up to what the store says (missed messages in order, closes, assignments, queue places).
import type { FastifyBaseLogger } from 'fastify';
import type { AppServices } from '../app-services.ts';
import type { ClientSocket } from './client-socket.ts';
import { CLOSE } from './close-codes.ts';
import type { Delivery } from './delivery.ts';
import type { QueueNotifier } from './queue-notifier.ts';
import type { SocketRegistry } from './registry.ts';

export class CatchUp {
  constructor(
    private readonly s: AppServices,
    private readonly registry: SocketRegistry,
    private readonly delivery: Delivery,
    private readonly notifier: QueueNotifier,
    private readonly log: FastifyBaseLogger,
    private readonly draining: () => boolean,
  ) {}

  /**
   * The fan-out may have lost events (it reconnected): every conversation with a socket here is brought up
   * to what the store says. Messages are filled in order; a conversation that closed meanwhile is closed;
   * a customer learns an assignment or its place in the queue.
   */
  async run(): Promise<void> {
    this.log.warn('events may have been lost (the fan-out reconnected, a publish failed, or an instance died): catching up from the store');
    for (const id of this.registry.conversationIds()) {
      for (const sock of this.registry.conversation(id)) {
        if (sock.closed) continue;
        if (sock.lastSeqSent < 0) {
          // Still being set up: it catches up once it knows its place (setUpChat).
          sock.needsCatchUp = true;
          continue;
        }
        // In the socket's own order, after anything it is already doing, and from a fresh read: live
        // events may have moved it on since the gap.
        sock.enqueue(() => this.catchUpSocket(sock, id));
      }
    }
    for (const repId of [...this.registry.repsWithAgents()]) {
      this.catchUpAgents(repId).catch((err) => this.log.error({ err }, 'catching up agent sockets failed'));
    }
    this.notifier.poke();
  }

  /** A rep's agent sockets hear the assignments and releases the fan-out lost. */
  private async catchUpAgents(repId: number, attempt = 1): Promise<void> {
    const seen = new Map([...this.registry.agents(repId)].map((sock) => [sock, sock.routingFrames]));
    const held = await this.s.ctx.store.assignedTo(repId);
    const heldIds = new Set(held.map((c) => c.id));
    let stale = false;
    for (const [sock, frames] of seen) {
      if (sock.closed) continue;
      // A live event reached it while this read: what was read may be older than what it knows. Read again.
      if (sock.routingFrames !== frames) {
        stale = true;
        continue;
      }
      for (const c of held) {
        if (sock.held.has(c.id)) continue;
        const customer = await this.s.ctx.customerCard(c.customerId);
        if (!customer || sock.closed) continue;
        sock.held.add(c.id);
        sock.send(JSON.stringify({ type: 'assigned', conversation: c.id, customer: { id: customer.id, username: customer.username } }));
      }
      for (const id of [...sock.held]) {
        if (heldIds.has(id)) continue;
        const now = await this.s.ctx.store.getConversation(id);
        const reason = now?.status === 'closed' ? 'closed' : now?.status === 'assigned' ? 'transfer' : 'requeued';
        sock.held.delete(id);
        sock.send(JSON.stringify({ type: 'unassigned', conversation: id, reason }));
      }
    }
    if (stale && attempt < 5) await this.catchUpAgents(repId, attempt + 1);
  }

  async catchUpSocket(sock: ClientSocket, id: string): Promise<void> {
    sock.needsCatchUp = false;
    if (this.draining() || sock.closed) return;
    await this.delivery.fill(sock);
    // A live assigned/queued frame sent while this reads makes what it read stale: it then says nothing.
    const routingFrames = sock.routingFrames;
    const conv = await this.s.ctx.store.getConversation(id);
    if (!conv || sock.closed) return;
    if (conv.status === 'closed') {
      sock.waiting = false;
      const by = conv.closedBy === 'rep' || conv.closedBy === 'customer' ? conv.closedBy : 'system';
      sock.send(JSON.stringify({ type: 'closed', conversation: id, by, reason: by === 'system' ? 'closed by the system' : `closed by the ${by}` }));
      sock.close(CLOSE.normal, 'Conversation closed');
    } else if (sock.identity?.customer) {
      if (conv.status === 'assigned' && conv.repId !== null) {
        const rep = await this.s.ctx.repCard(conv.repId);
        if (rep && sock.routingFrames === routingFrames) this.delivery.sendAssigned(sock, { conversationId: id, rep, version: conv.version });
      } else if (conv.status === 'queued' && !sock.waiting) {
        const position = await this.s.ctx.router.position(id);
        const estimate = position > 0 ? await this.s.queueViewer.estimateFor(position) : 0;
        if (position > 0 && sock.routingFrames === routingFrames && !sock.closed) {
          sock.assignedRepId = undefined;
          this.delivery.markWaiting(sock, position, estimate, conv.version);
        }
      }
    } else if (sock.identity?.rep && (conv.status !== 'assigned' || conv.repId !== sock.identity.rep.id)) {
      sock.send(JSON.stringify({ type: 'unassigned', conversation: id, reason: conv.status === 'assigned' ? 'transfer' : 'requeued' }));
      sock.close(CLOSE.normal, 'No longer assigned');
    }
  }
}
