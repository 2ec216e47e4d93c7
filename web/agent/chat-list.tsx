// The sidebar: tabs between the chats the rep holds now (with unread counts) and past conversations.
import { useState } from 'preact/hooks';
import type { Me } from '../src/api.ts';
import { TabList, tabPanelProps } from '../src/ui.tsx';
import { History } from './history.tsx';
import type { Chat } from './state.ts';

export function ChatList(props: { me: Me; chats: Chat[]; selected: string | null; onSelect: (id: string) => void; onOpenPast: (id: string) => void }) {
  const { chats, selected } = props;
  const [tab, setTab] = useState<'active' | 'history'>('active');
  return (
    <nav class="sidebar" aria-label="Chats">
      <TabList
        label="Chats"
        idPrefix="chats"
        tabs={[
          { id: 'active', label: `Active (${chats.length})` },
          { id: 'history', label: 'History' },
        ]}
        current={tab}
        onSelect={setTab}
      />
      <div {...tabPanelProps('chats', tab)}>
        {tab === 'active' ? (
          <ul class="chat-list" data-testid="chat-list">
            {chats.length === 0 && <li class="muted">No chats yet. New ones appear here by themselves.</li>}
            {chats.map((c) => (
              <li key={c.id}>
                <button type="button" class={c.id === selected ? 'chat-item selected' : 'chat-item'} aria-current={c.id === selected} onClick={() => props.onSelect(c.id)}>
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
          <History me={props.me} onOpen={props.onOpenPast} />
        )}
      </div>
    </nav>
  );
}
