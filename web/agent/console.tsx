// The signed-in rep's console: the status bar, the chat list and history, and the chat pane.
import { useState } from 'preact/hooks';
import type { Me } from '../src/api.ts';
import { ConnectionNote } from '../src/ui.tsx';
import { ChatList } from './chat-list.tsx';
import { ChatPane } from './chat-pane.tsx';
import { PastConversation } from './history.tsx';
import { useLiveChats } from './live-chats.ts';
import { StatusBar } from './status-bar.tsx';

export function Console({ me }: { me: Me }) {
  const live = useLiveChats(me);
  const { chat, rep } = live;
  const [past, setPast] = useState<string | null>(null);
  return (
    <div class="console">
      <StatusBar me={me} rep={rep} onRep={live.setRep} queue={live.queue} />
      <ConnectionNote state={live.agentConn} />
      {live.notice && (
        <p class="note" role="status">
          {live.notice}{' '}
          <button type="button" class="link" onClick={() => live.setNotice('')}>
            Dismiss
          </button>
        </p>
      )}
      <div class="console-body">
        <ChatList
          me={me}
          chats={live.chats}
          selected={live.selected}
          onSelect={(id) => {
            setPast(null);
            live.setSelected(id);
          }}
          onOpenPast={setPast}
        />
        {past ? (
          <PastConversation id={past} me={me.user.username} onBack={() => setPast(null)} />
        ) : chat ? (
          <ChatPane chat={chat} me={me.user.username} rep={rep} onGone={() => live.dropChat(chat.id)} onError={live.setNotice} refresh={live.refresh} />
        ) : (
          <section class="chat-pane empty">
            <p class="muted">{rep && rep.status !== 'online' ? 'Set your status to Online to receive chats.' : 'Waiting for the next customer…'}</p>
          </section>
        )}
      </div>
    </div>
  );
}
