// What every part of the agent console shares: the rep's session, the shape of a chat it holds, the
// customer names it remembers for this tab, and the alerts raised while the tab is in the background.
import { Session } from '../src/api.ts';
import type { ChatLog } from '../src/chat.ts';
import type { LiveSocket, SocketState } from '../src/socket.ts';

export const session = new Session('sb.agent.tokens');
const TITLE = document.title;

export interface Chat {
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

export interface RepInfo {
  id: number;
  user: { username: string; first_name: string };
  status: string;
  load: number;
  max_capacity: number;
}

export const names: Record<string, string> = JSON.parse(sessionStorage.getItem('sb.agent.names') ?? '{}');
export const rememberName = (conv: string, username: string) => {
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
export const alerts = new BackgroundAlerts();
