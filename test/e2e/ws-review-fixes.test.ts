// Client expectations found by probing from outside: every open tab learns its rep, an over-long
// ?last_seq= does not deafen a socket, a rep's own "offline" survives a console reconnect, another
// participant's client_id is refused loudly, and unknown socket paths still complete the handshake.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';

describe('socket behaviours clients rely on', () => {
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

  it("refuses another participant's client_id with bad_frame and stores nothing", async () => {
    const { cust, conv, c, r } = await openChat(server, rep);
    c.send({ type: 'message', text: 'mine', client_id: 'same' });
    await r.waitFor((f) => f.type === 'message' && f.client_id === 'same');
    r.send({ type: 'message', text: 'rep text', client_id: 'same' });
    const err = await r.waitType('error');
    assert.equal(err.code, 'bad_frame');
    const detail = await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.deepEqual(detail.body.messages.map((m: any) => m.text), ['mine']);
    // The retry of one's own client_id still gets the stored message back.
    c.send({ type: 'message', text: 'mine', client_id: 'same' });
    await c.waitFor((f) => f.type === 'message' && f.client_id === 'same' && c.ofType('message').length === 2);
    c.close();
    r.close();
  });

  it('keeps a rep that set itself offline offline when its console reconnects', async () => {
    const own = await registerRep(server.url, 1);
    const agent = connect(server.wsUrl, '/ws/agent/', { token: own.access });
    await agent.waitType('queue');
    assert.equal((await http(server.url, 'PATCH', '/api/reps/me/', { token: own.access, body: { status: 'offline' } })).body.status, 'offline');
    agent.close();
    await agent.waitClose();
    const again = connect(server.wsUrl, '/ws/agent/', { token: own.access });
    await again.waitType('queue');
    assert.equal((await http(server.url, 'GET', '/api/reps/me/', { token: own.access })).body.status, 'offline');
    again.close();
  });

  it('completes the handshake on unknown socket paths and closes with 4404', async () => {
    for (const path of ['/ws/', '/ws/unknown/', '/ws/customer_support/', `/ws/customer_support/00000000-0000-7000-8000-000000000000/extra/`]) {
      const s = connect(server.wsUrl, path, {});
      await s.opened;
      assert.equal(await s.waitClose(3000), 4404, path);
    }
  });

  it('reads empty paging parameters as absent and puts query errors at the top level', async () => {
    const cust = await registerCustomer(server.url);
    assert.equal((await http(server.url, 'GET', '/api/conversations/?limit=&offset=', { token: cust.access })).status, 200);
    const bad = await http(server.url, 'GET', '/api/conversations/?limit=abc', { token: cust.access });
    assert.equal(bad.status, 400);
    assert.ok(Array.isArray(bad.body.limit));
  });

  it('accepts the Unicode usernames Django accepts, and explains a refused one', async () => {
    const ok = await http(server.url, 'POST', '/api/register_customer/', {
      body: { user: { username: `José_${Date.now()}` }, phone_number: 1, password: 'a', password1: 'a' },
    });
    assert.equal(ok.status, 201);
    const bad = await http(server.url, 'POST', '/api/register_customer/', { body: { user: { username: 'a b' }, phone_number: 1, password: 'a', password1: 'a' } });
    assert.equal(bad.status, 400);
    assert.match(bad.body.user.username[0], /valid username/);
  });
});
