// A child process that holds many idle WebSockets for bench/idle.ts, so that no single process nears the
// open-file limit. Protocol over IPC: the parent sends { open: { base, targets: [{ path, token? }], concurrency } };
// the child opens them (each counts once its first frame arrives), reports { progress } every 500 ms and
// { done } at the end, then holds the sockets until { close: true }, closes them and exits.
import WebSocket from 'ws';
import { mapLimit } from './stats.ts';

interface OpenCommand {
  base: string;
  targets: Array<{ path: string; token?: string }>;
  concurrency: number;
  timeoutMs: number;
}

const sockets: WebSocket[] = [];
let answered = 0;
let failed = 0;

function openOne(base: string, t: { path: string; token?: string }, timeoutMs: number): Promise<void> {
  return new Promise((resolve) => {
    const ws = new WebSocket(base + t.path, { headers: t.token ? { authorization: `Bearer ${t.token}` } : {}, perMessageDeflate: false });
    sockets.push(ws);
    let settled = false;
    const finish = (ok: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (ok) answered++;
      else failed++;
      resolve();
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    ws.once('message', () => finish(true));
    ws.once('close', () => finish(false));
    ws.on('error', () => finish(false));
  });
}

process.on('message', async (msg: { open?: OpenCommand; close?: boolean }) => {
  if (msg.open) {
    const { base, targets, concurrency, timeoutMs } = msg.open;
    const progress = setInterval(() => process.send!({ progress: { answered, failed } }), 500);
    await mapLimit(targets, concurrency, (t) => openOne(base, t, timeoutMs));
    clearInterval(progress);
    process.send!({ done: { answered, failed } });
  }
  if (msg.close) {
    for (const ws of sockets) ws.terminate();
    process.exit(0);
  }
});
