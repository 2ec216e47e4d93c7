// The end of a drain: every socket has been sent its close frame (1012) and its writes are done.
import type { ClientSocket } from './client-socket.ts';

/** How long a drain waits for clients to answer its close frames before cutting their connections. */
export const CLOSE_HANDSHAKE_MS = 2000;

/**
 * A peer that never answers our close frame (frozen, gone, a half-open connection) would hold the
 * server's close until ws's own 30 s timeout, past the drain's bound, and the process would exit 1.
 * Its messages are stored and its client resumes with ?last_seq=, so after a short wait it is cut.
 */
export async function cutUnansweredCloses(sockets: Iterable<ClientSocket>, waitMs = CLOSE_HANDSHAKE_MS): Promise<void> {
  const open = [...sockets].filter((sock) => sock.ws.readyState !== sock.ws.CLOSED);
  if (open.length === 0) return;
  let timer: NodeJS.Timeout | undefined;
  const closed = (sock: ClientSocket) => new Promise<void>((resolve) => (sock.ws.readyState === sock.ws.CLOSED ? resolve() : sock.ws.once('close', () => resolve())));
  await Promise.race([
    Promise.all(open.map(closed)),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, waitMs);
      timer.unref();
    }),
  ]);
  clearTimeout(timer);
  for (const sock of open) if (sock.ws.readyState !== sock.ws.CLOSED) sock.ws.terminate();
}
