// Frames in: parses what a set-up socket sends and turns it into service calls (message, typing, read,
// close, ping), one frame at a time per socket, counting the frames in flight so that a drain can wait.
import type { RawData } from 'ws';
import type { AppServices } from '../app-services.ts';
import { DomainError } from '../domain/errors.ts';
import type { ClientSocket } from './client-socket.ts';
import type { SocketQuota } from './socket-quota.ts';
import { errorFrame, FrameError, messageFrame, parseClientFrame, type ClientFrame } from './frames.ts';
import { sendMessage } from '../services/messages.ts';
import { closeConversation, closeIfHeld } from '../services/close.ts';

type Handler = (s: ClientSocket, f: ClientFrame) => Promise<void>;

export class Inbound {
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly handlers: Record<ClientFrame['type'], Handler>;

  constructor(
    private readonly s: AppServices,
    private readonly quota: SocketQuota,
  ) {
    this.handlers = {
      message: (sock, f) => this.onMessage(sock, f as Extract<ClientFrame, { type: 'message' }>),
      typing: (sock, f) => this.onTyping(sock, f as Extract<ClientFrame, { type: 'typing' }>),
      read: (sock, f) => this.onRead(sock, f as Extract<ClientFrame, { type: 'read' }>),
      close: (sock) => this.onClose(sock),
      ping: async (sock) => sock.send('{"type":"pong"}'),
    };
  }

  /** Resolves once no frame is being handled (SIGTERM's drain lets their writes finish). */
  idle(): Promise<void> {
    if (this.inflight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.idleWaiters.push(resolve);
    });
  }

  onRaw(sock: ClientSocket, data: RawData, isBinary: boolean): void {
    if (sock.closed) return;
    const rate = sock.overRate(Date.now());
    if (rate.drop) {
      if (rate.warn) sock.send(errorFrame('rate_limited', `More than ${this.s.config.wsFramesPerS} frames a second; this frame was dropped.`));
      return;
    }
    const raw = isBinary ? null : Array.isArray(data) ? Buffer.concat(data).toString('utf8') : data.toString();
    if (raw === null) {
      sock.send(errorFrame('bad_frame', 'Binary frames are not supported.'));
      return;
    }
    if (!sock.ready) {
      sock.hold(raw);
      return;
    }
    this.handleRaw(sock, raw);
  }

  handleRaw(sock: ClientSocket, raw: string): void {
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(raw);
    } catch (err) {
      if (err instanceof FrameError) sock.send(errorFrame(err.code, err.message));
      return;
    }
    if (sock.kind === 'agent' && frame.type !== 'ping') {
      sock.send(errorFrame('bad_frame', 'The agent socket takes only ping frames.'));
      return;
    }
    this.inflight++;
    sock.enqueue(async () => {
      try {
        await this.handlers[frame.type](sock, frame);
      } catch (err) {
        if (err instanceof DomainError) {
          sock.send(errorFrame(err.status === 409 ? 'closed' : err.status === 400 ? 'bad_frame' : 'not_allowed', err.message));
        } else {
          sock.log.error({ err }, 'frame handler failed');
          sock.send(errorFrame('bad_frame', 'The frame could not be handled.'));
        }
      } finally {
        if (--this.inflight === 0) for (const w of this.idleWaiters.splice(0)) w();
      }
    });
  }

  private async onMessage(sock: ClientSocket, f: Extract<ClientFrame, { type: 'message' }>): Promise<void> {
    const identity = sock.identity!;
    if (f.closeChat) {
      if (!identity.rep) return sock.send(errorFrame('not_allowed', 'Only the rep may close the chat this way.'));
      return this.onClose(sock);
    }
    if (!(await this.quota.messageAllowed(identity.user.id))) {
      return sock.send(errorFrame('rate_limited', `More than ${this.s.config.messagesPerUserPerS} messages a second from this account; this one was not sent.`));
    }
    const { message, duplicate } = await sendMessage(this.s.ctx, {
      conversationId: sock.conversationId!,
      authorId: identity.user.id,
      username: identity.user.username,
      text: f.text,
      clientId: f.clientId,
      repId: identity.rep?.id,
    });
    // A retried client_id gets the stored frame back on this socket only.
    if (duplicate) sock.send(messageFrame(message));
  }

  private async onTyping(sock: ClientSocket, f: Extract<ClientFrame, { type: 'typing' }>): Promise<void> {
    const u = sock.identity!.user;
    await this.s.ctx.bus.publish({ kind: 'typing', conversationId: sock.conversationId!, userId: u.id, username: u.username, typing: f.typing });
  }

  private async onRead(sock: ClientSocket, f: Extract<ClientFrame, { type: 'read' }>): Promise<void> {
    const u = sock.identity!.user;
    await this.s.ctx.bus.publish({ kind: 'read', conversationId: sock.conversationId!, userId: u.id, username: u.username, seq: f.seq });
  }

  private async onClose(sock: ClientSocket): Promise<void> {
    const identity = sock.identity!;
    const by = identity.rep ? 'rep' : 'customer';
    // The rep holds the chat as a rule: the store's conditional close checks it; a refusal is explained below.
    if (identity.rep && (await closeIfHeld(this.s.ctx, { conversationId: sock.conversationId!, by: 'rep', closingRepId: identity.rep.id, originSocket: sock.id }))) return;
    const conv = await this.s.ctx.store.getConversation(sock.conversationId!);
    if (!conv || conv.status === 'closed') return sock.send(errorFrame('closed', 'The conversation is already closed.'));
    if (by === 'rep' && conv.repId !== identity.rep!.id) return sock.send(errorFrame('not_allowed', 'You no longer hold this conversation.'));
    await closeConversation(this.s.ctx, { conversationId: conv.id, by, closingRepId: identity.rep?.id, originSocket: sock.id });
  }
}
