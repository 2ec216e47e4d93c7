// One connected WebSocket: who it is, what it has been sent, its frame budget, and its ordered work chain.
// Thousands sit idle per instance, so what only some sockets need (an agent's held set, frames that came
// before authentication, a work chain, a child logger) is made when first needed, not per socket.
import { randomUUID } from 'node:crypto';
import type { WebSocket } from 'ws';
import type { FastifyBaseLogger, FastifyRequest } from 'fastify';
import type { Identity } from '../domain/types.ts';

const MAX_BUFFERED = 1024 * 1024;

interface Corkable {
  cork(): void;
  uncork(): void;
}

function uncork(sock: ClientSocket, tcp: Corkable): void {
  sock.corked = false;
  tcp.uncork();
}

export class ClientSocket {
  /** Flat: randomUUID() returns a rope of ~14 string pieces (~450 B), and this lives as long as the socket. */
  readonly id = flat(randomUUID());
  identity: Identity | undefined;
  conversationId: string | undefined;
  /** Highest message seq this socket has been sent: live frames at or below it are duplicates.
   *  -1 until the socket's place in the history is known; no message is sent before that. */
  lastSeqSent = -1;
  /** A message went by on the bus before lastSeqSent was known: the setup must read the store. */
  missedLive = false;
  /** The fan-out lost events while this socket was being set up: it catches up once set up. */
  needsCatchUp = false;
  /** How many assigned/queued frames it was sent: a catch-up that sees this move knows its read is stale. */
  routingFrames = 0;
  /**
   * The conversation version of the newest routing frame (queued, assigned) it was sent: an older one that
   * arrives later (published on another instance before a racing transition) is dropped.
   */
  routingVersion = 0;
  private heldIds: Set<string> | undefined;
  ready = false;
  alive = true;
  closed = false;
  /** Frames received before authentication finished, handled in order once it has. */
  private pending: string[] | undefined;
  /** A queued customer: gets `queued` frames as its position moves. */
  waiting = false;
  /** The rep this customer socket was told about in `assigned`. */
  assignedRepId: number | undefined;
  lastPosition = 0;
  lastQueuedFrameAt = 0;
  /** Its TCP socket is corked until the end of this turn (see send). */
  corked = false;
  private windowStart = 0;
  private windowCount = 0;
  private warnedThisWindow = 0;
  /** The tail of the work chain while work is queued; undefined when the socket has nothing to do. */
  private chain: Promise<void> | undefined;
  private queued = 0;

  constructor(
    readonly ws: WebSocket,
    readonly kind: 'chat' | 'agent',
    private readonly framesPerS: number,
    private readonly baseLog: FastifyBaseLogger,
    /** The upgrade's request id, and for a chat the conversation id it asked for: a socket's lines can be followed. */
    private readonly logTags: SocketLogTags,
  ) {}

  /** A child logger made per use: a socket logs a few lines in its life, and holding one costs ~1 KiB. */
  get log(): FastifyBaseLogger {
    return this.baseLog.child(this.logTags);
  }

  /** Agent sockets: the conversations it knows its rep holds (from connect, then assigned/unassigned frames). */
  get held(): Set<string> {
    return (this.heldIds ??= new Set());
  }

  /** Keeps a frame that came before authentication finished. */
  hold(raw: string): void {
    (this.pending ??= []).push(raw);
  }

  /** The frames held so far, in arrival order; none are held afterwards. */
  takePending(): string[] {
    const out = this.pending ?? [];
    this.pending = undefined;
    return out;
  }

  get userId(): number {
    return this.identity!.user.id;
  }

  /**
   * Sends unless the peer is too slow: past 1 MiB unsent, the socket is closed with 1013.
   * The frames a socket is sent in one turn of the event loop (a batch of stored messages, a close's
   * redirect and closed) leave in one write: on loopback each write costs tens of microseconds.
   */
  send(frame: string): void {
    if (this.closed || this.ws.readyState !== this.ws.OPEN) return;
    const tcp = (this.ws as unknown as { _socket?: Corkable })._socket;
    if (!this.corked && tcp) {
      tcp.cork();
      this.corked = true;
      process.nextTick(uncork, this, tcp);
    }
    this.ws.send(frame);
    if (this.ws.bufferedAmount <= MAX_BUFFERED) return;
    // Bytes held back by the cork are this turn's, not the peer's backlog: hand them over before judging.
    if (this.corked && tcp) uncork(this, tcp);
    if (this.ws.bufferedAmount > MAX_BUFFERED) this.close(1013, 'Client too slow');
  }

  close(code: number, reason = ''): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.ws.close(code, reason);
    } catch {
      this.ws.terminate();
    }
  }

  /** A fixed one-second window; true when this frame is over budget (and should be dropped). */
  overRate(now: number): { drop: boolean; warn: boolean } {
    if (now - this.windowStart >= 1000) {
      this.windowStart = now;
      this.windowCount = 0;
      this.warnedThisWindow = 0;
    }
    this.windowCount++;
    if (this.windowCount <= this.framesPerS) return { drop: false, warn: false };
    // Each dropped frame is answered, up to a bound, so that a flood cannot make us flood back.
    const warn = this.warnedThisWindow < this.framesPerS * 5;
    this.warnedThisWindow++;
    return { drop: true, warn };
  }

  /** False when a routing frame of this version is older than one already sent (and must be dropped). */
  acceptRouting(version: number | undefined): boolean {
    if (version === undefined) return true;
    if (version < this.routingVersion) return false;
    this.routingVersion = version;
    return true;
  }

  /**
   * Resolves once the unsent buffer is back under `lowWater` (or the socket closed): a long history resume
   * waits for the peer instead of piling up past the 1 MiB limit and being cut with 1013.
   */
  async drained(lowWater = MAX_BUFFERED / 4): Promise<void> {
    while (!this.closed && this.ws.readyState === this.ws.OPEN && this.ws.bufferedAmount > lowWater) {
      // The TCP socket says when its buffer emptied; the timer covers bytes still in ws's own queue.
      const tcp = (this.ws as unknown as { _socket?: NodeJS.EventEmitter })._socket;
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          tcp?.off('drain', done);
          resolve();
        };
        const timer = setTimeout(done, 20);
        tcp?.once('drain', done);
      });
    }
  }

  /** Work for this socket runs one item at a time, in arrival order. */
  enqueue(work: () => Promise<void>): void {
    this.queued++;
    this.chain = (this.chain ?? Promise.resolve())
      .then(work)
      .catch(() => undefined)
      .finally(() => {
        if (--this.queued === 0) this.chain = undefined;
      });
  }
}

export interface SocketLogTags {
  reqId: string;
  socket: 'chat' | 'agent';
  conversationId?: string;
}

/** The upgrade request's id, plus the socket's kind and, for a chat, the conversation id . */
export function socketLogTags(req: FastifyRequest, kind: 'chat' | 'agent'): SocketLogTags {
  const conversationId = (req.params as { conversationId?: unknown } | undefined)?.conversationId;
  const reqId = flat(String(req.id));
  return typeof conversationId === 'string' ? { reqId, socket: kind, conversationId: flat(conversationId.slice(0, 64)) } : { reqId, socket: kind };
}

/** A flat copy of a string that may be a rope of pieces or a slice that keeps a larger string alive. */
function flat(s: string): string {
  return Buffer.from(s).toString();
}
