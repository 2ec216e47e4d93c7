// The console's sockets: /ws/agent/ for assignments and the queue, and one chat socket per held chat.
// Each comes back by itself after a drop or a restart and resumes with last_seq; on every (re)connect of
// the agent socket the held chats are read again from the API, so assignments missed meanwhile show up.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Me } from '../src/api.ts';
import { ChatLog, frameMessage, type ChatMessage } from '../src/chat.ts';
import { LiveSocket, type SocketState } from '../src/socket.ts';
import { useRefresh } from '../src/ui.tsx';
import { alerts, names, rememberName, session, type Chat, type RepInfo } from './state.ts';
import type { QueueFigure } from './status-bar.tsx';

export function useLiveChats(me: Me) {
  const chats = useRef(new Map<string, Chat>());
  const refresh = useRefresh();
  const [selected, setSelected] = useState<string | null>(null);
  const [rep, setRep] = useState<RepInfo | null>(null);
  const [queue, setQueue] = useState<QueueFigure>({ length: 0, oldest: 0 });
  const [agentConn, setAgentConn] = useState<SocketState>('connecting');
  const [notice, setNotice] = useState('');
  const selectedRef = useRef<string | null>(null);
  selectedRef.current = selected;

  const markRead = (chat: Chat) => {
    const theirs = chat.log.messages.filter((m) => m.user !== me.user.username);
    if (theirs.length && document.visibilityState === 'visible') chat.socket.send({ type: 'read', seq: theirs[theirs.length - 1].seq });
  };

  const loadRep = () => session.api<RepInfo>('GET', '/api/reps/me/').then(setRep, () => undefined);
  const loadQueue = async () => {
    const q = await session.api<Array<{ waited_s: number }>>('GET', '/api/queue/').catch(() => null);
    if (q) setQueue({ length: q.length, oldest: q.reduce((m, e) => Math.max(m, e.waited_s), 0) });
  };

  const openChat = (id: string, customer?: string) => {
    if (customer) rememberName(id, customer);
    if (chats.current.has(id)) return;
    const log = new ChatLog(`sb.agent.outbox.${id}`);
    const chat: Chat = { id, customer: names[id] ?? 'Customer', log, socket: null!, unread: 0, typing: null, readUpTo: 0, hasOlder: false, conn: 'connecting' };
    chat.socket = new LiveSocket({
      session,
      path: `/ws/customer_support/${id}/`,
      lastSeq: () => log.lastSeq,
      onState: (s, code) => {
        chat.conn = s;
        if (s === 'ended' && code !== undefined) dropChat(id);
        refresh();
      },
      onOpen: () => {
        for (const p of log.pending) chat.socket.send({ type: 'message', text: p.text, client_id: p.clientId });
      },
      onFrame: (f) => {
        if (f.type === 'message') {
          const fresh = log.add(frameMessage(f));
          if (f.user !== me.user.username) {
            if (chat.customer === 'Customer') {
              chat.customer = f.user;
              rememberName(id, f.user);
            }
            chat.typing = null;
            if (fresh && (selectedRef.current !== id || document.visibilityState !== 'visible')) {
              chat.unread++;
              alerts.alert(`${f.user}: ${f.message}`);
            }
            if (selectedRef.current === id) markRead(chat);
          }
          refresh();
        } else if (f.type === 'typing' && f.user !== me.user.username) {
          chat.typing = f.typing ? f.user : null;
          refresh();
        } else if (f.type === 'read' && f.user !== me.user.username) {
          chat.readUpTo = Math.max(chat.readUpTo, f.seq);
          refresh();
        } else if (f.type === 'closed') {
          if (f.by === 'customer') setNotice(`${chat.customer} ended the chat.`);
          dropChat(id);
        }
      },
    });
    chats.current.set(id, chat);
    // The newest page of the history; older pages on request.
    void session.api<ChatMessage[]>('GET', `/api/conversations/${id}/messages/?limit=50`).then((rows) => {
      log.add(...rows);
      chat.hasOlder = rows.length === 50 && log.firstSeq > 1;
      const theirs = rows.find((m) => m.user !== me.user.username);
      if (theirs && chat.customer === 'Customer') {
        chat.customer = theirs.user;
        rememberName(id, theirs.user);
      }
      refresh();
    });
    if (!selectedRef.current) setSelected(id);
    refresh();
  };

  const dropChat = (id: string) => {
    const chat = chats.current.get(id);
    if (!chat) return;
    chat.socket.stop();
    chats.current.delete(id);
    if (selectedRef.current === id) setSelected(chats.current.keys().next().value ?? null);
    void loadRep();
    refresh();
  };

  /** The chats the rep holds now, from the API: after a reconnect, assignments missed meanwhile show up. */
  const sync = async () => {
    const list = await session.api<any[]>('GET', '/api/conversations/');
    const held = new Set(list.map((c) => c.id));
    for (const c of list) openChat(c.id, c.latest_message && c.latest_message.user !== me.user.username ? c.latest_message.user : undefined);
    for (const id of [...chats.current.keys()]) if (!held.has(id)) dropChat(id);
    void loadRep();
    void loadQueue();
  };

  useEffect(() => {
    const agent = new LiveSocket({
      session,
      path: '/ws/agent/',
      onState: setAgentConn,
      onOpen: () => void sync(),
      onFrame: (f) => {
        if (f.type === 'assigned') {
          openChat(f.conversation, f.customer?.username);
          alerts.alert(`New chat with ${f.customer?.username ?? 'a customer'}`);
          void loadRep();
        } else if (f.type === 'unassigned') {
          dropChat(f.conversation);
        } else if (f.type === 'queue') {
          setQueue({ length: f.length, oldest: f.oldest_wait_s });
        }
      },
    });
    const onVisible = () => {
      const chat = selectedRef.current ? chats.current.get(selectedRef.current) : undefined;
      if (chat && document.visibilityState === 'visible') {
        chat.unread = 0;
        markRead(chat);
        refresh();
      }
    };
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      agent.stop();
      for (const c of chats.current.values()) c.socket.stop();
      chats.current.clear();
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, []);

  const chat = selected ? chats.current.get(selected) : undefined;
  useEffect(() => {
    if (chat) {
      chat.unread = 0;
      markRead(chat);
      refresh();
    }
  }, [selected]);

  return { chats: [...chats.current.values()], chat, selected, setSelected, rep, setRep, queue, agentConn, notice, setNotice, dropChat, refresh };
}
