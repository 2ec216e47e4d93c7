// Pieces every page shares: the sign-in / sign-up form, the message list with read marks, the composer
// with typing notices, and small helpers.
import { useEffect, useRef, useState } from 'preact/hooks';
import type { ComponentChildren } from 'preact';
import { describeError, formatTime } from './api.ts';
import type { ChatMessage, Pending } from './chat.ts';

export interface Field {
  name: string;
  label: string;
  type?: string;
  required?: boolean;
  autocomplete?: string;
  min?: number;
  initial?: string;
}

/** A labelled form that reports its error in an alert region. */
export function Form(props: { fields: Field[]; submit: string; onSubmit: (values: Record<string, string>) => Promise<void>; idPrefix: string }) {
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  return (
    <form
      class="stack"
      onSubmit={async (e) => {
        e.preventDefault();
        const values = Object.fromEntries(new FormData(e.currentTarget as HTMLFormElement).entries()) as Record<string, string>;
        setBusy(true);
        setError('');
        try {
          await props.onSubmit(values);
        } catch (err) {
          setError(describeError(err));
        } finally {
          setBusy(false);
        }
      }}
    >
      {props.fields.map((f) => (
        <label key={f.name} for={`${props.idPrefix}-${f.name}`}>
          {f.label}
          <input
            id={`${props.idPrefix}-${f.name}`}
            name={f.name}
            type={(f.type ?? 'text') as 'text'}
            required={f.required ?? true}
            autocomplete={f.autocomplete}
            min={f.min}
            value={f.initial}
          />
        </label>
      ))}
      {error && (
        <p role="alert" class="error">
          {error}
        </p>
      )}
      <button type="submit" disabled={busy}>
        {props.submit}
      </button>
    </form>
  );
}

/**
 * Tabs as the ARIA pattern has them: one tab stop for the list (the selected tab), arrow keys move between
 * tabs, and each tab names the panel it controls (render that panel with `tabPanelProps`).
 */
export function TabList<T extends string>(props: { label: string; idPrefix: string; tabs: Array<{ id: T; label: ComponentChildren }>; current: T; onSelect: (id: T) => void }) {
  const buttons = useRef<Partial<Record<T, HTMLButtonElement | null>>>({});
  const move = (step: number) => {
    const i = props.tabs.findIndex((t) => t.id === props.current);
    const next = props.tabs[(i + step + props.tabs.length) % props.tabs.length];
    props.onSelect(next.id);
    buttons.current[next.id]?.focus();
  };
  return (
    <div
      class="tabs"
      role="tablist"
      aria-label={props.label}
      onKeyDown={(e) => {
        const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
        if (!step) return;
        e.preventDefault();
        move(step);
      }}
    >
      {props.tabs.map((t) => (
        <button
          key={t.id}
          ref={(el) => {
            buttons.current[t.id] = el;
          }}
          type="button"
          role="tab"
          id={`${props.idPrefix}-tab-${t.id}`}
          aria-controls={`${props.idPrefix}-panel`}
          aria-selected={t.id === props.current}
          tabIndex={t.id === props.current ? 0 : -1}
          class={t.id === props.current ? 'tab active' : 'tab'}
          onClick={() => props.onSelect(t.id)}
        >
          {t.label}
        </button>
      ))}
    </div>
  );
}

export const tabPanelProps = (idPrefix: string, current: string) => ({ role: 'tabpanel' as const, id: `${idPrefix}-panel`, 'aria-labelledby': `${idPrefix}-tab-${current}` });

/** Sign in, or sign up with the given extra fields, in two tabs. */
export function AuthPanel(props: {
  title: string;
  idPrefix: string;
  onLogin: (username: string, password: string) => Promise<void>;
  signUp?: { fields: Field[]; onSubmit: (values: Record<string, string>) => Promise<void>; note?: string };
}) {
  const [mode, setMode] = useState<'in' | 'up'>('in');
  return (
    <section class="card auth" aria-labelledby={`${props.idPrefix}-title`}>
      <h1 id={`${props.idPrefix}-title`}>{props.title}</h1>
      {props.signUp && (
        <TabList
          label="Sign in or create an account"
          idPrefix={`${props.idPrefix}-auth`}
          tabs={[
            { id: 'in', label: 'Sign in' },
            { id: 'up', label: 'Create an account' },
          ]}
          current={mode}
          onSelect={setMode}
        />
      )}
      <div {...(props.signUp ? tabPanelProps(`${props.idPrefix}-auth`, mode) : {})}>
        {mode === 'in' || !props.signUp ? (
          <Form
            idPrefix={`${props.idPrefix}-in`}
            fields={[
              { name: 'username', label: 'Username', autocomplete: 'username' },
              { name: 'password', label: 'Password', type: 'password', autocomplete: 'current-password' },
            ]}
            submit="Sign in"
            onSubmit={(v) => props.onLogin(v.username, v.password)}
          />
        ) : (
          <>
            {props.signUp.note && <p class="muted">{props.signUp.note}</p>}
            <Form idPrefix={`${props.idPrefix}-up`} fields={props.signUp.fields} submit="Create account" onSubmit={props.signUp.onSubmit} />
          </>
        )}
      </div>
    </section>
  );
}

