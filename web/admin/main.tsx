// The supervisor view: live figures and service measures, the queue over the last hour, rep accounts,
// and a conversation browser with transcript export.
import { render } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import '../src/style.css';
import { describeError, formatWait, Session, type Me } from '../src/api.ts';
import { AuthPanel, Form, accountFields, userBody } from '../src/ui.tsx';

const session = new Session('sb.admin.tokens');

const fmtS = (s: number | null) => (s === null ? '–' : formatWait(s));

function Figure({ label, value, id }: { label: string; value: string | number; id: string }) {
  return (
    <div class="figure">
      <span class="muted">{label}</span>
      <span class="value" data-testid={id}>
        {value}
      </span>
    </div>
  );
}

function QueueChart() {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    let plot: uPlot | null = null;
    const load = async () => {
      const s = await session.api('GET', '/api/admin/timeseries/?minutes=60&step_s=60').catch(() => null);
      if (!s || !box.current) return;
      const data: uPlot.AlignedData = [
        s.points.map((p: any) => Date.parse(p.at) / 1000),
        s.points.map((p: any) => p.queue_length),
        s.points.map((p: any) => p.longest_wait_s),
      ];
      if (plot) return plot.setData(data);
      plot = new uPlot(
        {
          width: Math.min(box.current.clientWidth || 800, 1100),
          height: 240,
          series: [{}, { label: 'Queue length', stroke: '#1d4ed8', width: 2 }, { label: 'Longest wait (s)', stroke: '#b45309', width: 2, scale: 's' }],
          axes: [{}, { label: 'waiting' }, { scale: 's', side: 1, label: 'seconds', grid: { show: false } }],
        },
        data,
        box.current,
      );
    };
    void load();
    const t = setInterval(load, 30_000);
    return () => {
      clearInterval(t);
      plot?.destroy();
    };
  }, []);
  return (
    <section class="card" aria-labelledby="chart-title">
      <h2 id="chart-title">Queue over the last hour</h2>
      <div ref={box} role="img" aria-label="Chart of the queue length and the longest wait over the last hour" />
    </section>
  );
}

