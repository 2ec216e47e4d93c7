// What every open tab of a customer sees: each learns its rep once, and a tab that resumes with a last_seq
// beyond the history (an over-long one, or one from a stale store) is not deafened: it still gets live messages.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';

describe('socket tabs of one customer', () => {
  let server: TestServer;
  let rep: Account;
  before(async () => {
    server = await startServer();
    rep = await registerRep(server.url, 100);
  });
  after(async () => server.stop({ wipe: true }));

  it('tells every tab of the customer that the conversation is assigned, once each', async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const tabs = Array.from({ length: 6 }, () => connect(server.wsUrl, chatPath(conv), { token: cust.access }));
    const frames = await Promise.all(tabs.map((t) => t.waitType('assigned')));
    for (const f of frames) assert.equal(f.rep.id, rep.id);
    const late = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    assert.equal((await late.waitType('assigned')).rep.id, rep.id);
    for (const t of [...tabs, late]) {
      t.send({ type: 'ping' });
      await t.waitType('pong');
      assert.equal(t.ofType('assigned').length, 1);
      assert.equal(t.ofType('queued').length, 0);
      t.close();
    }
    const detail = await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.equal(detail.body.status, 'assigned');
  });

  it('treats a last_seq beyond the history as the end of it: the socket still gets live messages', async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await c.waitType('assigned');
    c.send({ type: 'message', text: 'one' });
    await c.waitFor((f) => f.type === 'message' && f.seq === 1);
    const confused = connect(server.wsUrl, chatPath(conv), { token: cust.access, query: 'last_seq=50' });
    await confused.opened;
    confused.send({ type: 'ping' });
    await confused.waitType('pong');
    c.send({ type: 'message', text: 'two' });
    const two = await confused.waitFor((f) => f.type === 'message');
    assert.equal(two.seq, 2);
    c.close();
    confused.close();
  });
});
