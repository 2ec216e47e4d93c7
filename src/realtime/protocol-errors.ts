// A socket that breaks the protocol (a frame over maxPayload, a bad opcode, invalid UTF-8) is closed by
// ws with the right code (1009, 1002, 1007). What happens next decides whether the client ever sees it.
//
// ws half-closes the TCP connection right after its close frame, and @fastify/websocket's default error
// handler then destroys the socket while the client is still sending the rest of its frame. The unread
// bytes make the kernel answer with a reset, and a proxy in between (nginx) that gets the reset drops
// the close frame it had not yet forwarded: the client sees 1006 instead of 1009. So here the close
// frame goes out, the rest of the client's data is read and discarded, and our side of the connection
// ends only once the client has closed its own (it does, after echoing the close frame), or after a
// bounded wait.
import type { Socket } from 'node:net';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';

export const LINGER_MS = 10_000;

/** ws tags the errors of a peer that broke the protocol with a WS_ERR_ code. */
function isProtocolError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('WS_ERR_');
}

/** Defers the end of our side until the peer has ended its own, with `timeoutMs` as the bound. */
export function endAfterPeer(tcp: Socket, timeoutMs = LINGER_MS): void {
  if (tcp.destroyed) return;
  const realEnd = tcp.end.bind(tcp);
  let done = false;
  const finish = () => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    tcp.end = realEnd;
    if (!tcp.destroyed) realEnd();
  };
  tcp.end = ((...args: unknown[]) => {
    const cb = args.find((a) => typeof a === 'function') as (() => void) | undefined;
    if (cb) tcp.once('finish', cb);
    return tcp;
  }) as typeof tcp.end;
  // The data still arriving is read and dropped (ws resumed the socket without a data listener).
  tcp.once('end', finish);
  tcp.once('close', finish);
  const timer = setTimeout(() => {
    finish();
    tcp.destroy();
  }, timeoutMs);
  timer.unref();
}

/** Errors on an established socket; `log` carries the socket's request id and conversation. */
export function handleSocketError(err: Error, ws: WebSocket, log: FastifyBaseLogger, tcp: Socket | undefined, conversationId?: string): void {
  if (isProtocolError(err)) {
    log.info({ err: { code: (err as { code?: string }).code, message: err.message }, conversationId }, 'socket broke the protocol; closing');
    if (tcp) endAfterPeer(tcp);
    return;
  }
  log.warn({ err, conversationId }, 'socket error');
  ws.terminate();
}

/**
 * @fastify/websocket's errorHandler: errors before the gateway has taken the socket over (the gateway then
 * replaces the plugin's listener, which holds the request and reply, with its own).
 */
export function socketErrorHandler(err: Error, ws: WebSocket, req: FastifyRequest): void {
  const conversationId = (req.params as { conversationId?: string } | undefined)?.conversationId;
  handleSocketError(err, ws, req.log, req.raw.socket, conversationId);
}
