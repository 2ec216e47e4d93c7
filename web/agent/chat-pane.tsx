// One open chat: its messages (older pages on request), the composer, transfer and close.
import { useEffect, useState } from 'preact/hooks';
import { describeError } from '../src/api.ts';
import type { ChatMessage } from '../src/chat.ts';
import { Composer, ConnectionNote, MessageList } from '../src/ui.tsx';
import { session, type Chat, type RepInfo } from './state.ts';

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

export interface ChatPaneProps {
  chat: Chat;
  me: string;
  rep: RepInfo | null;
  /** The chat left this rep (closed or transferred). */
  onGone: () => void;
  onError: (text: string) => void;
  refresh: () => void;
}

export function ChatPane({ chat, me, rep, onGone, onError, refresh }: ChatPaneProps) {
  const loadOlder = async () => {
    const rows = await session.api<ChatMessage[]>('GET', `/api/conversations/${chat.id}/messages/?limit=50&before_seq=${chat.log.firstSeq}`);
    chat.log.add(...rows);
    chat.hasOlder = rows.length === 50 && chat.log.firstSeq > 1;
    refresh();
  };
  return (
    <section class="chat-pane" aria-label={`Chat with ${chat.customer}`}>
      <div class="chat-head">
        <h2>{chat.customer}</h2>
        {rep && <TransferControl chat={chat} meRepId={rep.id} onDone={onGone} />}
        <button
          type="button"
          class="danger"
          onClick={async () => {
            try {
              await session.api('POST', `/api/conversations/${chat.id}/close/`);
              onGone();
            } catch (err) {
              onError(describeError(err));
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
        me={me}
        readUpTo={chat.readUpTo}
        typing={chat.typing}
        before={
          chat.hasOlder && (
            <li>
              <button type="button" class="link" onClick={() => void loadOlder()}>
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
  );
}
