// The agent console: a rep signs in (or signs up while registration is open), sets status and capacity,
// chats in every assigned conversation at once, closes and transfers, watches the queue and reads past
// conversations. Every socket comes back after a drop or a server restart and resumes with last_seq.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import '../src/style.css';
import { describeError, formatTime, formatWait, request, Session, type Me } from '../src/api.ts';
import { ChatLog, frameMessage, type ChatMessage } from '../src/chat.ts';
import { LiveSocket, type SocketState } from '../src/socket.ts';
import { AuthPanel, accountFields, Composer, ConnectionNote, MessageList, TabList, tabPanelProps, useRefresh, userBody } from '../src/ui.tsx';

const session = new Session('sb.agent.tokens');
const TITLE = document.title;

interface Chat {
  id: string;
  customer: string;
  log: ChatLog;
  socket: LiveSocket;
  unread: number;
  typing: string | null;
  readUpTo: number;
  hasOlder: boolean;
  conn: SocketState;
}

interface RepInfo {
  id: number;
  user: { username: string; first_name: string };
  status: string;
  load: number;
  max_capacity: number;
}

const names: Record<string, string> = JSON.parse(sessionStorage.getItem('sb.agent.names') ?? '{}');
const rememberName = (conv: string, username: string) => {
  names[conv] = username;
  sessionStorage.setItem('sb.agent.names', JSON.stringify(names));
};

/** New chats and messages while the tab is in the background: the title counts them; a notification if allowed. */
class BackgroundAlerts {
  unseen = 0;
  constructor() {
    document.addEventListener('visibilitychange', () => {
      if (document.visibilityState === 'visible') {
        this.unseen = 0;
        document.title = TITLE;
      }
    });
  }
  alert(text: string) {
    if (document.visibilityState === 'visible') return;
    this.unseen++;
    document.title = `(${this.unseen}) ${TITLE}`;
    if ('Notification' in window && Notification.permission === 'granted') new Notification('Switchboard', { body: text, tag: 'switchboard' });
  }
}
const alerts = new BackgroundAlerts();

