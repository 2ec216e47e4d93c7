// A small HTTP + WebSocket client that speaks Switchboard's API, for tests and benches.
import WebSocket from 'ws';

export interface Json {
  [k: string]: any;
}

export interface HttpResult {
  status: number;
  body: any;
  headers: Headers;
}

export async function http(base: string, method: string, path: string, opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string> } = {}): Promise<HttpResult> {
  const headers: Record<string, string> = { ...(opts.headers ?? {}) };
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) {
    body = opts.raw;
    headers['content-type'] ??= 'application/json';
  } else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers['content-type'] = 'application/json';
  }
  const res = await fetch(base + path, { method, headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text.length ? JSON.parse(text) : null;
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

let counter = 0;
export const uniqueName = (prefix: string) => `${prefix}_${process.pid}_${Date.now().toString(36)}_${counter++}`;

export interface Account {
  id: number;
  userId: number;
  username: string;
  access: string;
  refresh: string;
}

export async function registerCustomer(base: string, username = uniqueName('cust')): Promise<Account> {
  const r = await http(base, 'POST', '/api/register_customer/', {
    body: { user: { username, email: `${username}@example.com`, first_name: 'C', last_name: 'X' }, phone_number: 5550100, password: 'pw-123456', password1: 'pw-123456' },
  });
  if (r.status !== 201) throw new Error(`register customer: ${r.status} ${JSON.stringify(r.body)}`);
  const t = await login(base, username, 'pw-123456');
  return { id: r.body.id, userId: r.body.user.id, username, ...t };
}

export async function registerRep(base: string, maxCapacity: number, username = uniqueName('rep')): Promise<Account> {
  const r = await http(base, 'POST', '/api/register_customer_rep/', {
    body: { user: { username, email: `${username}@example.com`, first_name: 'Rep', last_name: 'X' }, max_capacity: maxCapacity, password: 'pw-123456', password1: 'pw-123456' },
  });
  if (r.status !== 201) throw new Error(`register rep: ${r.status} ${JSON.stringify(r.body)}`);
  const t = await login(base, username, 'pw-123456');
  return { id: r.body.id, userId: r.body.user.id, username, ...t };
}

export async function login(base: string, username: string, password: string): Promise<{ access: string; refresh: string }> {
  const r = await http(base, 'POST', '/auth/token/', { body: { username, password } });
  if (r.status !== 200) throw new Error(`login: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

export async function openConversation(base: string, customer: Account): Promise<string> {
  const r = await http(base, 'POST', '/api/conversations/', { token: customer.access, body: {} });
  if (r.status !== 201) throw new Error(`open conversation: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.id;
}

/** A WebSocket that records every frame, with waits bounded in time (never sleeps-then-asserts). */
export class TestSocket {
  readonly frames: Json[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly opened: Promise<void>;
  readonly closedPromise: Promise<number>;
  private waiters: Array<() => void> = [];

  constructor(readonly ws: WebSocket) {
    this.opened = new Promise((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
      ws.once('unexpected-response', (_req, res) => reject(new Error(`unexpected HTTP ${res.statusCode} on upgrade`)));
    });
    // A socket refused at the handshake rejects `opened`; tests that never await it must not crash.
    this.opened.catch(() => undefined);
    this.closedPromise = new Promise((resolve) => {
      ws.on('close', (code, reason) => {
        this.closeCode = code;
        this.closeReason = reason.toString();
        this.wake();
        resolve(code);
      });
    });
    ws.on('message', (data) => {
      try {
        this.frames.push(JSON.parse(data.toString()));
      } catch {
        this.frames.push({ type: '__unparseable__', raw: data.toString() });
      }
      this.wake();
    });
    ws.on('error', () => undefined);
  }

  private wake() {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  send(frame: unknown): void {
    this.ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  }

  /** Waits for the first frame (from index `from`) matching `pred`. */
  async waitFor(pred: (f: Json) => boolean, timeoutMs = 15_000, from = 0): Promise<Json> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.frames.slice(from).find(pred);
      if (found) return found;
      if (this.closeCode !== undefined) throw new Error(`socket closed (${this.closeCode}) before the frame came; frames: ${JSON.stringify(this.frames)}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for a frame; frames: ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  waitType(type: string, timeoutMs = 15_000): Promise<Json> {
    return this.waitFor((f) => f.type === type, timeoutMs);
  }

  async waitClose(timeoutMs = 15_000): Promise<number> {
    return Promise.race([
      this.closedPromise,
      new Promise<number>((_, reject) => setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames)}`)), timeoutMs).unref()),
    ]);
  }

  ofType(type: string): Json[] {
    return this.frames.filter((f) => f.type === type);
  }

  close(): void {
    this.ws.close();
  }
}

export function connect(wsBase: string, path: string, opts: { token?: string; query?: string; header?: boolean } = {}): TestSocket {
  const headers: Record<string, string> = {};
  let url = wsBase + path;
  const q: string[] = [];
  if (opts.token && opts.header !== false) headers.authorization = `Bearer ${opts.token}`;
  if (opts.token && opts.header === false) q.push(`token=${encodeURIComponent(opts.token)}`);
  if (opts.query) q.push(opts.query);
  if (q.length) url += `?${q.join('&')}`;
  return new TestSocket(new WebSocket(url, { headers }));
}

export const chatPath = (conversationId: string) => `/ws/customer_support/${conversationId}/`;

/**
 * A live chat: a new customer assigned to `rep`, both sockets open. The rep's pong proves its socket is
 * set up (frames are handled only after authentication), so both sides are ready when this returns.
 */
/**
 * A new customer whose chat is assigned (to `rep`, if the routing policy picks it), with the customer's
 * socket on `server` and the rep's on `repServer` (another instance) or `server`; both are set up when it
 * returns (the rep's has answered a ping). `assigned` is the customer's first `assigned` frame.
 */
export async function openChat(server: { url: string; wsUrl: string }, rep: Account, repServer: { wsUrl: string } = server) {
  const cust = await registerCustomer(server.url);
  const conv = await openConversation(server.url, cust);
  const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
  const assigned = await c.waitType('assigned');
  const r = connect(repServer.wsUrl, chatPath(conv), { token: rep.access });
  await r.opened;
  r.send({ type: 'ping' });
  await r.waitType('pong');
  return { cust, conv, c, r, assigned };
}
