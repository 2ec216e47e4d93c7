// SIGTERM with a client that never answers the close frame (frozen, gone, behind a half-open connection):
// the drain cuts that connection after a bounded wait and still exits 0, instead of waiting on it until
// the drain's own bound and exiting 1. Clients that do answer close normally with 1012.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startInstance } from '../helpers/processes.ts';
import { chatPath, connect, openConversation, registerCustomer, type TestSocket } from '../helpers/client.ts';

describe('drain with an unanswered close', () => {
  it('exits 0 on SIGTERM although one client never answers the close handshake', { timeout: 60_000 }, async () => {
    const inst = await startInstance({});
    const sockets: TestSocket[] = [];
    try {
      const cust = await registerCustomer(inst.url);
      const conv = await openConversation(inst.url, cust);
      const [frozen, live] = [0, 1].map(() => connect(inst.wsUrl, chatPath(conv), { token: cust.access }));
      sockets.push(frozen, live);
      for (const s of sockets) {
        await s.opened;
        s.send({ type: 'ping' });
        await s.waitType('pong');
      }
      // ws stops reading the connection: the server's close frame stays unread and is never echoed.
      frozen.ws.pause();
      inst.kill('SIGTERM');
      assert.equal(await live.waitClose(), 1012);
      assert.equal(await inst.exited, 0, `exit 0 after the drain: ${inst.output.join('')}`);
      frozen.ws.resume();
      // The close frame had gone out before the cut: the frozen client, once it reads, is told to reconnect.
      assert.equal(await frozen.waitClose(), 1012);
    } finally {
      for (const s of sockets) s.ws.terminate();
      inst.kill('SIGKILL');
    }
  });
});
