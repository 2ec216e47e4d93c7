// Past conversations: a paged list of the rep's closed chats, and one of them read-only, paged backwards.
import { useEffect, useState } from 'preact/hooks';
import { formatTime, type Me } from '../src/api.ts';
import { ChatLog, type ChatMessage } from '../src/chat.ts';
import { MessageList, useRefresh } from '../src/ui.tsx';
import { names, rememberName, session } from './state.ts';

/** A past conversation, read-only, paged backwards 50 messages at a time. */
export function PastConversation({ id, me, onBack }: { id: string; me: string; onBack: () => void }) {
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

export function History({ me, onOpen }: { me: Me; onOpen: (id: string) => void }) {
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
