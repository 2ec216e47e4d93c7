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

/** How long one HTTP call or socket handshake may take before the test fails instead of hanging. */
export const HTTP_TIMEOUT_MS = 30_000;
export const HANDSHAKE_TIMEOUT_MS = 10_000;

export async function http(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: string; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<HttpResult> {
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
  const timeoutMs = opts.timeoutMs ?? HTTP_TIMEOUT_MS;
  let res: Response;
  let text: string;
  try {
    res = await fetch(base + path, { method, headers, body, signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : (err as Error).message;
    throw new Error(`${method} ${path}: ${why}`, { cause: err });
  }
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

/** Where a wait starts: a frame index, or "after this frame" (a frame object this socket received). */
export type From = number | Json;

/**
 * A WebSocket that records every frame, with waits bounded in time (never sleeps-then-asserts).
 *
 * Two ways to wait:
 * - `waitFor`/`waitType` search from frame 0 (or from `from`), so they find the FIRST matching frame;
 * - `next`/`nextType` search from the cursor, which moves past every frame a wait returns, so a second
 *   `next('assigned')` can only match a second `assigned` frame.
 * `settle()` sends a ping and waits for its pong: every frame the server sent before it answered has
 * arrived, which is how a test proves that something did NOT arrive, without sleeping.
 */
export class TestSocket {
  readonly frames: Json[] = [];
  closeCode: number | undefined;
  closeReason = '';
  readonly opened: Promise<void>;
  readonly closedPromise: Promise<number>;
  /** Index of the first frame `next()` may return. */
  cursor = 0;
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

  /** The index just past `from` (a frame object this socket received), or `from` itself if it is an index. */
  indexAfter(from: From): number {
    if (typeof from === 'number') return from;
    const i = this.frames.indexOf(from);
    if (i < 0) throw new Error(`not a frame of this socket: ${JSON.stringify(from)}`);
    return i + 1;
  }

  /** The frame count now: pass it as `from` to wait only for frames that arrive later. */
  mark(): number {
    return this.frames.length;
  }

  /** Waits for the first frame matching `pred` at or after `from` (an index, or after a given frame). */
  async waitFor(pred: (f: Json) => boolean, timeoutMs = 15_000, from: From = 0): Promise<Json> {
    const start = this.indexAfter(from);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      for (let i = start; i < this.frames.length; i++) {
        if (pred(this.frames[i])) {
          this.cursor = Math.max(this.cursor, i + 1);
          return this.frames[i];
        }
      }
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

  waitType(type: string, timeoutMs = 15_000, from: From = 0): Promise<Json> {
    return this.waitFor((f) => f.type === type, timeoutMs, from);
  }

  /** The next frame after the cursor that matches (a type name or a predicate); the cursor moves past it. */
  next(match: string | ((f: Json) => boolean), timeoutMs = 15_000): Promise<Json> {
    const pred = typeof match === 'string' ? (f: Json) => f.type === match : match;
    return this.waitFor(pred, timeoutMs, this.cursor);
  }

  /**
   * A marker: a ping whose pong proves that the server has sent everything it sent this socket before it
   * handled the ping. Returns the frames that arrived from `from` up to the pong (not including it).
   */
  async settle(from: From = this.cursor, timeoutMs = 10_000): Promise<Json[]> {
    await this.opened;
    const start = this.indexAfter(from);
    const before = this.frames.length;
    this.send({ type: 'ping' });
    const pong = await this.waitFor((f) => f.type === 'pong', timeoutMs, before);
    const end = this.frames.indexOf(pong);
    return this.frames.slice(start, end).filter((f) => f.type !== 'pong');
  }

  async waitClose(timeoutMs = 15_000): Promise<number> {
    let timer: NodeJS.Timeout | undefined;
    return Promise.race([
      this.closedPromise,
      new Promise<number>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`socket not closed within ${timeoutMs} ms; frames: ${JSON.stringify(this.frames)}`)), timeoutMs);
        timer.unref();
      }),
    ]).finally(() => clearTimeout(timer));
  }

  /** Every frame of `type`, from `from` on (default: all of them). */
  ofType(type: string, from: From = 0): Json[] {
    return this.frames.slice(this.indexAfter(from)).filter((f) => f.type === type);
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
  return new TestSocket(new WebSocket(url, { headers, handshakeTimeout: HANDSHAKE_TIMEOUT_MS }));
}

export const chatPath = (conversationId: string) => `/ws/customer_support/${conversationId}/`;

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
  // The pong proves the rep's socket is set up (frames are handled only after authentication).
  await r.settle();
  return { cust, conv, c, r, assigned };
}
