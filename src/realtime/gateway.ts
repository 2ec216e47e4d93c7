// The WebSocket gateway: accepts and authenticates sockets and sets each one up (chat or agent), hands
// their frames to Inbound (frames in) and bus events to Delivery (frames out).
import type { FastifyBaseLogger, FastifyInstance, FastifyRequest } from 'fastify';
import type { Socket } from 'node:net';
import type { ServerResponse } from 'node:http';
import type { WebSocket, RawData } from 'ws';
import type { AppServices } from '../app-services.ts';
import { isUuid } from '../store/uuid.ts';
import { bearerToken } from '../auth/bearer.ts';
import { ClientSocket, socketLogTags } from './client-socket.ts';
import { CLOSE } from './close-codes.ts';
import { handleSocketError } from './protocol-errors.ts';
import { Delivery } from './delivery.ts';
import { CatchUp } from './catch-up.ts';
import { cutUnansweredCloses } from './drain-close.ts';
import { SocketRegistry } from './registry.ts';
import { LocalPresence, type PresenceFactory, type PresenceTracker } from './presence.ts';
import { QueueNotifier } from './queue-notifier.ts';
import { SocketQuota } from './socket-quota.ts';
import { Inbound } from './inbound.ts';
import { enqueueConversation } from '../services/enqueue.ts';
import { reenterAbandoned } from './reenter-abandoned.ts';
import { repReturned } from '../services/reps.ts';
import { markAccepted } from '../services/accept-timeout.ts';

export { CLOSE };

/** The ClientSocket behind a ws, so that every socket shares one set of listener functions. */
const SOCK = Symbol('clientSocket');
type Tagged = WebSocket & { [SOCK]: ClientSocket };
const sockOf = (ws: WebSocket): ClientSocket => (ws as Tagged)[SOCK];

/** Skips making a socket's child logger for a line the level would drop anyway. */
const infoOn = (log: FastifyBaseLogger): boolean => (log as { isLevelEnabled?: (level: string) => boolean }).isLevelEnabled?.('info') ?? true;

function onPong(this: WebSocket): void {
  sockOf(this).alive = true;
}

function onWsError(this: WebSocket, err: Error): void {
  const sock = sockOf(this);
  handleSocketError(err, this, sock.log, (this as unknown as { _socket?: Socket })._socket);
}

