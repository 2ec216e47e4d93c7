// The baseline: a bare `ws` server with no storage, no auth and no routing, in the same process shape as
// the real server (one Node process, HTTP server + WebSocketServer, JSON in and out).
//   relay: a socket joins the room named by its path; each frame is parsed, turned into a message frame
//          (one serialization) and sent to every socket of the room, sender included, as Switchboard does.
//   hello: every new socket gets one small JSON frame at once, then is left idle.
import { createServer } from 'node:http';
import { WebSocketServer, type WebSocket } from 'ws';
import { LISTEN_BACKLOG } from '../../src/config.ts';

const mode = process.env.BARE_MODE ?? 'relay';
const port = Number(process.env.PORT ?? 0);

const http = createServer((req, res) => {
  res.writeHead(req.url === '/healthz' ? 200 : 404, { 'content-type': 'application/json' });
  res.end('{"status":"ok"}');
});
const wss = new WebSocketServer({ server: http, maxPayload: 64 * 1024 });
const rooms = new Map<string, { seq: number; sockets: Set<WebSocket> }>();
let nextId = 0;
const HELLO = JSON.stringify({ type: 'queued', message: 'Customer Representatives are busy for now. Please wait for some time.', position: 1, estimated_wait_s: 0 });

wss.on('connection', (ws, req) => {
  ws.on('error', () => undefined);
  if (mode === 'hello') {
    ws.send(HELLO);
    return;
  }
  const name = (req.url ?? '/').split('?')[0];
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = { seq: 0, sockets: new Set() }));
  const r = room;
  r.sockets.add(ws);
  ws.on('close', () => r.sockets.delete(ws));
  ws.on('message', (data) => {
    let f: { text?: unknown; message?: unknown; client_id?: unknown; type?: unknown };
    try {
      f = JSON.parse(data.toString());
    } catch {
      return;
    }
    if (f.type === 'ping') return ws.send('{"type":"pong"}');
    const body: Record<string, unknown> = {
      type: 'message',
      message: f.text ?? f.message,
      id: ++nextId,
      seq: ++r.seq,
      conversation: name,
      user: 'bare',
      timestamp: new Date().toISOString(),
    };
    if (typeof f.client_id === 'string') body.client_id = f.client_id;
    const frame = JSON.stringify(body);
    for (const s of r.sockets) s.send(frame);
  });
});

// The same accept backlog as the server under test: neither drops a storm's SYNs.
http.listen(port, '127.0.0.1', LISTEN_BACKLOG);
process.on('SIGTERM', () => {
  for (const c of wss.clients) c.terminate();
  http.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
});
