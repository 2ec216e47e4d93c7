// Lean WebSocket client helpers for load (no per-frame bookkeeping beyond what a bench asks for).
import WebSocket from 'ws';

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
