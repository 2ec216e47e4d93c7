// A socket whose unsent buffer passes 1 MiB is closed with 1013; the other participant carries on. A fast
// reader is never cut for what one turn of the server sends it at once (frames leave a turn in one write).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.ts';
import { chatPath, connect, openChat, registerRep } from '../helpers/client.ts';

describe('slow consumer', () => {
  it('closes a socket that stops reading once 1 MiB is waiting for it, with 1013', { timeout: 60_000 }, async () => {
    const server = await startServer({ env: { WS_FRAMES_PER_S: '100000' } });
    try {
      const rep = await registerRep(server.url, 1);
      const { c, r } = await openChat(server, rep);
      // The rep's client stops reading; the kernel buffers fill, then the server's own buffer grows.
      (r.ws as any)._socket.pause();
      const text = 'z'.repeat(4000);
      // Sockets the server still writes to (a closed one may linger until its close handshake times out).
      const repUserSockets = () => [...server.gateway.registry.user(rep.userId)].filter((s) => !s.closed).length;
      let sent = 0;
      while (repUserSockets() > 0 && sent < 6000) {
        for (let i = 0; i < 50; i++) c.send({ type: 'message', text });
        sent += 50;
        await c.waitFor((f) => f.type === 'message' && f.seq === sent, 10_000);
      }
      assert.equal(repUserSockets(), 0, `the server let go of the slow socket (after ${sent} messages)`);
      (r.ws as any)._socket.resume();
      assert.equal(await r.waitClose(20_000), 1013);
      // The customer is not disturbed.
      c.send({ type: 'message', text: 'still fine' });
      await c.waitFor((f) => f.type === 'message' && f.message === 'still fine');
      c.close();
    } finally {
      await server.stop({ wipe: true });
    }
  });

  it('does not cut a reader that keeps up when one turn sends it more than 1 MiB', { timeout: 60_000 }, async () => {
    const tabs = 300;
    const server = await startServer({ env: { MAX_SOCKETS_PER_USER: String(tabs + 10) } });
    try {
      const rep = await registerRep(server.url, 1);
      const { cust, conv, c, r } = await openChat(server, rep);
      const open = Array.from({ length: tabs }, () => connect(server.wsUrl, chatPath(conv), { token: cust.access }));
      await Promise.all(open.map((t) => t.settle()));
      // Every tab at once: the messages share a commit, so each socket is sent them all in one turn (~1.2 MB).
      const text = 'y'.repeat(4000);
      for (const t of open) t.send({ type: 'message', text });
      await r.waitFor((f) => f.type === 'message' && f.seq === tabs, 30_000);
      for (const t of [c, r, ...open]) {
        await t.waitFor((f) => f.type === 'message' && f.seq === tabs, 30_000);
        assert.equal(t.closeCode, undefined, 'still open');
      }
      for (const t of [c, r, ...open]) t.close();
    } finally {
      await server.stop({ wipe: true });
    }
  });
});
