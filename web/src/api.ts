// The one client of Switchboard's public API that every page shares: a session (tokens kept in this
// browser only, refreshed before they expire, cleared on logout) and JSON requests with its token.

export interface Tokens {
  access: string;
  refresh: string;
}

export interface Me {
  user: { id: number; username: string; email: string; first_name: string; last_name: string };
  role: 'customer' | 'rep' | 'admin';
  profile: { id: number } | null;
}

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: any,
  ) {
    super(typeof body?.detail === 'string' ? body.detail : `Request failed (${status})`);
  }
}

/** Field errors in DRF's shape ({"user": {"username": ["..."]}}) as one readable line. */
export function describeError(err: unknown): string {
  if (!(err instanceof ApiError)) return err instanceof Error ? err.message : String(err);
  const parts: string[] = [];
  const walk = (v: any, path: string) => {
    if (Array.isArray(v)) parts.push(`${path ? path + ': ' : ''}${v.join(' ')}`);
    else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) if (k !== 'code' && k !== 'detail') walk(x, k === 'user' ? '' : k);
  };
  walk(err.body, '');
  return parts.length ? parts.join('; ') : err.message;
}

function expiryOf(token: string): number {
  try {
    const payload = JSON.parse(atob(token.split('.')[1].replace(/-/g, '+').replace(/_/g, '/')));
    return typeof payload.exp === 'number' ? payload.exp * 1000 : 0;
  } catch {
    return 0;
  }
}

export class Session {
  private tokens: Tokens | null;
  private refreshTimer: ReturnType<typeof setTimeout> | undefined;
  private refreshing: Promise<boolean> | undefined;
  private listeners = new Set<() => void>();

  constructor(private readonly storageKey: string) {
    try {
      this.tokens = JSON.parse(localStorage.getItem(storageKey) ?? 'null');
    } catch {
      this.tokens = null;
    }
    if (this.tokens) this.scheduleRefresh();
  }

  get access(): string | null {
    return this.tokens?.access ?? null;
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  onChange(fn: () => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private set(tokens: Tokens | null) {
    this.tokens = tokens;
    if (tokens) localStorage.setItem(this.storageKey, JSON.stringify(tokens));
    else localStorage.removeItem(this.storageKey);
    this.scheduleRefresh();
    for (const fn of this.listeners) fn();
  }

  /** A minute before the access token expires (or at 80% of a short lifetime), it is swapped for a new one. */
  private scheduleRefresh() {
    clearTimeout(this.refreshTimer);
    if (!this.tokens) return;
    const exp = expiryOf(this.tokens.access);
    if (!exp) return;
    const left = exp - Date.now();
    const delay = Math.max(1000, Math.min(left - 60_000, left * 0.8));
    this.refreshTimer = setTimeout(() => void this.refresh(), Math.min(delay, 2_000_000_000));
  }

  async login(username: string, password: string): Promise<void> {
    this.set(await request<Tokens>('POST', '/auth/token/', { body: { username, password } }));
  }

  /** True when a new access token was obtained; false (and signed out) when the refresh token is dead. */
  refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      if (!this.tokens) return false;
      try {
        this.set(await request<Tokens>('POST', '/auth/token/refresh/', { body: { refresh: this.tokens.refresh } }));
        return true;
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 400)) this.set(null);
        return false;
      }
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /**
   * Signs out and leaves nothing of this page behind in the browser: the tokens, and whatever else it kept
   * under the same prefix (customer names, unsent drafts, the open conversation), so that the next person
   * at a shared computer finds nothing.
   */
  async logout(): Promise<void> {
    const tokens = this.tokens;
    this.set(null);
    const prefix = this.storageKey.slice(0, this.storageKey.lastIndexOf('.') + 1);
    for (const store of [localStorage, sessionStorage]) {
      for (const key of Object.keys(store)) if (key.startsWith(prefix)) store.removeItem(key);
    }
    if (tokens) await request('POST', '/auth/logout/', { token: tokens.access, body: { refresh: tokens.refresh } }).catch(() => undefined);
  }

  /** A request with the access token; on 401 the token is refreshed once and the request retried. */
  async api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
    try {
      return await request<T>(method, path, { token: this.access ?? undefined, body });
    } catch (err) {
      if (err instanceof ApiError && err.status === 401 && this.tokens && (await this.refresh())) {
        return request<T>(method, path, { token: this.access ?? undefined, body });
      }
      throw err;
    }
  }

  async apiText(path: string): Promise<string> {
    const res = await fetch(path, { headers: this.access ? { authorization: `Bearer ${this.access}` } : {} });
    if (res.status === 401 && (await this.refresh())) return this.apiText(path);
    if (!res.ok) throw new ApiError(res.status, await res.json().catch(() => null));
    return res.text();
  }
}

export async function request<T = any>(method: string, path: string, opts: { token?: string; body?: unknown } = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, { method, headers, body: opts.body === undefined ? undefined : JSON.stringify(opts.body) });
  const text = await res.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : null;
  } catch {
    parsed = text;
  }
  if (!res.ok) throw new ApiError(res.status, parsed);
  return parsed as T;
}

export function newClientId(): string {
  return crypto.randomUUID();
}

export function formatWait(seconds: number): string {
  if (seconds < 60) return `${Math.max(0, Math.round(seconds))} s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

export function formatTime(iso: string): string {
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' });
}
