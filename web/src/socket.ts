// A WebSocket that comes back by itself: after a drop, a server restart (1012) or the browser going
// offline, it reconnects with backoff and asks for what it missed (`last_seq`). Close codes that mean
// "do not come back" (no access, no such chat, chat closed) end it.
import type { Session } from './api.ts';

export type SocketState = 'connecting' | 'open' | 'offline' | 'ended';

/** 4401: the token is bad (refreshed, then retried); the others are final. */
const FINAL = new Set([4403, 4404, 4409]);

export interface LiveSocketOptions {
  session: Session;
  path: string;
  /** The highest seq seen, for `?last_seq=`; undefined for sockets without a history (/ws/agent/). */
  lastSeq?: () => number | undefined;
  onFrame: (frame: any) => void;
  onState?: (state: SocketState, code?: number) => void;
  onOpen?: () => void;
}

export class LiveSocket {
  private ws: WebSocket | null = null;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;
  private state: SocketState = 'connecting';
  private readonly goneOffline = () => this.drop();
  private readonly backOnline = () => this.reconnectNow();

  constructor(private readonly opts: LiveSocketOptions) {
    addEventListener('offline', this.goneOffline);
    addEventListener('online', this.backOnline);
    this.connect();
  }

  get isOpen(): boolean {
    return this.ws?.readyState === WebSocket.OPEN;
  }

  send(frame: unknown): boolean {
    if (!this.isOpen) return false;
    this.ws!.send(JSON.stringify(frame));
    return true;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    removeEventListener('offline', this.goneOffline);
    removeEventListener('online', this.backOnline);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    this.setState('ended');
  }

  private setState(s: SocketState, code?: number) {
    this.state = s;
    this.opts.onState?.(s, code);
  }

  private url(): string {
    const u = new URL(this.opts.path, location.href);
    u.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('token', this.opts.session.access ?? '');
    const seq = this.opts.lastSeq?.();
    if (seq !== undefined) u.searchParams.set('last_seq', String(seq));
    return u.toString();
  }

  private connect() {
    if (this.stopped) return;
    if (!navigator.onLine) return this.setState('offline');
    this.setState('connecting');
    const ws = new WebSocket(this.url());
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.setState('open');
      this.opts.onOpen?.();
    };
    ws.onmessage = (ev) => {
      if (this.ws !== ws) return;
      try {
        this.opts.onFrame(JSON.parse(String(ev.data)));
      } catch {
        /* a frame that is not JSON is ignored */
      }
    };
    ws.onclose = (ev) => {
      if (this.ws !== ws) return;
      this.ws = null;
      void this.afterClose(ev.code);
    };
  }

  private async afterClose(code: number) {
    if (this.stopped) return;
    if (FINAL.has(code)) return this.setState('ended', code);
    if (code === 4401 && !(await this.opts.session.refresh())) return this.setState('ended', code);
    this.setState(navigator.onLine ? 'connecting' : 'offline', code);
    // 1012 is a restart: come back soon, with some jitter so that every client does not arrive at once.
    const base = code === 1012 ? 300 : 250 * 2 ** Math.min(this.attempt, 5);
    this.attempt++;
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.connect(), base + Math.random() * 250);
  }

  /** The browser says it is offline: the socket is as good as gone, whatever TCP thinks. */
  private drop() {
    if (this.stopped) return;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(4000);
    this.setState('offline');
  }

  private reconnectNow() {
    if (this.stopped || this.ws) return;
    clearTimeout(this.timer);
    this.attempt = 0;
    this.connect();
  }

  get currentState(): SocketState {
    return this.state;
  }
}
