// sendMessage: stores a chat message (gapless seq, client_id dedupe) and then fans it out.
import { DomainError, forbidden } from '../domain/errors.ts';
import { statesAllowing } from '../domain/conversation.ts';
import type { ConversationStatus, Message } from '../domain/types.ts';
import type { ServiceContext } from './context.ts';

export const MAX_MESSAGE_CHARS = 4000;

export interface SendRequest {
  conversationId: string;
  authorId: number;
  username: string;
  text: string;
  clientId: string | null;
  /** Set when the author writes as the conversation's rep: refused once it no longer holds it. */
  repId?: number;
}

/** Stored before delivered (invariant 3). A duplicate client_id returns the stored message and broadcasts nothing. */
export async function sendMessage(ctx: ServiceContext, req: SendRequest): Promise<{ message: Message; duplicate: boolean }> {
  const result = await ctx.store.appendMessage({
    conversationId: req.conversationId,
    authorId: req.authorId,
    text: req.text,
    clientId: req.clientId,
    timestamp: ctx.now(),
    username: req.username,
    repId: req.repId,
  });
  if (result.kind === 'refused') {
    if (req.repId !== undefined && result.status !== null && statesAllowing('message').includes(result.status as ConversationStatus)) {
      throw forbidden('You no longer hold this conversation.');
    }
    throw new DomainError(409, 'closed', `The conversation is ${result.status ?? 'gone'}.`);
  }
  if (result.kind === 'duplicate') {
    // Another participant's client_id: refuse loudly rather than answer with someone else's message.
    if (result.message.authorId !== req.authorId) throw new DomainError(400, 'bad_frame', 'That client_id is already used in this conversation.');
    return { message: result.message, duplicate: true };
  }
  await ctx.publish({ kind: 'message', conversationId: req.conversationId, message: result.message });
  return { message: result.message, duplicate: false };
}
