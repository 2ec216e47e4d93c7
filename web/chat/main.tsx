// The customer widget: sign in or register, start a conversation, wait with a live position, chat with
// typing and read marks, rate the chat once it is closed; or leave a message when no rep is online.
import { render } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import '../src/style.css';
import { ApiError, describeError, formatWait, request, Session, type Me } from '../src/api.ts';
import { ChatLog, frameMessage, type ChatMessage } from '../src/chat.ts';
import { LiveSocket, type SocketState } from '../src/socket.ts';
import { AuthPanel, accountFields, Composer, ConnectionNote, MessageList, useRefresh, userBody } from '../src/ui.tsx';

const session = new Session('sb.chat.tokens');

interface Availability {
  reps_online: number;
  accepting: boolean;
  queue_length: number;
  estimated_wait_s: number;
}

function useAvailability(active: boolean): Availability | null {
  const [a, setA] = useState<Availability | null>(null);
  useEffect(() => {
    if (!active) return;
    let live = true;
    const load = () => request<Availability>('GET', '/api/availability/').then((x) => live && setA(x), () => undefined);
    void load();
    const t = setInterval(load, 10_000);
    return () => {
      live = false;
      clearInterval(t);
    };
  }, [active]);
  return a;
}

function AvailabilityNote({ a }: { a: Availability | null }) {
  if (!a) return null;
  if (a.reps_online === 0) {
    return (
      <p class="note warn" role="status" data-testid="no-rep">
        No one is online right now. Leave a message and a rep will answer here when they are back.
      </p>
    );
  }
  return (
    <p class="note" role="status">
      {a.accepting ? 'A rep is available now.' : `All reps are busy: ${a.queue_length} waiting, about ${formatWait(a.estimated_wait_s)}.`}
    </p>
  );
}

function Rating({ id, onDone }: { id: string; onDone: () => void }) {
  const [score, setScore] = useState(0);
  const [comment, setComment] = useState('');
  const [error, setError] = useState('');
  return (
    <form
      class="card stack rating"
      onSubmit={async (e) => {
        e.preventDefault();
        if (!score) return setError('Choose a score from 1 to 5.');
        try {
          await session.api('POST', `/api/conversations/${id}/rating/`, { score, comment: comment || null });
          onDone();
        } catch (err) {
          setError(describeError(err));
        }
      }}
    >
      <fieldset class="stars">
        <legend>How was this chat?</legend>
        {[1, 2, 3, 4, 5].map((n) => (
          <label key={n} class={n <= score ? 'star on' : 'star'}>
            <input type="radio" name="score" value={n} checked={score === n} onChange={() => setScore(n)} />
            <span aria-hidden="true">★</span>
            <span class="visually-hidden">
              {n} star{n > 1 ? 's' : ''}
            </span>
          </label>
        ))}
      </fieldset>
      <label for="rating-comment">
        Comment (optional)
        <textarea id="rating-comment" rows={2} maxLength={2000} value={comment} onInput={(e) => setComment((e.currentTarget as HTMLTextAreaElement).value)} />
      </label>
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button type="submit">Send rating</button>
    </form>
  );
}

