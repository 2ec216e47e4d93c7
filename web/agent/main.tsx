// The agent console: a rep signs in (or signs up while registration is open), sets status and capacity,
// chats in every assigned conversation at once, closes and transfers, watches the queue and reads past
// conversations. Every socket comes back after a drop or a server restart and resumes with last_seq.
// This file is the entry: sign-in and the role check; the console itself is in ./console.tsx.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import '../src/style.css';
import { request, type Me } from '../src/api.ts';
import { AuthPanel, accountFields, userBody } from '../src/ui.tsx';
import { Console } from './console.tsx';
import { session } from './state.ts';

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
