// A restart in the middle of a queue loses nobody and keeps the order; dead peers are terminated.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer } from '../helpers/server.ts';
import { chatPath, connect, login, openConversation, registerCustomer, registerRep } from '../helpers/client.ts';
import { eventually } from '../helpers/wait.ts';

describe('restart and heartbeat', () => {
  it('rebuilds routing from the store after a restart: nobody lost, order kept', { timeout: 60_000 }, async () => {
    let server = await startServer();
    const dataDir = server.dataDir;
    const rep = await registerRep(server.url, 1);
    const holder = await registerCustomer(server.url);
    const busy = await openConversation(server.url, holder);
    const hws = connect(server.wsUrl, chatPath(busy), { token: holder.access });
    await hws.waitType('assigned');
    const waiting = [];
    for (let i = 0; i < 3; i++) {
      const cust = await registerCustomer(server.url);
      const conv = await openConversation(server.url, cust);
      const ws = connect(server.wsUrl, chatPath(conv), { token: cust.access });
      assert.equal((await ws.waitType('queued')).position, i + 1);
      waiting.push({ cust, conv, ws });
    }
    await server.stop();
    for (const w of waiting) await w.ws.waitClose();

    server = await startServer({ dataDir });
    try {
      // Tokens survive the restart (same secret); the queue comes back in the same order.
      const back = waiting.map((w) => connect(server.wsUrl, chatPath(w.conv), { token: w.cust.access }));
      const positions = await Promise.all(back.map((ws) => ws.waitType('queued').then((f) => f.position)));
      assert.deepEqual(positions, [1, 2, 3]);
      const tokens = await login(server.url, rep.username, 'pw-123456');
      let conv = busy;
      for (let i = 0; i < 3; i++) {
        const repWs = connect(server.wsUrl, chatPath(conv), { token: tokens.access });
        await repWs.opened;
        repWs.send({ type: 'close' });
        const redirect = await repWs.waitType('redirect');
        assert.equal(redirect.redirect_id, waiting[i].conv);
        await back[i].waitFor((f) => f.type === 'assigned');
        conv = redirect.redirect_id;
      }
      for (const ws of back) ws.close();
    } finally {
      await server.stop({ wipe: true });
    }
  });

  it('terminates a peer that stops answering pings, which counts as a disconnect', async () => {
    const server = await startServer({ env: { HEARTBEAT_MS: '200', CUSTOMER_GRACE_MS: '100' } });
    try {
      await registerRep(server.url, 0);
      const cust = await registerCustomer(server.url);
      const conv = await openConversation(server.url, cust);
      const ws = connect(server.wsUrl, chatPath(conv), { token: cust.access, query: 'x=1' });
      await ws.waitType('queued');
      // Stop answering pings: ws answers them automatically, so pause the underlying socket.
      (ws.ws as any)._socket.pause();
      await eventually(async () => (await server.store.getConversation(conv))!.status === 'abandoned', {
        timeoutMs: 5000,
        what: 'the dead peer terminated and the customer abandoned after its grace',
      });
      ws.ws.terminate();
    } finally {
      await server.stop({ wipe: true });
    }
  });
});