function Conversation({ id, me, onLeave }: { id: string; me: Me; onLeave: () => void }) {
  const log = useMemo(() => new ChatLog(`sb.chat.outbox.${id}`), [id]);
  const refresh = useRefresh();
  const [status, setStatus] = useState<string>('loading');
  const [position, setPosition] = useState<{ position: number; wait: number } | null>(null);
  const [rep, setRep] = useState<string | null>(null);
  const [typing, setTyping] = useState<string | null>(null);
  const [readUpTo, setReadUpTo] = useState(0);
  const [conn, setConn] = useState<SocketState>('connecting');
  const [rated, setRated] = useState<number | null>(null);
  const [leftMessage, setLeftMessage] = useState(false);
  const [error, setError] = useState('');
  const socket = useRef<LiveSocket | null>(null);
  const typingTimer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const availability = useAvailability(status === 'new' || status === 'queued');
  const offline = availability?.reps_online === 0 && (status === 'new' || (status === 'queued' && leftMessage));

  const markRead = () => {
    const theirs = log.messages.filter((m) => m.user !== me.user.username);
    if (theirs.length && document.visibilityState === 'visible') socket.current?.send({ type: 'read', seq: theirs[theirs.length - 1].seq });
  };

  const flush = () => {
    for (const p of log.pending) if (!socket.current?.send({ type: 'message', text: p.text, client_id: p.clientId })) break;
  };

  const load = async () => {
    const c = await session.api('GET', `/api/conversations/${id}/`);
    log.add(...(c.messages as ChatMessage[]));
    setStatus(c.status);
    setRated(c.rating);
    refresh();
    return c;
  };

  const connect = () => {
    if (socket.current) return;
    socket.current = new LiveSocket({
      session,
      path: `/ws/customer_support/${id}/`,
      lastSeq: () => log.lastSeq,
      onState: (s, code) => {
        setConn(s);
        if (s === 'ended' && code === 4409) void load();
      },
      onOpen: () => {
        flush();
        void load().then(markRead, () => undefined);
      },
      onFrame: (f) => {
        if (f.type === 'message') {
          if (log.add(frameMessage(f))) refresh();
          if (f.user !== me.user.username) {
            setTyping(null);
            markRead();
          }
        } else if (f.type === 'queued') {
          setStatus('queued');
          setPosition({ position: f.position, wait: f.estimated_wait_s });
        } else if (f.type === 'assigned') {
          setStatus('assigned');
          setRep(f.rep?.first_name || f.rep?.username || null);
        } else if (f.type === 'typing' && f.user !== me.user.username) {
          setTyping(f.typing ? f.user : null);
          clearTimeout(typingTimer.current);
          if (f.typing) typingTimer.current = setTimeout(() => setTyping(null), 6000);
        } else if (f.type === 'read' && f.user !== me.user.username) {
          setReadUpTo((r) => Math.max(r, f.seq));
        } else if (f.type === 'closed') {
          setStatus('closed');
          setTyping(null);
          socket.current?.stop();
        } else if (f.type === 'error') {
          setError(f.detail ?? f.code);
        }
      },
    });
  };

  useEffect(() => {
    let live = true;
    load().then(
      (c) => {
        if (!live) return;
        setLeftMessage(c.status === 'queued' && log.messages.length > 0);
        if (c.status !== 'closed') connectUnlessOffline(c.status);
      },
      (err) => {
        if (err instanceof ApiError && err.status === 404) onLeave();
        else setError(describeError(err));
      },
    );
    const onVisible = () => markRead();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      live = false;
      document.removeEventListener('visibilitychange', onVisible);
      socket.current?.stop();
      socket.current = null;
    };
  }, [id]);

  // A new conversation with nobody online is not queued by a socket: its first message is left for later.
  const connectUnlessOffline = async (s: string) => {
    if (s === 'new') {
      const a = await request<Availability>('GET', '/api/availability/').catch(() => null);
      if (a && a.reps_online === 0) return;
    }
    connect();
  };

  const send = async (text: string) => {
    setError('');
    if (!socket.current && status === 'new') {
      try {
        const out = await session.api('POST', `/api/conversations/${id}/leave_message/`, { text });
        log.add(out.message);
        setLeftMessage(true);
        setStatus(out.assigned ? 'assigned' : 'queued');
        refresh();
        connect();
      } catch (err) {
        setError(describeError(err));
      }
      return;
    }
    log.queue(text);
    refresh();
    flush();
  };

  const closeChat = async () => {
    try {
      await session.api('POST', `/api/conversations/${id}/close/`);
      setStatus('closed');
      socket.current?.stop();
    } catch (err) {
      setError(describeError(err));
    }
  };

  const open = status === 'new' || status === 'queued' || status === 'assigned';
  return (
    <section class="conversation" aria-label="Conversation">
      <div class="status-line" role="status" data-testid="chat-status">
        {status === 'loading' && 'Loading…'}
        {status === 'new' && (offline ? 'No rep is online. Write your message and we will answer here.' : 'Connecting you to a rep…')}
        {status === 'queued' &&
          (leftMessage && offline
            ? 'Your message is saved. A rep will answer here when they come online.'
            : position
              ? `You are number ${position.position} in the queue, about ${formatWait(position.wait)}.`
              : 'Waiting for a rep…')}
        {status === 'assigned' && `You are chatting with ${rep ?? 'a rep'}.`}
        {status === 'closed' && 'This chat is closed.'}
        {status === 'abandoned' && 'You left the queue. Send a message to join it again.'}
      </div>
      {status === 'queued' && position && (
        <p class="visually-hidden" data-testid="queue-position">
          {position.position}
        </p>
      )}
      <ConnectionNote state={conn} />
      <MessageList messages={log.messages} pending={log.pending} me={me.user.username} readUpTo={readUpTo} typing={typing} />
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      {open && (
        <>
          <Composer
            idPrefix="chat"
            onSend={send}
            onTyping={(t) => socket.current?.send({ type: 'typing', typing: t })}
            button={status === 'new' && !socket.current ? 'Leave message' : 'Send'}
          />
          <button class="link" type="button" onClick={closeChat}>
            End chat
          </button>
        </>
      )}
      {status === 'closed' &&
        (rated === null ? (
          <Rating id={id} onDone={() => void load()} />
        ) : (
          <div class="card stack">
            <p role="status">Thank you for your rating ({rated} of 5).</p>
            <button type="button" onClick={onLeave}>
              Start a new conversation
            </button>
          </div>
        ))}
    </section>
  );
}

