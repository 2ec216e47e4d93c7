// Per-user and per-address limits on sockets, counted across instances through the Limits port: a user's
// open sockets (a lease per socket, renewed while it lives, so a killed instance's sockets expire), the
// stored messages a second that all of a user's sockets share, and the upgrades a minute per address.
import type { FastifyBaseLogger } from 'fastify';
import type { Config } from '../config.ts';
import type { Limits } from '../limits/port.ts';
import type { ClientSocket } from './client-socket.ts';

const UPGRADE_WINDOW_MS = 60_000;
const MESSAGE_WINDOW_MS = 1000;

type Budgets = Pick<Config, 'maxSocketsPerUser' | 'socketLeaseMs' | 'messagesPerUserPerS' | 'rateWsUpgradesPerMin'>;

export class SocketQuota {
  /** Sockets of this instance that hold a lease, and under which key. */
  private readonly held = new Map<ClientSocket, string>();
  private readonly renewer: NodeJS.Timeout;

  constructor(
    private readonly limits: Limits,
    private readonly budgets: Budgets,
    private readonly log: FastifyBaseLogger,
  ) {
    // A socket's lease lasts socketLeaseMs unless renewed, so an instance that dies frees its users' places
    // after it; renewing every third of it leaves two tries before a live socket's lease could lapse.
    this.renewer = setInterval(() => this.renew(), budgets.socketLeaseMs / 3);
    this.renewer.unref();
  }

  stop(): void {
    clearInterval(this.renewer);
  }

  /** How many sockets this user may hold: a rep also gets 2 per chat it holds (a console with one socket per chat). */
  maxFor(sock: ClientSocket): number {
    const rep = sock.identity?.rep;
    return this.budgets.maxSocketsPerUser + (rep ? 2 * rep.load : 0);
  }

  /**
   * After authentication: takes one of the user's places, or says no (the caller closes with 1008). A limits
   * store that cannot answer lets the socket in: these limits stop abuse, and must not stop the service.
   */
  async admit(sock: ClientSocket): Promise<boolean> {
    const key = `sockets:${sock.userId}`;
    let ok: boolean;
    try {
      ok = await this.limits.acquire(key, sock.id, this.maxFor(sock), this.budgets.socketLeaseMs);
    } catch (err) {
      this.log.warn({ err }, 'socket quota unavailable; socket admitted');
      return true;
    }
    if (!ok) return false;
    // Closed while we asked: give the place back at once.
    if (sock.closed) this.limits.release(key, sock.id).catch(() => undefined);
    else this.held.set(sock, key);
    return true;
  }

  release(sock: ClientSocket): void {
    const key = this.held.get(sock);
    if (key === undefined) return;
    this.held.delete(sock);
    this.limits.release(key, sock.id).catch((err) => this.log.warn({ err }, 'socket quota release failed; the lease will expire'));
  }

  /** One stored message of this user: true while within the budget its sockets share. */
  async messageAllowed(userId: number): Promise<boolean> {
    // 0: no shared budget (the default outside production, as in the original); each socket keeps its own.
    if (this.budgets.messagesPerUserPerS === 0) return true;
    try {
      return (await this.limits.hit(`messages:${userId}`, MESSAGE_WINDOW_MS)).count <= this.budgets.messagesPerUserPerS;
    } catch (err) {
      this.log.warn({ err }, 'message budget unavailable; message allowed');
      return true;
    }
  }

  /** One upgrade from this address: true while within the budget a minute. */
  async upgradeAllowed(address: string): Promise<boolean> {
    try {
      return (await this.limits.hit(`upgrades:${address}`, UPGRADE_WINDOW_MS)).count <= this.budgets.rateWsUpgradesPerMin;
    } catch (err) {
      this.log.warn({ err }, 'upgrade budget unavailable; upgrade allowed');
      return true;
    }
  }

  private renew(): void {
    const leases = [...this.held].map(([sock, key]) => ({ key, holder: sock.id }));
    if (leases.length === 0) return;
    this.limits.renew(leases, this.budgets.socketLeaseMs).catch((err) => this.log.warn({ err }, 'socket quota renewal failed'));
  }
}
