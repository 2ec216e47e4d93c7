// GET /api/queue/ (the default response): each entry's fields, the order, and wait estimates that come
// from recent service times (position x mean handle time / online capacity), per entry and for the tail.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Kysely } from 'kysely';
import { startServer } from '../helpers/server.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep, type Account, type TestSocket } from '../helpers/client.ts';
import { createAdmin, ISO_MS_Z } from '../helpers/http-fixtures.ts';

describe('GET /api/queue/', () => {
  it('lists the waiting chats in order with their fields, and estimates from recent service times', async () => {
    // Two chats served and closed; their handle times are then set to 60 s and 120 s in the store (a mean of
    // 90 s). The server is restarted so that its estimate factors are read fresh from those times.
    const first = await startServer();
    const rep = await registerRep(first.url, 2);
    const served: string[] = [];
    for (let i = 0; i < 2; i++) {
      const chat = await openChat(first, rep);
      assert.equal((await http(first.url, 'POST', `/api/conversations/${chat.conv}/close/`, { token: rep.access })).status, 200);
      await chat.c.waitClose();
      served.push(chat.conv);
    }
    const db = (first.store as unknown as { db: Kysely<any> }).db;
    for (const [conv, handleS] of [[served[0], 60], [served[1], 120]] as const) {
      await db.updateTable('conversations').set((eb: any) => ({ assigned_at: eb('closed_at', '-', handleS * 1000) })).where('id', '=', conv).execute();
    }
    await first.stop();

    const server = await startServer({ dataDir: first.dataDir });
    const sockets: TestSocket[] = [];
    try {
      // The rep's two slots are taken again: three customers wait behind them.
      for (let i = 0; i < 2; i++) sockets.push((await openChat(server, rep)).c);
      const startedAt = Date.now();
      const waiting: Array<{ cust: Account; conv: string }> = [];
      for (let i = 0; i < 3; i++) {
        const cust = await registerCustomer(server.url);
        const conv = await openConversation(server.url, cust);
        const ws = connect(server.wsUrl, chatPath(conv), { token: cust.access });
        sockets.push(ws);
        assert.equal((await ws.waitType('queued')).position, i + 1);
        waiting.push({ cust, conv });
      }

      const res = await http(server.url, 'GET', '/api/queue/', { token: rep.access });
      assert.equal(res.status, 200);
      assert.equal(res.body.length, 3);
      const doneAt = Date.now();
      res.body.forEach((e: any, i: number) => {
        assert.deepEqual(Object.keys(e).sort(), ['customer', 'estimated_wait_s', 'id', 'position', 'queued_at', 'waited_s'], JSON.stringify(e));
        assert.equal(e.id, waiting[i].conv, 'in queue order');
        assert.equal(e.position, i + 1);
        assert.equal(e.customer, waiting[i].cust.id);
        assert.match(e.queued_at, ISO_MS_Z);
        const queuedAt = Date.parse(e.queued_at);
        assert.ok(queuedAt >= startedAt - 1000 && queuedAt <= doneAt, `queued_at ${e.queued_at} within the test`);
        assert.ok(Number.isInteger(e.waited_s) && e.waited_s >= 0 && e.waited_s <= Math.ceil((doneAt - startedAt) / 1000), `waited_s ${e.waited_s}`);
      });
      // A mean handle time of 90 s over 2 online slots: 45 s per position.
      assert.deepEqual(res.body.map((e: any) => e.estimated_wait_s), [45, 90, 135]);
      assert.equal(res.headers.get('x-estimated-wait'), '180', 'the estimate for a customer who joins now, at position 4');

      const admin = await createAdmin(server.url, server.store);
      const asAdmin = await http(server.url, 'GET', '/api/queue/', { token: admin.access });
      assert.deepEqual(asAdmin.body.map((e: any) => e.id), waiting.map((w) => w.conv), 'an admin sees all of it');
      // A customer sees only its own entry, among several.
      const own = await http(server.url, 'GET', '/api/queue/', { token: waiting[1].cust.access });
      assert.equal(own.status, 200);
      assert.deepEqual(own.body.map((e: any) => [e.id, e.position, e.estimated_wait_s]), [[waiting[1].conv, 2, 90]]);
    } finally {
      for (const s of sockets) s.close();
      await server.stop({ wipe: true });
    }
  });
});
