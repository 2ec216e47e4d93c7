// leaveMessage: with no rep online, a customer leaves a message; the conversation waits in the queue,
// with nobody connected, until a rep comes online and is assigned it.
import { DomainError } from '../domain/errors.ts';
import type { Message } from '../domain/types.ts';
import type { ServiceContext } from './context.ts';
import { enqueueConversation } from './enqueue.ts';
import { sendMessage } from './messages.ts';

export async function leaveMessage(
  ctx: ServiceContext,
  req: { conversationId: string; authorId: number; username: string; text: string; clientId: string | null },
): Promise<{ message: Message; duplicate: boolean; assigned: boolean }> {
  // Marked before it is queued, so that the abandonment sweep can never catch it in between.
  if (!(await ctx.store.markLeftMessage(req.conversationId, ctx.now()))) throw new DomainError(409, 'closed', 'The conversation is closed.');
  const { assigned } = await enqueueConversation(ctx, req.conversationId);
  const sent = await sendMessage(ctx, req);
  return { ...sent, assigned };
}
