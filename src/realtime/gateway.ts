// The WebSocket gateway: authenticates sockets, turns client frames into service calls, and turns bus
// events into server frames for this instance's sockets.
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket, RawData } from 'ws';
import type { AppServices } from '../app-services.ts';
import type { BusEvent, RepCard } from '../bus/port.ts';
import { DomainError } from '../domain/errors.ts';
import type { Message } from '../domain/types.ts';
import { isUuid } from '../store/uuid.ts';
import { bearerToken } from '../http/auth.ts';
import { ClientSocket } from './client-socket.ts';
import { SocketRegistry } from './registry.ts';
import { LocalPresence, type PresenceFactory, type PresenceTracker } from './presence.ts';
import { QueueNotifier } from './queue-notifier.ts';
import { errorFrame, FrameError, messageFrame, parseClientFrame, queuedFrame, type ClientFrame } from './frames.ts';
import { enqueueConversation } from '../services/enqueue.ts';
import { sendMessage } from '../services/messages.ts';
import { closeConversation } from '../services/close.ts';
import { updateRepSettings } from '../services/reps.ts';

export const CLOSE = {
  normal: 1000,
  restarting: 1012,
  tooSlow: 1013,
  badToken: 4401,
  forbidden: 4403,
  notFound: 4404,
  closed: 4409,
} as const;

type Handler = (s: ClientSocket, f: ClientFrame) => Promise<void>;

export class Gateway {
  readonly registry = new SocketRegistry();
  readonly presence: PresenceTracker;
  readonly notifier: QueueNotifier;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private draining = false;
  private inflight = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly handlers: Record<ClientFrame['type'], Handler>;
  private readonly historyAtOpen = new WeakMap<FastifyRequest, number>();

  constructor(
    private readonly s: AppServices,
    private readonly log: FastifyBaseLogger,
    presenceFactory: PresenceFactory = (ctx, opts, l) => new LocalPresence(ctx, opts, l),
  ) {
    this.presence = presenceFactory(
      s.ctx,
      {
        repGraceMs: s.config.repGraceMs,
        customerGraceMs: s.config.customerGraceMs,
        repHasSocket: (repId) => this.registry.agents(repId).size > 0,
        customerHasSocket: (conversationId) => [...this.registry.conversation(conversationId)].some((x) => x.identity?.customer && !x.closed),
        localReps: () => this.registry.repsWithAgents(),
        localCustomerConversations: () => this.registry.conversationsWithCustomers(),
      },
      log,
    );
    this.notifier = new QueueNotifier(this.registry, s.queueViewer, s.ctx.router, (err) => log.error({ err }, 'queue notifier failed'));
    this.handlers = {
      message: (sock, f) => this.onMessage(sock, f as Extract<ClientFrame, { type: 'message' }>),
      typing: (sock, f) => this.onTyping(sock, f as Extract<ClientFrame, { type: 'typing' }>),
      read: (sock, f) => this.onRead(sock, f as Extract<ClientFrame, { type: 'read' }>),
      close: (sock) => this.onClose(sock),
      ping: async (sock) => sock.send('{"type":"pong"}'),
    };
  }

  async start(app: FastifyInstance): Promise<void> {
    const offEvents = this.s.ctx.bus.subscribe((e) => this.onEvent(e));
    const offMissed = this.s.ctx.bus.onMissed(() => {
      this.catchUp().catch((err) => this.log.error({ err }, 'catching up after a fan-out gap failed'));
    });
    this.unsubscribe = () => {
      offEvents();
      offMissed();
    };
    app.get(
      '/ws/customer_support/:conversationId',
      { websocket: true, schema: { hide: true }, preHandler: (req) => this.noteHistoryAtOpen(req) },
      (ws, req) => this.acceptChat(ws, req),
    );
    app.get('/ws/agent', { websocket: true, schema: { hide: true } }, (ws, req) => this.acceptAgent(ws, req));
    // Any other socket path still completes the handshake, then hears 4404: never an HTTP error on upgrade.
    for (const path of ['/ws', '/ws/*']) {
      app.get(path, { websocket: true, schema: { hide: true } }, (ws) => {
        const sock = this.open(ws, 'chat');
        sock.close(CLOSE.notFound, 'No such socket endpoint');
      });
    }
    this.heartbeat = setInterval(() => this.beat(), this.s.config.heartbeatMs);
    this.heartbeat.unref();
    await this.presence.bootstrap();
  }

  /** Drains: new sockets are refused with 1012, open ones are told to reconnect elsewhere. */
  stop(code: number = CLOSE.restarting): void {
    this.draining = true;
    clearInterval(this.heartbeat);
    this.unsubscribe?.();
    this.presence.stop();
    this.notifier.stop();
    for (const sock of [...this.registry.all]) sock.close(code, 'Server restarting');
  }

