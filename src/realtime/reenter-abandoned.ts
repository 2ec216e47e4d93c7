// An abandon committed while a customer socket of the conversation was open here after all (it came back as the
// grace period ended): the conversation goes back to the tail of the queue, and the socket hears `queued` with
// its new place.
import type { FastifyBaseLogger } from 'fastify';
import type { AppServices } from '../app-services.ts';
import { enqueueConversation } from '../services/enqueue.ts';
import type { Delivery } from './delivery.ts';
import type { SocketRegistry } from './registry.ts';

export async function reenterAbandoned(s: AppServices, registry: SocketRegistry, delivery: Delivery, log: FastifyBaseLogger, conversationId: string): Promise<void> {
  const customers = () => [...registry.conversation(conversationId)].filter((x) => x.identity?.customer && !x.closed);
  if (customers().length === 0) return;
  try {
    const out = await enqueueConversation(s.ctx, conversationId, { estimate: (p) => s.queueViewer.estimateFor(p) });
    if (out.conversation.status !== 'queued') return;
    // Enqueued here or by another instance's socket: either way this one's sockets learn their place.
    await s.ctx.lock.run(async () => {
      const position = await s.ctx.router.position(conversationId);
      if (position === 0) return;
      const estimate = await s.queueViewer.estimateFor(position);
      for (const sock of customers()) {
        sock.assignedRepId = undefined;
        delivery.markWaiting(sock, position, estimate, out.conversation.version);
      }
    });
  } catch (err) {
    log.error({ err, conversationId }, 'putting an abandoned conversation with an open socket back in the queue failed');
  }
}
