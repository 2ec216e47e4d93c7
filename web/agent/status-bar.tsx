// The console's top bar: who is signed in, status and capacity, the queue figure, notifications, sign-out.
import { useState } from 'preact/hooks';
import { describeError, formatWait, type Me } from '../src/api.ts';
import { useRefresh } from '../src/ui.tsx';
import { session, type RepInfo } from './state.ts';

export interface QueueFigure {
  length: number;
  oldest: number;
}

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

export function StatusBar({ me, rep, onRep, queue }: { me: Me; rep: RepInfo | null; onRep: (r: RepInfo) => void; queue: QueueFigure }) {
  const refresh = useRefresh();
  return (
    <header class="bar">
      <span class="brand">Switchboard · {me.user.first_name || me.user.username}</span>
      {rep && <RepSettings rep={rep} onChange={onRep} />}
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
  );
}