export const accountFields: Field[] = [
  { name: 'username', label: 'Username', autocomplete: 'username' },
  { name: 'email', label: 'Email', type: 'email', required: false, autocomplete: 'email' },
  { name: 'first_name', label: 'First name', required: false, autocomplete: 'given-name' },
  { name: 'last_name', label: 'Last name', required: false, autocomplete: 'family-name' },
  { name: 'password', label: 'Password', type: 'password', autocomplete: 'new-password' },
];

export function userBody(v: Record<string, string>) {
  return { user: { username: v.username, email: v.email ?? '', first_name: v.first_name ?? '', last_name: v.last_name ?? '' }, password: v.password, password1: v.password };
}

/** The conversation, oldest first; the newest stays in view as messages arrive. */
export function MessageList(props: { messages: ChatMessage[]; pending: Pending[]; me: string; readUpTo: number; typing?: string | null; before?: ComponentChildren }) {
  const end = useRef<HTMLLIElement>(null);
  useEffect(() => end.current?.scrollIntoView({ block: 'end' }), [props.messages.length, props.pending.length, props.typing]);
  const lastMine = [...props.messages].reverse().find((m) => m.user === props.me);
  return (
    <ol class="messages" aria-live="polite" aria-label="Messages">
      {props.before}
      {props.messages.map((m) => (
        <li key={m.seq} class={m.user === props.me ? 'msg mine' : 'msg theirs'} data-seq={m.seq}>
          <span class="who">{m.user === props.me ? 'You' : m.user}</span>
          <span class="text">{m.text}</span>
          <span class="meta">
            <time dateTime={m.timestamp}>{formatTime(m.timestamp)}</time>
            {m === lastMine && props.readUpTo >= m.seq && <span class="read"> · Seen</span>}
          </span>
        </li>
      ))}
      {props.pending.map((p) => (
        <li key={p.clientId} class="msg mine pending">
          <span class="who">You</span>
          <span class="text">{p.text}</span>
          <span class="meta">Sending…</span>
        </li>
      ))}
      <li ref={end} class="typing" aria-live="polite">
        {props.typing ? `${props.typing} is typing…` : ''}
      </li>
    </ol>
  );
}

/** The text box: Enter sends, Shift+Enter breaks the line; typing notices go out at most every 2 s. */
export function Composer(props: { onSend: (text: string) => void; onTyping?: (typing: boolean) => void; disabled?: boolean; label?: string; button?: string; idPrefix: string }) {
  const [text, setText] = useState('');
  const last = useRef(0);
  const idle = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const send = () => {
    const t = text.trim();
    if (!t) return;
    props.onSend(t);
    setText('');
    clearTimeout(idle.current);
    last.current = 0;
    props.onTyping?.(false);
  };
  return (
    <form
      class="composer"
      onSubmit={(e) => {
        e.preventDefault();
        send();
      }}
    >
      <label for={`${props.idPrefix}-text`} class="visually-hidden">
        {props.label ?? 'Message'}
      </label>
      <textarea
        id={`${props.idPrefix}-text`}
        rows={2}
        maxLength={4000}
        value={text}
        disabled={props.disabled}
        placeholder={props.label ?? 'Write a message'}
        onInput={(e) => {
          setText((e.currentTarget as HTMLTextAreaElement).value);
          if (Date.now() - last.current > 2000) {
            last.current = Date.now();
            props.onTyping?.(true);
          }
          clearTimeout(idle.current);
          idle.current = setTimeout(() => {
            last.current = 0;
            props.onTyping?.(false);
          }, 3000);
        }}
        onKeyDown={(e) => {
          if (e.key === 'Enter' && !e.shiftKey) {
            e.preventDefault();
            send();
          }
        }}
      />
      <button type="submit" disabled={props.disabled}>
        {props.button ?? 'Send'}
      </button>
    </form>
  );
}

export function ConnectionNote(props: { state: string }) {
  if (props.state === 'open' || props.state === 'ended') return null;
  return (
    <p class="note" role="status">
      {props.state === 'offline' ? 'You are offline. Messages will be sent when the connection is back.' : 'Reconnecting…'}
    </p>
  );
}

/** Re-renders when called: for state kept in mutable objects (chat logs, socket maps). */
export function useRefresh(): () => void {
  const [, set] = useState(0);
  return () => set((n) => n + 1);
}