  /** SIGTERM: sockets get 1012 (reconnect elsewhere), then frames already being handled finish their writes. */
  async drain(timeoutMs = 5000): Promise<void> {
    this.stop(CLOSE.restarting);
    if (this.inflight === 0) return;
    await new Promise<void>((resolve) => {
      const t = setTimeout(resolve, timeoutMs);
      t.unref();
      this.idleWaiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private beat(): void {
    for (const sock of this.registry.all) {
      if (!sock.alive) {
        sock.closed = true;
        sock.ws.terminate();
        continue;
      }
      sock.alive = false;
      try {
        sock.ws.ping();
      } catch {
        /* closing */
      }
    }
  }

  // ---- connecting

  private token(req: FastifyRequest): string | undefined {
    const header = bearerToken(req.headers.authorization);
    if (header) return header;
    const q = (req.query as Record<string, unknown>)?.token;
    return typeof q === 'string' && q.length > 0 ? q : undefined;
  }

  /** Common to both endpoints: listeners go on at once, so that no early frame is lost. */
  private open(ws: WebSocket, kind: 'chat' | 'agent'): ClientSocket {
    const sock = new ClientSocket(ws, kind, this.s.config.wsFramesPerS);
    this.registry.addUnauthenticated(sock);
    this.s.metrics.socketsOpen.inc({ kind });
    ws.on('pong', () => (sock.alive = true));
    ws.on('message', (data: RawData, isBinary: boolean) => this.onRaw(sock, data, isBinary));
    ws.on('error', () => undefined);
    ws.on('close', () => this.onSocketClosed(sock));
    if (this.draining) sock.close(CLOSE.restarting, 'Server restarting');
    return sock;
  }

  private async authenticate(sock: ClientSocket, req: FastifyRequest): Promise<boolean> {
    const token = this.token(req);
    if (!token) {
      sock.close(CLOSE.badToken, 'Authentication required');
      return false;
    }
    try {
      sock.identity = await this.s.accounts.authenticate(token);
      return true;
    } catch {
      sock.close(CLOSE.badToken, 'Invalid or expired token');
      return false;
    }
  }

  /**
   * Runs before the upgrade completes: the conversation's last seq at this moment is where a socket without
   * ?last_seq= starts, so every message stored after its client saw the socket open reaches it. A seq read
   * here needs no clock, so instances on different hosts agree on it.
   */
  private async noteHistoryAtOpen(req: FastifyRequest): Promise<void> {
    const rawId = (req.params as { conversationId?: string }).conversationId;
    // No token, no query: such a socket is closed with 4401 anyway.
    if (typeof rawId !== 'string' || !isUuid(rawId) || !this.token(req)) return;
    try {
      const conv = await this.s.ctx.store.getConversation(rawId.toLowerCase());
      if (conv) this.historyAtOpen.set(req, conv.lastSeq);
    } catch (err) {
      // Never an HTTP error on the upgrade: the socket's own setup reports a store failure with 1011.
      this.log.warn({ err }, 'history lookup before the upgrade failed');
    }
  }

  private acceptChat(ws: WebSocket, req: FastifyRequest): void {
    const sock = this.open(ws, 'chat');
    this.setUpChat(sock, req).catch((err) => {
      this.log.error({ err }, 'chat socket setup failed');
      sock.close(1011, 'Server error');
    });
  }

  private async setUpChat(sock: ClientSocket, req: FastifyRequest): Promise<void> {
    if (sock.closed || !(await this.authenticate(sock, req))) return;
    const rawId = (req.params as { conversationId: string }).conversationId;
    const identity = sock.identity!;
    if (!isUuid(rawId)) return sock.close(CLOSE.notFound, 'No such conversation');
    const store = this.s.ctx.store;
    let conv = await store.getConversation(rawId.toLowerCase());
    if (!conv) return sock.close(CLOSE.notFound, 'No such conversation');
    const isCustomer = identity.customer !== undefined && conv.customerId === identity.customer.id;
    const isRep = identity.rep !== undefined && conv.repId === identity.rep.id && conv.status === 'assigned';
    // A participant is registered in the same turn as the read above, with no await in between: any message
    // stored after that read reaches this socket through the bus (delivered, or noted as missedLive), and any
    // stored before it is counted in conv.lastSeq. Keep it that way.
    if (!sock.closed && conv.status !== 'closed' && (isCustomer || isRep)) {
      sock.conversationId = conv.id;
      this.registry.addChat(sock);
    }
    // Read before the upgrade; the fallback (a store hiccup then) is the later read, which may miss a message
    // stored in between but never repeats one.
    const historyAtOpen = Math.min(this.historyAtOpen.get(req) ?? conv.lastSeq, conv.lastSeq);
    this.historyAtOpen.delete(req);
    // A past participant of a closed conversation learns that it is closed (4409), as its customer does.
    if (conv.status === 'closed' && (isCustomer || (identity.rep && (conv.repId === identity.rep.id || (await store.hasHeld(conv.id, identity.rep.id)))))) {
      return sock.close(CLOSE.closed, 'Conversation closed');
    }
    if (!isCustomer && !isRep) {
      // A foreign customer learns nothing it could not learn from 4404 either way.
      return sock.close(identity.user.role === 'customer' && !isCustomer ? CLOSE.notFound : CLOSE.forbidden, 'Not a participant');
    }
    if (conv.status === 'closed') return sock.close(CLOSE.closed, 'Conversation closed');
    if (sock.closed) return;

    const lastSeqParam = Number((req.query as Record<string, unknown>)?.last_seq);
    const resume = Number.isSafeInteger(lastSeqParam) && lastSeqParam >= 0 ? lastSeqParam : undefined;

    if (isCustomer) {
      this.presence.customerBack(conv.id);
      if (conv.status === 'new' || conv.status === 'abandoned') {
        const out = await enqueueConversation(this.s.ctx, conv.id, {
          onQueued: (position, estimate) => this.markWaiting(sock, position, estimate),
          estimate: (position) => this.s.queueViewer.estimateFor(position),
        });
        conv = out.conversation;
      }
      if (conv.status === 'assigned' && conv.repId !== null) {
        // A tab that opens while (or after) the conversation is assigned learns its rep too.
        const rep = await this.s.ctx.repCard(conv.repId);
        if (rep) this.sendAssigned(sock, { conversationId: conv.id, rep });
      } else if (!sock.waiting) {
        // Already queued (a reconnect, or a second tab that lost the enqueue race): tell it its place.
        await this.s.ctx.lock.run(async () => {
          const position = await this.s.ctx.router.position(conv!.id);
          if (position > 0 && !sock.waiting) this.markWaiting(sock, position, await this.s.queueViewer.estimateFor(position));
        });
      }
    }
    // Resume: everything after last_seq first, then live frames with nothing missed or repeated.
    // Without ?last_seq= the socket starts at the history as it was when the socket opened: anything
    // stored since (while it was being authenticated and set up) is sent, so no message racing the
    // connect is lost.
    // A last_seq beyond the history (a confused client) resumes from the end rather than going deaf.
    sock.lastSeqSent = resume !== undefined ? Math.min(resume, conv.lastSeq) : historyAtOpen;
    // The store is read only when it holds something this socket lacks: a message stored after the
    // conversation was read announced itself on the bus while the socket was registered (missedLive).
    if (conv.lastSeq > sock.lastSeqSent || sock.missedLive) await this.fill(sock);
    // The fan-out lost events while this socket was being set up: it catches up like the others.
    if (sock.needsCatchUp) sock.enqueue(() => this.catchUpSocket(sock, conv!.id));
    this.ready(sock);
  }

  private markWaiting(sock: ClientSocket, position: number, estimate: number): void {
    sock.routingFrames++;
    sock.waiting = true;
    sock.lastPosition = position;
    sock.lastQueuedFrameAt = Date.now();
    sock.send(queuedFrame(position, estimate));
  }

  private acceptAgent(ws: WebSocket, req: FastifyRequest): void {
    const sock = this.open(ws, 'agent');
    this.setUpAgent(sock, req).catch((err) => {
      this.log.error({ err }, 'agent socket setup failed');
      sock.close(1011, 'Server error');
    });
  }

  private async setUpAgent(sock: ClientSocket, req: FastifyRequest): Promise<void> {
    if (sock.closed || !(await this.authenticate(sock, req))) return;
    const rep = sock.identity!.rep;
    if (!rep) return sock.close(CLOSE.forbidden, 'Only reps may connect here');
    if (sock.closed) return;
    this.registry.addAgent(sock, rep.id);
    this.presence.repConnected(rep.id);
    for (const c of await this.s.ctx.store.assignedTo(rep.id)) sock.held.add(c.id);
    const current = await this.s.ctx.store.updateRep(rep.id, rep.watched ? {} : { watched: true });
    // Back after presence took it offline: online again, which may pull from the queue at once.
    // A rep that set itself offline stays offline until it says otherwise.
    if (current && current.status === 'offline' && current.offlineReason !== 'manual') await updateRepSettings(this.s.ctx, rep.id, { status: 'online' });
    sock.send(await this.notifier.agentSnapshot());
    this.ready(sock);
  }

  private ready(sock: ClientSocket): void {
    if (sock.closed) return;
    sock.ready = true;
    for (const raw of sock.pending.splice(0)) this.handleRaw(sock, raw);
  }

  private onSocketClosed(sock: ClientSocket): void {
    sock.closed = true;
    this.registry.remove(sock);
    this.s.metrics.socketsOpen.dec({ kind: sock.kind });
    if (!sock.identity || this.draining) return;
    if (sock.kind === 'agent' && sock.identity.rep && this.registry.agents(sock.identity.rep.id).size === 0) {
      this.presence.repDisconnected(sock.identity.rep.id);
    }
    if (sock.kind === 'chat' && sock.waiting && sock.conversationId && this.registry.customerSocketsOpen(sock.conversationId, sock.userId) === 0) {
      this.presence.customerLeft(sock.conversationId);
    }
  }

  // ---- frames in

  private onRaw(sock: ClientSocket, data: RawData, isBinary: boolean): void {
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
      sock.pending.push(raw);
      return;
    }
    this.handleRaw(sock, raw);
  }

  private handleRaw(sock: ClientSocket, raw: string): void {
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
          this.log.error({ err }, 'frame handler failed');
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
    const conv = await this.s.ctx.store.getConversation(sock.conversationId!);
    if (!conv || conv.status === 'closed') return sock.send(errorFrame('closed', 'The conversation is already closed.'));
    if (by === 'rep' && conv.repId !== identity.rep!.id) return sock.send(errorFrame('not_allowed', 'You no longer hold this conversation.'));
    await closeConversation(this.s.ctx, { conversationId: conv.id, by, closingRepId: identity.rep?.id, originSocket: sock.id });
  }

  // ---- events out

  private onEvent(e: BusEvent): void {
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

  /**
   * The fan-out may have lost events (it reconnected): every conversation with a socket here is brought up
   * to what the store says. Messages are filled in order; a conversation that closed meanwhile is closed;
   * a customer learns an assignment or its place in the queue.
   */
  async catchUp(): Promise<void> {
    this.log.warn('the fan-out reconnected: catching up from the store');
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

  private async catchUpSocket(sock: ClientSocket, id: string): Promise<void> {
    sock.needsCatchUp = false;
    if (this.draining || sock.closed) return;
    await this.fill(sock);
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
        if (rep && sock.routingFrames === routingFrames) this.sendAssigned(sock, { conversationId: id, rep });
      } else if (conv.status === 'queued' && !sock.waiting) {
        const position = await this.s.ctx.router.position(id);
        const estimate = position > 0 ? await this.s.queueViewer.estimateFor(position) : 0;
        if (position > 0 && sock.routingFrames === routingFrames && !sock.closed) {
          sock.assignedRepId = undefined;
          this.markWaiting(sock, position, estimate);
        }
      }
    } else if (sock.identity?.rep && (conv.status !== 'assigned' || conv.repId !== sock.identity.rep.id)) {
      sock.send(JSON.stringify({ type: 'unassigned', conversation: id, reason: conv.status === 'assigned' ? 'transfer' : 'requeued' }));
      sock.close(CLOSE.normal, 'No longer assigned');
    }
  }

  private async fill(sock: ClientSocket): Promise<void> {
    for (;;) {
      const batch = await this.s.ctx.store.messagesAfter(sock.conversationId!, sock.lastSeqSent, 500);
      for (const m of batch) {
        // Live frames may have advanced the socket while this batch was read: skip what it has.
        if (m.seq <= sock.lastSeqSent) continue;
        if (m.seq !== sock.lastSeqSent + 1) return;
        sock.lastSeqSent = m.seq;
        sock.send(messageFrame(m));
      }
      if (batch.length < 500) return;
    }
  }

  /** Once per socket and rep: the event and the connect-time check may both want to say it. */
  private sendAssigned(sock: ClientSocket, a: { conversationId: string; rep: RepCard }): void {
    sock.waiting = false;
    if (sock.assignedRepId === a.rep.id) return;
    sock.assignedRepId = a.rep.id;
    sock.routingFrames++;
    sock.send(JSON.stringify({ type: 'assigned', conversation: a.conversationId, rep: { id: a.rep.id, username: a.rep.username, first_name: a.rep.firstName } }));
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
      sock.assignedRepId = undefined;
      if (!sock.closed) this.markWaiting(sock, e.position, estimate);
    }
  }

  private onClosed(e: Extract<BusEvent, { kind: 'closed' }>): void {
    const closed = JSON.stringify({ type: 'closed', conversation: e.conversationId, by: e.by, reason: e.reason });
    for (const sock of [...this.registry.conversation(e.conversationId)]) {
      if (e.redirectId && sock.id === e.originSocket) sock.send(JSON.stringify({ type: 'redirect', redirect_id: e.redirectId }));
      sock.waiting = false;
      sock.send(closed);
      sock.close(CLOSE.normal, 'Conversation closed');
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