function RepSettings({ rep, onChange }: { rep: RepInfo; onChange: (r: RepInfo) => void }) {
  const [capacity, setCapacity] = useState(String(rep.max_capacity));
  const [error, setError] = useState('');
  const patch = async (body: object) => {
    try {
      setError('');
      onChange(await session.api('PATCH', '/api/reps/me/', body));
    } catch (err) {
      setError(describeError(err));
    }
  };
  return (
    <div class="rep-settings">
      <label for="rep-status">
        Status
        <select id="rep-status" value={rep.status} onChange={(e) => void patch({ status: (e.currentTarget as HTMLSelectElement).value })}>
          <option value="online">Online</option>
          <option value="away">Away</option>
          <option value="offline">Offline</option>
        </select>
      </label>
      <form
        class="inline"
        onSubmit={(e) => {
          e.preventDefault();
          void patch({ max_capacity: Number(capacity) });
        }}
      >
        <label for="rep-capacity">
          Capacity
          <input id="rep-capacity" type="number" min={0} max={100} value={capacity} onInput={(e) => setCapacity((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit">Save</button>
      </form>
      <span class="muted" data-testid="rep-load">
        {rep.load} of {rep.max_capacity} chats
      </span>
      {error && (
        <span role="alert" class="error">
          {error}
        </span>
      )}
    </div>
  );
}

function TransferControl({ chat, meRepId, onDone }: { chat: Chat; meRepId: number; onDone: () => void }) {
  const [reps, setReps] = useState<RepInfo[]>([]);
  const [target, setTarget] = useState('');
  const [error, setError] = useState('');
  const loadReps = () => session.api<RepInfo[]>('GET', '/api/reps/').then(setReps, () => undefined);
  useEffect(() => void loadReps(), [chat.id]);
  const others = reps.filter((r) => r.id !== meRepId);
  return (
    <form
      class="inline"
      onSubmit={async (e) => {
        e.preventDefault();
        setError('');
        try {
          await session.api('POST', `/api/conversations/${chat.id}/transfer/`, target === 'queue' || target === '' ? {} : { to_rep: Number(target) });
          onDone();
        } catch (err) {
          setError(describeError(err));
          void loadReps();
        }
      }}
    >
      <label for="transfer-target">
        Transfer to
        <select id="transfer-target" value={target} onFocus={() => void loadReps()} onChange={(e) => setTarget((e.currentTarget as HTMLSelectElement).value)}>
          <option value="">Choose…</option>
          <option value="queue">Back to the queue</option>
          {others.map((r) => (
            <option key={r.id} value={String(r.id)} disabled={r.status !== 'online' || r.load >= r.max_capacity}>
              {r.user.first_name || r.user.username} ({r.user.username}, {r.status}, {r.load}/{r.max_capacity})
            </option>
          ))}
        </select>
      </label>
      <button type="submit" disabled={!target}>
        Transfer
      </button>
      {error && (
        <span role="alert" class="error">
          {error}
        </span>
      )}
    </form>
  );
}

/** A past conversation, read-only, paged backwards 50 messages at a time. */
function PastConversation({ id, me, onBack }: { id: string; me: string; onBack: () => void }) {
  const [log] = useState(() => new ChatLog());
  const [hasOlder, setHasOlder] = useState(false);
  const refresh = useRefresh();
  const page = async (before?: number) => {
    const rows = await session.api<ChatMessage[]>('GET', `/api/conversations/${id}/messages/?limit=50${before ? `&before_seq=${before}` : ''}`);
    log.add(...rows);
    setHasOlder(rows.length === 50 && log.firstSeq > 1);
    refresh();
  };
  useEffect(() => void page(), [id]);
  return (
    <section class="chat-pane" aria-label="Past conversation">
      <div class="chat-head">
        <h2>Conversation with {names[id] ?? 'a customer'}</h2>
        <button type="button" class="link" onClick={onBack}>
          Back
        </button>
      </div>
      <MessageList
        messages={log.messages}
        pending={[]}
        me={me}
        readUpTo={0}
        before={
          hasOlder && (
            <li>
              <button type="button" class="link" onClick={() => void page(log.firstSeq)}>
                Load older messages
              </button>
            </li>
          )
        }
      />
    </section>
  );
}

function History({ me, onOpen }: { me: Me; onOpen: (id: string) => void }) {
  const [rows, setRows] = useState<any[]>([]);
  const [offset, setOffset] = useState(0);
  const [total, setTotal] = useState(0);
  useEffect(() => {
    void (async () => {
      const res = await fetch(`/api/conversations/?scope=history&limit=20&offset=${offset}`, { headers: { authorization: `Bearer ${session.access}` } });
      if (!res.ok) return;
      setTotal(Number(res.headers.get('X-Total-Count') ?? 0));
      const list = await res.json();
      for (const c of list) if (c.latest_message && c.latest_message.user !== me.user.username && !names[c.id]) rememberName(c.id, c.latest_message.user);
      setRows(list);
    })();
  }, [offset]);
  return (
    <section aria-label="Past conversations" class="history">
      <ul class="chat-list">
        {rows.map((c) => (
          <li key={c.id}>
            <button type="button" class="chat-item" onClick={() => onOpen(c.id)}>
              <span>{names[c.id] ?? `Customer ${c.customer}`}</span>
              <span class="muted">
                {c.status} · {formatTime(c.created_at)}
              </span>
            </button>
          </li>
        ))}
      </ul>
      <div class="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 20))}>
          Newer
        </button>
        <span class="muted">
          {total === 0 ? 'None yet' : `${offset + 1}–${Math.min(offset + 20, total)} of ${total}`}
        </span>
        <button type="button" disabled={offset + 20 >= total} onClick={() => setOffset(offset + 20)}>
          Older
        </button>
      </div>
    </section>
  );
}

function Console({ me }: { me: Me }) {
  const chats = useRef(new Map<string, Chat>());
  const refresh = useRefresh();
  const [selected, setSelected] = useState<string | null>(null);
  const [rep, setRep] = useState<RepInfo | null>(null);
  const [queue, setQueue] = useState<{ length: number; oldest: number }>({ length: 0, oldest: 0 });
  const [agentConn, setAgentConn] = useState<SocketState>('connecting');
  const [tab, setTab] = useState<'active' | 'history'>('active');
  const [past, setPast] = useState<string | null>(null);
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

  const list = [...chats.current.values()];
  return (
    <div class="console">
      <header class="bar">
        <span class="brand">Switchboard · {me.user.first_name || me.user.username}</span>
        {rep && <RepSettings rep={rep} onChange={setRep} />}
        <span class="queue-figure" data-testid="queue-figure" role="status">
          Queue: {queue.length} waiting{queue.length ? `, oldest ${formatWait(queue.oldest)}` : ''}
        </span>
        {'Notification' in window && Notification.permission === 'default' && (
          <button type="button" class="link" onClick={() => void Notification.requestPermission().then(refresh)}>
            Enable notifications
          </button>
        )}
        <button type="button" class="link" onClick={() => void session.logout()}>
          Sign out
        </button>
      </header>
      <ConnectionNote state={agentConn} />
      {notice && (
        <p class="note" role="status">
          {notice}{' '}
          <button type="button" class="link" onClick={() => setNotice('')}>
            Dismiss
          </button>
        </p>
      )}
      <div class="console-body">
        <nav class="sidebar" aria-label="Chats">
          <TabList
            label="Chats"
            idPrefix="chats"
            tabs={[
              { id: 'active', label: `Active (${list.length})` },
              { id: 'history', label: 'History' },
            ]}
            current={tab}
            onSelect={setTab}
          />
          <div {...tabPanelProps('chats', tab)}>
          {tab === 'active' ? (
            <ul class="chat-list" data-testid="chat-list">
              {list.length === 0 && <li class="muted">No chats yet. New ones appear here by themselves.</li>}
              {list.map((c) => (
                <li key={c.id}>
                  <button
                    type="button"
                    class={c.id === selected ? 'chat-item selected' : 'chat-item'}
                    aria-current={c.id === selected}
                    onClick={() => {
                      setPast(null);
                      setSelected(c.id);
                    }}
                  >
                    <span>{c.customer}</span>
                    {c.unread > 0 && (
                      <span class="badge">
                        {c.unread}
                        <span class="visually-hidden"> unread</span>
                      </span>
                    )}
                  </button>
                </li>
              ))}
            </ul>
            ) : (
              <History me={me} onOpen={setPast} />
            )}
          </div>
        </nav>
        {past ? (
          <PastConversation id={past} me={me.user.username} onBack={() => setPast(null)} />
        ) : chat ? (
          <section class="chat-pane" aria-label={`Chat with ${chat.customer}`}>
            <div class="chat-head">
              <h2>{chat.customer}</h2>
              {rep && <TransferControl chat={chat} meRepId={rep.id} onDone={() => dropChat(chat.id)} />}
              <button
                type="button"
                class="danger"
                onClick={async () => {
                  try {
                    await session.api('POST', `/api/conversations/${chat.id}/close/`);
                    dropChat(chat.id);
                  } catch (err) {
                    setNotice(describeError(err));
                  }
                }}
              >
                Close chat
              </button>
            </div>
            <ConnectionNote state={chat.conn} />
            <MessageList
              messages={chat.log.messages}
              pending={chat.log.pending}
              me={me.user.username}
              readUpTo={chat.readUpTo}
              typing={chat.typing}
              before={
                chat.hasOlder && (
                  <li>
                    <button
                      type="button"
                      class="link"
                      onClick={async () => {
                        const rows = await session.api<ChatMessage[]>('GET', `/api/conversations/${chat.id}/messages/?limit=50&before_seq=${chat.log.firstSeq}`);
                        chat.log.add(...rows);
                        chat.hasOlder = rows.length === 50 && chat.log.firstSeq > 1;
                        refresh();
                      }}
                    >
                      Load older messages
                    </button>
                  </li>
                )
              }
            />
            <Composer
              idPrefix="agent"
              onSend={(text) => {
                const p = chat.log.queue(text);
                chat.socket.send({ type: 'message', text, client_id: p.clientId });
                refresh();
              }}
              onTyping={(t) => chat.socket.send({ type: 'typing', typing: t })}
            />
          </section>
        ) : (
          <section class="chat-pane empty">
            <p class="muted">{rep && rep.status !== 'online' ? 'Set your status to Online to receive chats.' : 'Waiting for the next customer…'}</p>
          </section>
        )}
      </div>
    </div>
  );
}

function App() {
  const [signedIn, setSignedIn] = useState(session.signedIn);
  const [me, setMe] = useState<Me | null>(null);
  useEffect(() => session.onChange(() => setSignedIn(session.signedIn)), []);
  useEffect(() => {
    if (!signedIn) return setMe(null);
    session.api<Me>('GET', '/api/me/').then(setMe, () => void session.logout());
  }, [signedIn]);
  if (!signedIn) {
    return (
      <main class="center">
        <AuthPanel
          title="Agent console"
          idPrefix="rep"
          onLogin={(u, p) => session.login(u, p)}
          signUp={{
            note: 'Sign-up is open unless the administrator turned it off; then an admin creates your account.',
            fields: [...accountFields, { name: 'max_capacity', label: 'Chats at once', type: 'number', min: 0, initial: '3' }],
            onSubmit: async (v) => {
              await request('POST', '/api/register_customer_rep/', { body: { ...userBody(v), max_capacity: Number(v.max_capacity || 3) } });
              await session.login(v.username, v.password);
            },
          }}
        />
      </main>
    );
  }
  if (!me) return <p role="status">Loading…</p>;
  if (me.role !== 'rep') {
    return (
      <main class="center card stack">
        <p role="alert">This console is for reps. {me.role === 'admin' ? 'Admins use the supervisor view at /admin/.' : 'Customers use /chat/.'}</p>
        <button type="button" onClick={() => void session.logout()}>
          Sign out
        </button>
      </main>
    );
  }
  return <Console me={me} />;
}

render(<App />, document.getElementById('app')!);