function Home({ me, onStart }: { me: Me; onStart: (id: string) => void }) {
  const a = useAvailability(true);
  const [error, setError] = useState('');
  return (
    <section class="card stack">
      <h1>Hello {me.user.first_name || me.user.username}</h1>
      <AvailabilityNote a={a} />
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button
        type="button"
        onClick={async () => {
          try {
            const c = await session.api('POST', '/api/conversations/');
            onStart(c.id);
          } catch (err) {
            setError(describeError(err));
          }
        }}
      >
        {a?.reps_online === 0 ? 'Leave a message' : 'Start a conversation'}
      </button>
    </section>
  );
}

function App() {
  const [me, setMe] = useState<Me | null>(null);
  const [signedIn, setSignedIn] = useState(session.signedIn);
  const [conv, setConv] = useState<string | null>(null);
  useEffect(() => session.onChange(() => setSignedIn(session.signedIn)), []);
  useEffect(() => {
    if (!signedIn) return setMe(null);
    session.api<Me>('GET', '/api/me/').then(
      (m) => {
        setMe(m);
        setConv(localStorage.getItem(`sb.chat.conversation.${m.user.id}`));
      },
      () => void session.logout(),
    );
  }, [signedIn]);
  const choose = (id: string | null) => {
    if (me) {
      if (id) localStorage.setItem(`sb.chat.conversation.${me.user.id}`, id);
      else localStorage.removeItem(`sb.chat.conversation.${me.user.id}`);
    }
    setConv(id);
  };

  return (
    <div class="widget">
      <header class="bar">
        <span class="brand">Support chat</span>
        {me && (
          <button class="link" type="button" onClick={() => void session.logout()}>
            Sign out
          </button>
        )}
      </header>
      <main class="widget-body">
        {!signedIn ? (
          <AuthPanel
            title="Chat with us"
            idPrefix="cust"
            onLogin={(u, p) => session.login(u, p)}
            signUp={{
              fields: [...accountFields, { name: 'phone_number', label: 'Phone number (digits)', type: 'tel', required: false, autocomplete: 'tel' }],
              onSubmit: async (v) => {
                const phone = (v.phone_number ?? '').replace(/\D/g, '');
                await request('POST', '/api/register_customer/', { body: { ...userBody(v), phone_number: phone ? Number(phone) : 0 } });
                await session.login(v.username, v.password);
              },
            }}
          />
        ) : !me ? (
          <p role="status">Loading…</p>
        ) : me.role !== 'customer' ? (
          <p role="alert">This is the customer chat. Reps use the agent console at /agent/.</p>
        ) : conv ? (
          <Conversation key={conv} id={conv} me={me} onLeave={() => choose(null)} />
        ) : (
          <Home me={me} onStart={choose} />
        )}
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