export class Gateway {
  readonly registry = new SocketRegistry();
  readonly presence: PresenceTracker;
  readonly notifier: QueueNotifier;
  readonly quota: SocketQuota;
  private heartbeat: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private draining = false;
  private readonly inbound: Inbound;
  private readonly historyAtOpen = new WeakMap<FastifyRequest, number>();
  /** Upgrades over their address's budget: the handshake completes, then the socket is closed with 1013. */
  private readonly refusedUpgrades = new WeakSet<FastifyRequest>();
  private readonly delivery: Delivery;
  private readonly catchUps: CatchUp;
  /** One function per event for all sockets (a closure per socket per event adds up over thousands). */
  private readonly onWsMessage: (this: WebSocket, data: RawData, isBinary: boolean) => void;
  private readonly onWsClose: (this: WebSocket, code: number) => void;

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
    this.quota = new SocketQuota(s.limits, s.config, log);
    this.delivery = new Delivery(s, this.registry, this.presence, this.notifier, {
      reenter: (conversationId) => reenterAbandoned(s, this.registry, this.delivery, log, conversationId),
      resync: () => this.catchUp().catch((err) => log.error({ err }, 'catching up after a lost publish failed')),
    });
    this.catchUps = new CatchUp(s, this.registry, this.delivery, this.notifier, log, () => this.draining);
    this.inbound = new Inbound(s, this.quota);
    const onClosed = (sock: ClientSocket, code: number) => this.onSocketClosed(sock, code);
    const inbound = this.inbound;
    this.onWsMessage = function (data, isBinary) {
      inbound.onRaw(sockOf(this), data, isBinary);
    };
    this.onWsClose = function (code) {
      onClosed(sockOf(this), code);
    };
  }

  async start(app: FastifyInstance): Promise<void> {
    const offEvents = this.s.ctx.bus.subscribe((e) => this.delivery.onEvent(e));
    const catchUp = () => {
      this.catchUp().catch((err) => this.log.error({ err }, 'catching up after a fan-out gap failed'));
    };
    const offMissed = this.s.ctx.bus.onMissed(catchUp);
    // A publish that failed after its commit is a gap too: this instance catches up at once.
    const offGap = this.s.ctx.onFanoutGap(catchUp);
    this.unsubscribe = () => {
      offEvents();
      offMissed();
      offGap();
    };
    app.get(
      '/ws/customer_support/:conversationId',
      {
        websocket: true,
        schema: { hide: true },
        preHandler: async (req) => {
          if (await this.noteUpgrade(req)) await this.noteHistoryAtOpen(req);
        },
      },
      (ws, req) => this.acceptChat(ws, req),
    );
    app.get('/ws/agent', { websocket: true, schema: { hide: true }, preHandler: (req) => this.noteUpgrade(req) }, (ws, req) => this.acceptAgent(ws, req));
    // Any other socket path still completes the handshake, then hears 4404: never an HTTP error on upgrade.
    for (const path of ['/ws', '/ws/*']) {
      app.get(path, { websocket: true, schema: { hide: true }, preHandler: (req) => this.noteUpgrade(req) }, (ws, req) => {
        const sock = this.open(ws, 'chat', req);
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
    this.quota.stop();
    for (const sock of [...this.registry.all]) sock.close(code, 'Server restarting');
  }

  /** SIGTERM: sockets get 1012 (reconnect elsewhere), then frames already being handled finish their writes. */
  async drain(timeoutMs = 5000): Promise<void> {
    this.stop(CLOSE.restarting);
    // Presence-triggered work (a rep's requeue, an abandon) runs to its end before the store closes.
    const frames = this.inbound.idle();
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
      timer.unref();
    });
    await Promise.race([Promise.all([frames, this.presence.idle()]), timeout]);
    clearTimeout(timer);
    await cutUnansweredCloses(this.registry.all);
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
  private open(ws: WebSocket, kind: 'chat' | 'agent', req: FastifyRequest): ClientSocket {
    const sock = new ClientSocket(ws, kind, this.s.config.wsFramesPerS, this.log, socketLogTags(req, kind));
    this.registry.addUnauthenticated(sock);
    this.s.metrics.socketsOpen.inc({ kind });
    this.release(ws);
    (ws as Tagged)[SOCK] = sock;
    ws.on('pong', onPong);
    ws.on('message', this.onWsMessage);
    ws.on('error', onWsError);
    ws.on('close', this.onWsClose);
    if (this.draining) sock.close(CLOSE.restarting, 'Server restarting');
    if (this.refusedUpgrades.has(req)) sock.close(CLOSE.tooSlow, 'Too many connections from this address');
    return sock;
  }

  /**
   * Lets go of the upgrade's HTTP objects, which nothing needs once the socket is open: @fastify/websocket's
   * error listener closes over the request and reply (onWsError does its work instead, with the socket's own
   * logger), and the TCP socket still points at the hijacked response (and through it, the request).
   */
  private release(ws: WebSocket): void {
    ws.removeAllListeners('error');
    const tcp = (ws as unknown as { _socket?: Socket & { _httpMessage?: ServerResponse | null } })._socket;
    const res = tcp?._httpMessage;
    if (tcp && res && res.socket === tcp) res.detachSocket(tcp);
  }

  private async authenticate(sock: ClientSocket, req: FastifyRequest): Promise<boolean> {
    const token = this.token(req);
    if (!token) {
      sock.close(CLOSE.badToken, 'Authentication required');
      return false;
    }
    try {
      sock.identity = await this.s.accounts.authenticate(token);
    } catch {
      sock.close(CLOSE.badToken, 'Invalid or expired token');
      return false;
    }
    if (await this.quota.admit(sock)) return !sock.closed;
    sock.close(CLOSE.policy, 'too many sockets');
    return false;
  }

  /** Counts the upgrade against its address; false (and the socket is refused once open) when over budget. */
  private async noteUpgrade(req: FastifyRequest): Promise<boolean> {
    if (await this.quota.upgradeAllowed(req.ip)) return true;
    this.refusedUpgrades.add(req);
    return false;
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
    const sock = this.open(ws, 'chat', req);
    this.setUpChat(sock, req).catch((err) => {
      sock.log.error({ err }, 'chat socket setup failed');
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
      if (isCustomer) this.s.ctx.knowCustomer({ id: identity.customer!.id, userId: identity.user.id, username: identity.user.username });
      // The rep has opened the chat: it is no longer at risk of going back to the queue unanswered.
      if (isRep) await markAccepted(this.s.ctx, conv.id, identity.rep!.id);
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
      // Stamped where sweeps look first, then the generation moves: a sweep that read the generation before
      // this sees its abandon refused by the store; one that read it after sees the stamp.
      await this.presence.customerBack(conv.id);
      if (conv.status === 'queued') await this.s.ctx.store.markCustomerPresent(conv.id);
      if (conv.status === 'new' || conv.status === 'abandoned') {
        const out = await enqueueConversation(this.s.ctx, conv.id, {
          known: conv,
          onQueued: (position, estimate, version) => this.delivery.markWaiting(sock, position, estimate, version),
          estimate: (position) => this.s.queueViewer.estimateFor(position),
        });
        conv = out.conversation;
      }
      if (conv.status === 'assigned' && conv.repId !== null) {
        // A tab that opens while (or after) the conversation is assigned learns its rep too.
        const rep = await this.s.ctx.repCard(conv.repId);
        if (rep) this.delivery.sendAssigned(sock, { conversationId: conv.id, rep, version: conv.version });
      } else if (!sock.waiting) {
        // Already queued (a reconnect, or a second tab that lost the enqueue race): tell it its place.
        const version = conv.version;
        const framesBefore = sock.routingFrames;
        await this.s.ctx.lock.run(async () => {
          const position = await this.s.ctx.router.position(conv!.id);
          if (position > 0 && !sock.waiting) this.delivery.markWaiting(sock, position, await this.s.queueViewer.estimateFor(position), version);
          // Queued with no place: router drift. Unless a routing frame (an `assigned`) came meanwhile, it waits.
          else if (position === 0 && conv!.status === 'queued' && sock.routingFrames === framesBefore) this.delivery.markUnplaced(sock);
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
    if (conv.lastSeq > sock.lastSeqSent || sock.missedLive) await this.delivery.fill(sock);
    // The fan-out lost events while this socket was being set up: it catches up like the others.
    if (sock.needsCatchUp) sock.enqueue(() => this.catchUps.catchUpSocket(sock, conv!.id));
    this.ready(sock);
  }

  private acceptAgent(ws: WebSocket, req: FastifyRequest): void {
    const sock = this.open(ws, 'agent', req);
    this.setUpAgent(sock, req).catch((err) => {
      sock.log.error({ err }, 'agent socket setup failed');
      sock.close(1011, 'Server error');
    });
  }

  private async setUpAgent(sock: ClientSocket, req: FastifyRequest): Promise<void> {
    if (sock.closed || !(await this.authenticate(sock, req))) return;
    const rep = sock.identity!.rep;
    if (!rep) return sock.close(CLOSE.forbidden, 'Only reps may connect here');
    if (sock.closed) return;
    this.registry.addAgent(sock, rep.id);
    // Stamped first, then the presence generation moves (and the rep is watched from now on): a sweep that
    // read the generation before this has its offline transition refused by the store; one after sees the stamp.
    await this.presence.repConnected(rep.id);
    const current = await this.s.ctx.store.markRepPresent(rep.id);
    for (const c of await this.s.ctx.store.assignedTo(rep.id)) sock.held.add(c.id);
    // Back after presence took it offline: online again (decided under the routing lock), which may pull
    // from the queue at once. A rep that set itself offline stays offline until it says otherwise.
    if (current && current.status === 'offline' && current.offlineReason === 'presence') await repReturned(this.s.ctx, rep.id);
    sock.send(await this.notifier.agentSnapshot());
    this.ready(sock);
  }

  private ready(sock: ClientSocket): void {
    if (sock.closed) return;
    sock.ready = true;
    if (infoOn(this.log)) sock.log.info({ userId: sock.userId }, 'socket ready');
    for (const raw of sock.takePending()) this.inbound.handleRaw(sock, raw);
  }

  private onSocketClosed(sock: ClientSocket, code: number): void {
    if (infoOn(this.log)) sock.log.info({ code, userId: sock.identity?.user.id }, 'socket closed');
    sock.closed = true;
    this.registry.remove(sock);
    this.quota.release(sock);
    this.s.metrics.socketsOpen.dec({ kind: sock.kind });
    if (!sock.identity) return;
    if (this.registry.user(sock.userId).size === 0) this.s.ctx.forgetCards({ repId: sock.identity.rep?.id, customerId: sock.identity.customer?.id });
    if (this.draining) return;
    if (sock.kind === 'agent' && sock.identity.rep && this.registry.agents(sock.identity.rep.id).size === 0) {
      this.presence.repDisconnected(sock.identity.rep.id);
    }
    if (sock.kind === 'chat' && sock.waiting && sock.conversationId && this.registry.customerSocketsOpen(sock.conversationId, sock.userId) === 0) {
      this.presence.customerLeft(sock.conversationId);
    }
  }

  /** The fan-out lost events (it reconnected): bring every socket here up to the store. */
  catchUp(): Promise<void> {
    return this.catchUps.run();
  }
}