function Reps({ stats, reload }: { stats: any; reload: () => void }) {
  const [users, setUsers] = useState<any[]>([]);
  const [message, setMessage] = useState('');
  const load = () => session.api('GET', '/api/admin/users/?role=rep&limit=500').then(setUsers, () => undefined);
  useEffect(() => void load(), [stats?.reps?.length]);
  const act = async (fn: () => Promise<unknown>, done: string) => {
    try {
      await fn();
      setMessage(done);
      void load();
      reload();
    } catch (err) {
      setMessage(describeError(err));
    }
  };
  const byProfile = new Map<number, any>((stats?.reps ?? []).map((r: any) => [r.id, r]));
  return (
    <section class="card stack" aria-labelledby="reps-title">
      <h2 id="reps-title">Reps</h2>
      {message && <p role="status">{message}</p>}
      <table>
        <thead>
          <tr>
            <th scope="col">Rep</th>
            <th scope="col">Status</th>
            <th scope="col">Load</th>
            <th scope="col">Account</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody>
          {users.map((u) => {
            const r = byProfile.get(u.profile_id);
            return (
              <tr key={u.id} data-rep={u.username}>
                <td>
                  {u.first_name} {u.last_name} <span class="muted">({u.username})</span>
                </td>
                <td>{r?.status ?? '–'}</td>
                <td>
                  <span class="loadbar" aria-hidden="true">
                    <span style={{ width: `${r && r.max_capacity ? Math.min(100, (100 * r.load) / r.max_capacity) : 0}%` }} />
                  </span>
                  {r ? `${r.load} / ${r.max_capacity}` : '–'}
                </td>
                <td>{u.is_active ? 'active' : 'deactivated'}</td>
                <td class="inline">
                  {u.is_active ? (
                    <button type="button" class="danger" onClick={() => act(() => session.api('POST', `/api/admin/users/${u.id}/deactivate/`), `${u.username} deactivated.`)}>
                      Deactivate
                    </button>
                  ) : (
                    <button type="button" onClick={() => act(() => session.api('POST', `/api/admin/users/${u.id}/reactivate/`), `${u.username} reactivated.`)}>
                      Reactivate
                    </button>
                  )}
                  <button
                    type="button"
                    class="link"
                    onClick={() => {
                      const pw = prompt(`New password for ${u.username}`);
                      if (pw) void act(() => session.api('POST', `/api/admin/users/${u.id}/password/`, { password: pw }), `Password of ${u.username} reset.`);
                    }}
                  >
                    Reset password
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <details>
        <summary>Create a rep</summary>
        <Form
          idPrefix="new-rep"
          fields={[...accountFields, { name: 'max_capacity', label: 'Chats at once', type: 'number', min: 0, initial: '3' }]}
          submit="Create rep"
          onSubmit={async (v) => {
            await session.api('POST', '/api/admin/reps/', { ...userBody(v), max_capacity: Number(v.max_capacity || 3) });
            setMessage(`${v.username} created.`);
            void load();
            reload();
          }}
        />
      </details>
    </section>
  );
}

function download(name: string, type: string, text: string) {
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([text], { type }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

function Conversations() {
  const [q, setQ] = useState('');
  const [rows, setRows] = useState<any[]>([]);
  const [total, setTotal] = useState(0);
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<any | null>(null);
  const search = async (query: string, off: number) => {
    const res = await fetch(`/api/admin/conversations/?limit=20&offset=${off}&q=${encodeURIComponent(query)}`, { headers: { authorization: `Bearer ${session.access}` } });
    if (!res.ok) return;
    setTotal(Number(res.headers.get('X-Total-Count') ?? 0));
    setRows(await res.json());
  };
  useEffect(() => void search(q, offset), [offset]);
  return (
    <section class="card stack" aria-labelledby="conv-title">
      <h2 id="conv-title">Conversations</h2>
      <form
        class="inline"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setOffset(0);
          void search(q, 0);
        }}
      >
        <label for="conv-q">
          Customer
          <input id="conv-q" type="search" value={q} placeholder="username, email or name" onInput={(e) => setQ((e.currentTarget as HTMLInputElement).value)} />
        </label>
        <button type="submit">Search</button>
        <span class="muted" data-testid="conv-total">
          {total} found
        </span>
      </form>
      <table>
        <thead>
          <tr>
            <th scope="col">Started</th>
            <th scope="col">Customer</th>
            <th scope="col">Rep</th>
            <th scope="col">Status</th>
            <th scope="col">Messages</th>
            <th scope="col">Rating</th>
            <th scope="col">Transcript</th>
          </tr>
        </thead>
        <tbody>
          {rows.map((c) => (
            <tr key={c.id}>
              <td>{new Date(c.created_at).toLocaleString()}</td>
              <td>{c.customer_username}</td>
              <td>{c.rep_username ?? '–'}</td>
              <td>
                {c.status}
                {c.left_message ? ' (message left)' : ''}
              </td>
              <td>{c.last_seq}</td>
              <td>{c.rating ?? '–'}</td>
              <td class="inline">
                <button type="button" class="link" onClick={async () => setOpen(await session.api('GET', `/api/admin/conversations/${c.id}/transcript/`))}>
                  View
                </button>
                <button type="button" class="link" onClick={async () => download(`conversation-${c.id}.json`, 'application/json', JSON.stringify(await session.api('GET', `/api/admin/conversations/${c.id}/transcript/`), null, 2))}>
                  JSON
                </button>
                <button type="button" class="link" onClick={async () => download(`conversation-${c.id}.csv`, 'text/csv', await session.apiText(`/api/admin/conversations/${c.id}/transcript/?format=csv`))}>
                  CSV
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <div class="pager">
        <button type="button" disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - 20))}>
          Newer
        </button>
        <button type="button" disabled={offset + 20 >= total} onClick={() => setOffset(offset + 20)}>
          Older
        </button>
      </div>
      {open && (
        <section class="card" aria-label="Transcript">
          <div class="inline">
            <h2>
              Transcript: {open.conversation.customer_username} with {open.conversation.rep_username ?? 'no rep'}
            </h2>
            <button type="button" class="link" onClick={() => setOpen(null)}>
              Close
            </button>
          </div>
          <ol class="messages">
            {open.messages.map((m: any) => (
              <li key={m.seq} class="msg">
                <span class="who">{m.user}</span>
                <span class="text">{m.text}</span>
                <span class="meta">{new Date(m.timestamp).toLocaleString()}</span>
              </li>
            ))}
          </ol>
        </section>
      )}
    </section>
  );
}

function Dashboard({ me }: { me: Me }) {
  const [stats, setStats] = useState<any>(null);
  const [error, setError] = useState('');
  const load = () =>
    session.api('GET', '/api/admin/stats/').then(
      (s) => {
        setStats(s);
        setError('');
      },
      (err) => setError(describeError(err)),
    );
  useEffect(() => {
    void load();
    const t = setInterval(load, 5000);
    return () => clearInterval(t);
  }, []);
  return (
    <div>
      <header class="bar">
        <span class="brand">Switchboard supervisor · {me.user.username}</span>
        <button type="button" class="link" onClick={() => void load()}>
          Refresh
        </button>
        <button type="button" class="link" onClick={() => void session.logout()}>
          Sign out
        </button>
      </header>
      <main class="admin">
        {error && (
          <p role="alert" class="error">
            {error}
          </p>
        )}
        {stats && (
          <section aria-labelledby="live-title" class="stack">
            <h1 id="live-title">Now</h1>
            <div class="figures">
              <Figure id="fig-queue" label="Waiting in the queue" value={stats.queue.length} />
              <Figure id="fig-longest" label="Longest wait" value={formatWait(stats.queue.longest_wait_s)} />
              <Figure id="fig-reps" label="Reps online" value={stats.reps_online} />
              <Figure id="fig-open" label="Chats open" value={stats.conversations.assigned} />
              <Figure id="fig-rating" label={`Rating (last hour, ${stats.rating.count})`} value={stats.rating.average === null ? '–' : stats.rating.average.toFixed(1)} />
              <Figure id="fig-first" label="First response (mean)" value={fmtS(stats.first_response.mean_s)} />
              <Figure id="fig-handle" label="Handle time (mean)" value={fmtS(stats.handle_time.mean_s)} />
              <Figure id="fig-abandon" label="Abandonment" value={stats.abandonment.ratio === null ? '–' : `${Math.round(stats.abandonment.ratio * 100)} %`} />
            </div>
            <p class="muted">Service measures cover the last hour; the same figures are in /metrics.</p>
          </section>
        )}
        <QueueChart />
        <Reps stats={stats} reload={() => void load()} />
        <Conversations />
      </main>
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
  if (!signedIn)
    return (
      <main class="center">
        <AuthPanel title="Supervisor view" idPrefix="admin" onLogin={(u, p) => session.login(u, p)} />
      </main>
    );
  if (!me) return <p role="status">Loading…</p>;
  if (me.role !== 'admin')
    return (
      <main class="center card stack">
        <p role="alert">The supervisor view is for admins.</p>
        <button type="button" onClick={() => void session.logout()}>
          Sign out
        </button>
      </main>
    );
  return <Dashboard me={me} />;
}

render(<App />, document.getElementById('app')!);
