// The original's client flow, unchanged: Bearer header, {"message"} frames, close_chat, redirect_id, busy text.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep } from '../helpers/client.ts';
import { BUSY_TEXT } from '../../src/realtime/frames.ts';

describe('original client flow', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => server.stop({ wipe: true }));

  it('assigns, chats both ways with the echo, closes with a redirect, and the redirected customer chats with the rep', async () => {
    const rep = await registerRep(server.url, 1);
    const alice = await registerCustomer(server.url);
    const bob = await registerCustomer(server.url);
    const c1 = await openConversation(server.url, alice);
    const c2 = await openConversation(server.url, bob);

    const aliceWs = connect(server.wsUrl, chatPath(c1), { token: alice.access });
    await aliceWs.opened;
    const assigned = await aliceWs.waitType('assigned');
    assert.equal(assigned.conversation, c1);
    assert.equal(assigned.rep.id, rep.id);
    assert.equal(assigned.rep.username, rep.username);
    assert.equal(aliceWs.ofType('queued').length, 0, 'a customer with a free rep never sees queued');

    // Bob waits: the rep is full.
    const bobWs = connect(server.wsUrl, chatPath(c2), { token: bob.access });
    const queued = await bobWs.waitType('queued');
    assert.equal(queued.message, BUSY_TEXT);
    assert.equal(queued.position, 1);

    const repWs = connect(server.wsUrl, chatPath(c1), { token: rep.access });
    await repWs.opened;
    aliceWs.send({ message: 'hello, I need help' });
    const m1 = await repWs.waitFor((f) => f.type === 'message' && f.message === 'hello, I need help');
    const echo = await aliceWs.waitFor((f) => f.type === 'message' && f.message === 'hello, I need help');
    assert.equal(m1.user, alice.username);
    assert.equal(m1.seq, 1);
    assert.equal(echo.id, m1.id);
    assert.match(m1.timestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    repWs.send({ message: 'hi! how can I help?' });
    const m2 = await aliceWs.waitFor((f) => f.type === 'message' && f.seq === 2);
    assert.equal(m2.user, rep.username);
    await repWs.waitFor((f) => f.type === 'message' && f.seq === 2);

    // History, newest first.
    const detail = await http(server.url, 'GET', `/api/conversations/${c1}/`, { token: alice.access });
    assert.equal(detail.status, 200);
    assert.deepEqual(
      detail.body.messages.map((m: any) => m.text),
      ['hi! how can I help?', 'hello, I need help'],
    );
    assert.equal(detail.body.customer_rep, rep.id);

    // The rep closes the original way; the freed slot goes to Bob, and the rep is redirected there.
    repWs.send({ message: 'bye', close_chat: true });
    const redirect = await repWs.waitType('redirect');
    assert.equal(redirect.redirect_id, c2);
    const closedFrame = await repWs.waitType('closed');
    const redirectIndex = repWs.frames.indexOf(redirect);
    assert.ok(redirectIndex < repWs.frames.indexOf(closedFrame), 'redirect comes before closed');
    assert.equal(await repWs.waitClose(), 1000);
    const aliceClosed = await aliceWs.waitType('closed');
    assert.equal(aliceClosed.by, 'rep');
    assert.equal(await aliceWs.waitClose(), 1000);
    const bobAssigned = await bobWs.waitType('assigned');
    assert.equal(bobAssigned.rep.id, rep.id);

    // The closing text is not stored.
    const after1 = await http(server.url, 'GET', `/api/conversations/${c1}/`, { token: alice.access });
    assert.equal(after1.body.messages.length, 2);
    assert.equal(after1.body.status, 'closed');

    const repWs2 = connect(server.wsUrl, chatPath(redirect.redirect_id), { token: rep.access });
    await repWs2.opened;
    repWs2.send({ message: 'hello bob' });
    const toBob = await bobWs.waitFor((f) => f.type === 'message');
    assert.equal(toBob.message, 'hello bob');
    bobWs.send({ message: 'thanks' });
    await repWs2.waitFor((f) => f.type === 'message' && f.message === 'thanks');
    bobWs.close();
    repWs2.close();

    // A closed conversation refuses new sockets with 4409.
    const late = connect(server.wsUrl, chatPath(c1), { token: alice.access });
    assert.equal(await late.waitClose(), 4409);
  });

  it('serves customers first come, first served', async () => {
    const rep = await registerRep(server.url, 1);
    const first = await registerCustomer(server.url);
    const busy = await openConversation(server.url, first);
    const busyWs = connect(server.wsUrl, chatPath(busy), { token: first.access });
    await busyWs.waitType('assigned');

    const waiting = [];
    for (let i = 0; i < 3; i++) {
      const cust = await registerCustomer(server.url);
      const conv = await openConversation(server.url, cust);
      const ws = connect(server.wsUrl, chatPath(conv), { token: cust.access });
      const q = await ws.waitType('queued');
      assert.equal(q.position, i + 1);
      waiting.push({ conv, ws });
    }
    const repWs = connect(server.wsUrl, chatPath(busy), { token: rep.access });
    await repWs.opened;
    let currentRepWs = repWs;
    for (const w of waiting) {
      currentRepWs.send({ type: 'close' });
      const redirect = await currentRepWs.waitType('redirect');
      assert.equal(redirect.redirect_id, w.conv, 'the head of the queue is served next');
      await w.ws.waitType('assigned');
      currentRepWs = connect(server.wsUrl, chatPath(w.conv), { token: rep.access });
      await currentRepWs.opened;
    }
    currentRepWs.close();
    for (const w of waiting) w.ws.close();
  });
});
