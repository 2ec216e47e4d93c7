// Delivery guarantees: resume with ?last_seq=, client_id dedupe, early frames buffered, handshake close codes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { tabsOpenMidStream } from '../helpers/mid-stream.ts';

describe('delivery', () => {
  let server: TestServer;
  let rep: Account;
  before(async () => {
    server = await startServer();
    rep = await registerRep(server.url, 50);
  });
  after(async () => server.stop({ wipe: true }));

  const chat = () => openChat(server, rep);

  it('resumes after a reconnect with every later message exactly once, in order', async () => {
    const { cust, conv, c, r } = await chat();
    for (let i = 1; i <= 5; i++) c.send({ type: 'message', text: `m${i}` });
    await c.waitFor((f) => f.type === 'message' && f.seq === 5);
    c.close();
    await c.waitClose();
    for (let i = 6; i <= 10; i++) r.send({ type: 'message', text: `m${i}` });
    await r.waitFor((f) => f.type === 'message' && f.seq === 10);
    const back = connect(server.wsUrl, chatPath(conv), { token: cust.access, query: 'last_seq=5' });
    // Live messages race with the replay; the socket must still see 6..12 once each, in order.
    back.opened.then(() => r.send({ type: 'message', text: 'm11' }));
    await back.opened;
    r.send({ type: 'message', text: 'm12' });
    await back.waitFor((f) => f.type === 'message' && f.seq === 12);
    const seqs = back.ofType('message').map((f) => f.seq);
    assert.deepEqual(seqs, [6, 7, 8, 9, 10, 11, 12]);
    back.close();
    r.close();
  });

  it('stores a retried client_id once and answers the retry with the same id and seq on the sender only', async () => {
    const { c, r, conv, cust } = await chat();
    c.send({ type: 'message', text: 'once', client_id: 'abc-1' });
    const first = await c.waitFor((f) => f.type === 'message' && f.client_id === 'abc-1');
    await r.waitFor((f) => f.type === 'message' && f.client_id === 'abc-1');
    c.send({ type: 'message', text: 'once', client_id: 'abc-1' });
    c.send({ type: 'ping' });
    await c.waitFor((f) => f.type === 'pong');
    const copies = c.ofType('message').filter((f) => f.client_id === 'abc-1');
    assert.equal(copies.length, 2);
    assert.equal(copies[1].id, first.id);
    assert.equal(copies[1].seq, first.seq);
    r.send({ type: 'ping' });
    await r.waitFor((f) => f.type === 'pong');
    assert.equal(r.ofType('message').filter((f) => f.client_id === 'abc-1').length, 1, 'not broadcast again');
    const detail = await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.equal(detail.body.messages.length, 1);
    c.close();
    r.close();
  });

  it('buffers frames sent the moment the socket opens and handles them in order', async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    c.ws.on('open', () => {
      for (let i = 1; i <= 10; i++) c.send({ type: 'message', text: `early ${i}` });
    });
    await c.waitFor((f) => f.type === 'message' && f.seq === 10);
    assert.deepEqual(
      c.ofType('message').map((f) => f.message),
      Array.from({ length: 10 }, (_, i) => `early ${i + 1}`),
    );
    c.close();
  });

  it('takes the token from ?token= as well as the header', async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access, header: false });
    await c.waitType('assigned');
    c.close();
  });

  it('completes the handshake and closes with 4401, 4403, 4404 and 4409 as appropriate', async () => {
    const { conv, cust, c, r } = await chat();
    const stranger = await registerCustomer(server.url);
    const otherRep = await registerRep(server.url, 1);
    const cases: Array<[string, Parameters<typeof connect>[2], number]> = [
      [chatPath(conv), {}, 4401],
      [chatPath(conv), { token: 'garbage' }, 4401],
      [chatPath(conv), { token: otherRep.access }, 4403],
      [chatPath('00000000-0000-7000-8000-000000000000'), { token: cust.access }, 4404],
      [chatPath('not-a-uuid'), { token: cust.access }, 4404],
      ['/ws/agent/', { token: cust.access }, 4403],
      ['/ws/agent/', { token: 'nope' }, 4401],
    ];
    for (const [path, opts, code] of cases) {
      const s = connect(server.wsUrl, path, opts);
      await s.opened;
      assert.equal(await s.waitClose(2000), code, `${path} ${JSON.stringify(opts)}`);
    }
    const foreign = connect(server.wsUrl, chatPath(conv), { token: stranger.access });
    await foreign.opened;
    assert.equal(await foreign.waitClose(2000), 4404, 'a foreign customer learns no more than from an unknown id');
    c.send({ type: 'close' });
    await c.waitClose();
    await r.waitClose();
    const late = connect(server.wsUrl, chatPath(conv), { token: rep.access });
    await late.opened;
    assert.equal(await late.waitClose(2000), 4409, 'its past rep learns it is closed');
    const lateCustomer = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    assert.equal(await lateCustomer.waitClose(2000), 4409);
  });

  it('closes the sockets of a user who logs out with 4401', async () => {
    const { c, r, cust } = await chat();
    const res = await http(server.url, 'POST', '/auth/logout/', { token: cust.access, body: {} });
    assert.equal(res.status, 200);
    assert.equal(await c.waitClose(), 4401);
    r.close();
  });

  it('relays typing and read to the other participant only', async () => {
    const { c, r } = await chat();
    c.send({ type: 'typing', typing: true });
    const t = await r.waitType('typing');
    assert.equal(t.typing, true);
    c.send({ type: 'message', text: 'x' });
    await r.waitFor((f) => f.type === 'message');
    r.send({ type: 'read', seq: 1 });
    const read = await c.waitType('read');
    assert.equal(read.seq, 1);
    c.send({ type: 'ping' });
    await c.waitType('pong');
    assert.equal(c.ofType('typing').length, 0, 'the sender does not get its own typing');
    c.close();
    r.close();
  });
});

describe('delivery to sockets that open mid-stream', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { WS_FRAMES_PER_S: '2000', MAX_SOCKETS_PER_USER: '1000' } });
  });
  after(async () => server.stop({ wipe: true }));

  it('gives each new socket every message stored after it opened, once and in order', async () => {
    const rep = await registerRep(server.url, 5);
    const { cust, conv, r } = await openChat(server, rep);
    await tabsOpenMidStream({
      rep: r,
      openTab: () => connect(server.wsUrl, chatPath(conv), { token: cust.access }),
      total: 400,
      tabs: 20,
      burst: 10,
      pauseMs: 1,
      spacingMs: 3,
    });
    r.close();
  });
});
