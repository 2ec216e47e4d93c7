// Where this instance's sockets are, indexed by conversation, by user and by rep (agent sockets).
import type { ClientSocket } from './client-socket.ts';

function add<K>(map: Map<K, Set<ClientSocket>>, key: K, s: ClientSocket) {
  let set = map.get(key);
  if (!set) map.set(key, (set = new Set()));
  set.add(s);
}

function remove<K>(map: Map<K, Set<ClientSocket>>, key: K, s: ClientSocket) {
  const set = map.get(key);
  if (!set) return;
  set.delete(s);
  if (set.size === 0) map.delete(key);
}

export class SocketRegistry {
  readonly all = new Set<ClientSocket>();
  private readonly byConversation = new Map<string, Set<ClientSocket>>();
  private readonly byUser = new Map<number, Set<ClientSocket>>();
  private readonly agentsByRep = new Map<number, Set<ClientSocket>>();

  addUnauthenticated(s: ClientSocket): void {
    this.all.add(s);
  }

  addChat(s: ClientSocket): void {
    add(this.byConversation, s.conversationId!, s);
    add(this.byUser, s.userId, s);
  }

  addAgent(s: ClientSocket, repId: number): void {
    add(this.agentsByRep, repId, s);
    add(this.byUser, s.userId, s);
  }

  remove(s: ClientSocket): void {
    this.all.delete(s);
    if (!s.identity) return;
    remove(this.byUser, s.userId, s);
    if (s.conversationId) remove(this.byConversation, s.conversationId, s);
    if (s.kind === 'agent' && s.identity.rep) remove(this.agentsByRep, s.identity.rep.id, s);
  }

  conversation(id: string): ReadonlySet<ClientSocket> {
    return this.byConversation.get(id) ?? new Set();
  }

  conversationIds(): string[] {
    return [...this.byConversation.keys()];
  }

  user(id: number): ReadonlySet<ClientSocket> {
    return this.byUser.get(id) ?? new Set();
  }

  agents(repId: number): ReadonlySet<ClientSocket> {
    return this.agentsByRep.get(repId) ?? new Set();
  }

  allAgents(): Iterable<ClientSocket> {
    return [...this.agentsByRep.values()].flatMap((set) => [...set]);
  }

  repsWithAgents(): Iterable<number> {
    return this.agentsByRep.keys();
  }

  conversationsWithCustomers(): string[] {
    const out: string[] = [];
    for (const [id, set] of this.byConversation) {
      for (const s of set) {
        if (s.identity?.customer && !s.closed) {
          out.push(id);
          break;
        }
      }
    }
    return out;
  }

  waitingCustomers(): ClientSocket[] {
    const out: ClientSocket[] = [];
    for (const s of this.all) if (s.waiting && !s.closed) out.push(s);
    return out;
  }

  /** Whether any open customer socket here is on the conversation. */
  customerConversationOpen(conversationId: string): boolean {
    for (const s of this.conversation(conversationId)) if (s.identity?.customer && !s.closed) return true;
    return false;
  }

  customerSocketsOpen(conversationId: string, customerUserId: number): number {
    let n = 0;
    for (const s of this.conversation(conversationId)) if (!s.closed && s.userId === customerUserId) n++;
    return n;
  }
}
