// Lean client helpers for load: WebSockets (no per-frame bookkeeping beyond what a bench asks for) and a
// keep-alive HTTP client.
import WebSocket from 'ws';
import { performance } from 'node:perf_hooks';
import { Agent as HttpAgent, request as httpRequest } from 'node:http';

export { WebSocket };

export function openSocket(url: string, token?: string, timeoutMs = 15_000): Promise<WebSocket> {
  const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => {
      ws.terminate();
      reject(new Error(`socket to ${url} not open within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.once('open', () => {
      clearTimeout(t);
      resolve(ws);
    });
    ws.once('error', (err) => {
      clearTimeout(t);
      reject(err);
    });
  });
}

/**
 * Opens a socket and waits for its first frame that matches. The listener goes on before the handshake
 * completes: a frame that arrives with the upgrade response is emitted before an `await` after `open` resumes.
 */
export async function openWithFrame(url: string, token: string | undefined, pred: (f: any) => boolean, timeoutMs = 15_000): Promise<{ ws: WebSocket; frame: any }> {
  const ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  const frame = nextFrame(ws, pred, timeoutMs);
  const opened = new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  frame.catch(() => ws.terminate());
  await Promise.all([opened, frame]);
  return { ws, frame: await frame };
}

/** Resolves with the first frame (parsed) that matches, within the timeout. Attach it before the frame can come. */
export function nextFrame(ws: WebSocket, pred: (f: any) => boolean, timeoutMs = 15_000): Promise<any> {
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      let f: any;
      try {
        f = JSON.parse(data.toString());
      } catch {
        return;
      }
      if (!pred(f)) return;
      cleanup();
      resolve(f);
    };
    const onClose = (code: number) => {
      cleanup();
      reject(new Error(`socket closed (${code}) before the frame came`));
    };
    const t = setTimeout(() => {
      cleanup();
      reject(new Error(`no matching frame within ${timeoutMs} ms`));
    }, timeoutMs);
    const cleanup = () => {
      clearTimeout(t);
      ws.off('message', onMessage);
      ws.off('close', onClose);
    };
    ws.on('message', onMessage);
    ws.on('close', onClose);
  });
}

/** A ping/pong round trip: once it returns, every frame sent before it has been handled by the server. */
export async function settled(ws: WebSocket, timeoutMs = 15_000): Promise<void> {
  const pong = nextFrame(ws, (f) => f.type === 'pong', timeoutMs);
  ws.send('{"type":"ping"}');
  await pong;
}

export async function closeAll(sockets: Iterable<WebSocket>, timeoutMs = 5000): Promise<void> {
  const waits: Promise<void>[] = [];
  for (const ws of sockets) {
    if (ws.readyState === WebSocket.CLOSED) continue;
    waits.push(new Promise<void>((resolve) => ws.once('close', () => resolve())));
    ws.close();
  }
  const t = new Promise<void>((resolve) => setTimeout(resolve, timeoutMs).unref());
  await Promise.race([Promise.all(waits), t]);
  for (const ws of sockets) if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
}

/**
 * A customer's chat socket that timestamps its first `queued`/`assigned` frame and its `assigned` frame
 * (performance.now()), with listeners on before the handshake. Other frames are only counted.
 */
export class ChatClient {
  readonly ws: WebSocket;
  readonly createdAt = performance.now();
  firstAt: number | undefined;
  firstType: 'queued' | 'assigned' | undefined;
  assignedAt: number | undefined;
  repId: number | undefined;
  frames = 0;
  closeCode: number | undefined;
  readonly first: Promise<void>;
  readonly assigned: Promise<void>;
  onAssigned: ((c: ChatClient) => void) | undefined;

  constructor(
    url: string,
    token: string | undefined,
    readonly conversationId: string,
  ) {
    this.ws = new WebSocket(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
    let firstDone!: () => void;
    let assignedDone!: () => void;
    let failed!: (err: Error) => void;
    const failure = new Promise<never>((_, reject) => (failed = reject));
    failure.catch(() => undefined);
    this.first = Promise.race([new Promise<void>((r) => (firstDone = r)), failure]);
    this.assigned = Promise.race([new Promise<void>((r) => (assignedDone = r)), failure]);
    this.first.catch(() => undefined);
    this.assigned.catch(() => undefined);
    this.ws.on('message', (data) => {
      const now = performance.now();
      this.frames++;
      const s = data.toString();
      const isAssigned = s.startsWith('{"type":"assigned"');
      if (this.firstAt === undefined && (isAssigned || s.startsWith('{"type":"queued"'))) {
        this.firstAt = now;
        this.firstType = isAssigned ? 'assigned' : 'queued';
        firstDone();
      }
      if (isAssigned && this.assignedAt === undefined) {
        this.assignedAt = now;
        this.repId = JSON.parse(s).rep?.id;
        assignedDone();
        this.onAssigned?.(this);
      }
    });
    this.ws.on('error', () => undefined);
    this.ws.on('close', (code) => {
      this.closeCode = code;
      failed(new Error(`socket closed (${code})`));
    });
  }
}

const shared = new HttpAgent({ keepAlive: true, maxSockets: 256 });

/** A keep-alive pool, e.g. one per simulated browser (browsers keep about 6 connections per host). */
export function keepAliveAgent(maxSockets: number): HttpAgent {
  return new HttpAgent({ keepAlive: true, maxSockets });
}

/**
 * A small HTTP client on node:http with a keep-alive pool (the shared one unless `agent` is given; `false`
 * for a fresh connection per request).
 */
export function request(
  base: string,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; agent?: HttpAgent | false } = {},
): Promise<{ status: number; body: any }> {
  const payload = opts.body === undefined ? undefined : JSON.stringify(opts.body);
  const headers: Record<string, string> = {};
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = String(Buffer.byteLength(payload));
  }
  return new Promise((resolve, reject) => {
    const req = httpRequest(base + path, { method, headers, agent: opts.agent ?? shared }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString();
        let body: unknown = text;
        try {
          body = text ? JSON.parse(text) : null;
        } catch {
          /* not JSON */
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

/**
 * While `running()` is true, opens a brand-new connection every `everyMs` and times GET /healthz on it:
 * how long a newcomer waits while the server is busy (accept happens once per event-loop turn).
 */
export async function newConnectionProbe(base: string, everyMs: number, running: () => boolean, maxProbes = 1000): Promise<number[]> {
  const out: number[] = [];
  const inflight: Promise<void>[] = [];
  for (let i = 0; i < maxProbes && running(); i++) {
    const t0 = performance.now();
    inflight.push(
      request(base, 'GET', '/healthz', { agent: false }).then(
        () => void out.push(performance.now() - t0),
        () => undefined,
      ),
    );
    await new Promise((r) => setTimeout(r, everyMs));
  }
  await Promise.all(inflight);
  return out;
}
