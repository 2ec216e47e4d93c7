// Limits per user and per address on one instance: sockets per user (and a rep's allowance per chat), the
// messages a user's sockets share, upgrades per address, open conversations and their rate, list and history
// ceilings, slow requests and headers, and chats a rep never opens.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, type TestSocket } from '../helpers/client.ts';
import { eventually } from '../helpers/wait.ts';

async function ready(s: TestSocket): Promise<void> {
  await s.opened;
  s.send({ type: 'ping' });
  await s.waitType('pong');
}

/** Bounded wait for a condition another actor brings about. */
async function until(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  await eventually(check, { timeoutMs, what });
}

describe('sockets and messages per user', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { MAX_SOCKETS_PER_USER: '3', MESSAGES_PER_USER_PER_S: '5', WS_FRAMES_PER_S: '1000' } });
  });
  after(() => server.stop({ wipe: true }));

  it('a user past MAX_SOCKETS_PER_USER completes the handshake, then gets 1008 "too many sockets"; a closed socket frees its place', async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const open = [0, 1, 2].map(() => connect(server.wsUrl, chatPath(conv), { token: cust.access }));
    for (const s of open) await ready(s);
    const extra = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await extra.opened;
    assert.equal(await extra.waitClose(), 1008);
    assert.equal(extra.closeReason, 'too many sockets');
    // Another user is not affected.
    const other = await registerCustomer(server.url);
    const otherConv = await openConversation(server.url, other);
    const theirs = connect(server.wsUrl, chatPath(otherConv), { token: other.access });
    await ready(theirs);
    open[0].close();
    await open[0].waitClose();
    await until(async () => {
      const again = connect(server.wsUrl, chatPath(conv), { token: cust.access });
      await again.opened;
      again.send({ type: 'ping' });
      const got = await Promise.race([again.waitType('pong').then(() => true), again.waitClose().then(() => false)]);
      if (!got) return false;
      open.push(again);
      return true;
    }, 'a place freed by the close');
    for (const s of [...open, theirs]) s.close();
    // Out of the queue, so that the next cases' reps take their own chats.
    await http(server.url, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access });
    await http(server.url, 'POST', `/api/conversations/${otherConv}/close/`, { token: other.access });
  });

  it('a rep may hold 2 more sockets per chat it holds', async () => {
    const rep = await registerRep(server.url, 1);
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await c.waitType('assigned');
    // 3 + 2 for the one chat it holds.
    const held: TestSocket[] = [];
    for (let i = 0; i < 5; i++) {
      const s = connect(server.wsUrl, i < 2 ? chatPath(conv) : '/ws/agent/', { token: rep.access });
      await ready(s);
      held.push(s);
    }
    const extra = connect(server.wsUrl, '/ws/agent/', { token: rep.access });
    assert.equal(await extra.waitClose(), 1008);
    for (const s of [...held, c]) s.close();
  });

  it("a user's sockets share MESSAGES_PER_USER_PER_S: the extra ones get rate_limited and are not stored", async () => {
    await registerRep(server.url, 1);
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const a = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await a.waitType('assigned');
    const b = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await ready(b);
    for (let i = 0; i < 15; i++) {
      a.send({ type: 'message', text: `a${i}`, client_id: `a${i}` });
      b.send({ type: 'message', text: `b${i}`, client_id: `b${i}` });
    }
    const limited = await Promise.race([a.waitType('error'), b.waitType('error')]);
    assert.equal(limited.code, 'rate_limited');
    // Every frame is answered: stored (a message frame) or refused (an error).
    await until(async () => a.ofType('message').length + a.ofType('error').length + b.ofType('error').length >= 30 || false, 'every frame answered');
    const stored = (await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access })).body.messages.length;
    assert.ok(stored < 30, `only a share of the 30 messages is stored (${stored})`);
    assert.equal(stored + a.ofType('error').length + b.ofType('error').length, 30);
    for (const s of [a, b]) s.close();
  });
});

describe('upgrades per address', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { RATE_WS_UPGRADES_PER_MIN: '3' } });
  });
  after(() => server.stop({ wipe: true }));

  it('past RATE_WS_UPGRADES_PER_MIN the handshake completes, then the socket gets 1013', async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const ok = [0, 1, 2].map(() => connect(server.wsUrl, chatPath(conv), { token: cust.access }));
    for (const s of ok) await ready(s);
    const refused = connect(server.wsUrl, '/ws/agent/', { token: cust.access });
    await refused.opened;
    assert.equal(await refused.waitClose(), 1013);
    for (const s of ok) s.close();
  });
});

describe('conversations per customer, list and history ceilings', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { MAX_OPEN_CONVERSATIONS: '2', RATE_CONVERSATIONS_PER_MIN: '6', MAX_LIST_ITEMS: '3', MAX_HISTORY_MESSAGES: '3' } });
  });
  after(() => server.stop({ wipe: true }));

  it('past MAX_OPEN_CONVERSATIONS opening is 409 too_many_open and changes nothing; closing one makes room', async () => {
    const cust = await registerCustomer(server.url);
    const first = await openConversation(server.url, cust);
    await openConversation(server.url, cust);
    const refused = await http(server.url, 'POST', '/api/conversations/', { token: cust.access, body: {} });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'too_many_open');
    assert.equal((await http(server.url, 'GET', '/api/conversations/', { token: cust.access })).body.length, 2);
    // Concurrent opens are counted one after another.
    const other = await registerCustomer(server.url);
    const race = await Promise.all([0, 1, 2, 3].map(() => http(server.url, 'POST', '/api/conversations/', { token: other.access, body: {} })));
    assert.deepEqual(race.map((r) => r.status).sort(), [201, 201, 409, 409]);
    assert.equal((await http(server.url, 'POST', `/api/conversations/${first}/close/`, { token: cust.access })).status, 200);
    assert.equal((await http(server.url, 'POST', '/api/conversations/', { token: cust.access, body: {} })).status, 201);
  });

  it('opening and queueing past RATE_CONVERSATIONS_PER_MIN is 429 with Retry-After', async () => {
    const cust = await registerCustomer(server.url);
    const statuses: number[] = [];
    let last;
    for (let i = 0; i < 3; i++) {
      const conv = await openConversation(server.url, cust);
      statuses.push((await http(server.url, 'POST', `/api/conversations/${conv}/queue/`, { token: cust.access })).status);
      last = (await http(server.url, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access })).status;
    }
    assert.deepEqual(statuses, [200, 200, 200]);
    assert.equal(last, 200);
    const throttled = await http(server.url, 'POST', '/api/conversations/', { token: cust.access, body: {} });
    assert.equal(throttled.status, 429);
    assert.equal(throttled.body.code, 'throttled');
    assert.ok(Number(throttled.headers.get('retry-after')) >= 1);
  });

  it('the unpaged list stops at MAX_LIST_ITEMS with a Link to the rest', async () => {
    const admin = await registerCustomer(server.url);
    // Four conversations, two of them closed to stay under the open cap.
    for (let i = 0; i < 4; i++) {
      const conv = await openConversation(server.url, admin);
      if (i < 2) await http(server.url, 'POST', `/api/conversations/${conv}/close/`, { token: admin.access });
    }
    const page = await http(server.url, 'GET', '/api/conversations/', { token: admin.access });
    assert.equal(page.body.length, 3);
    const link = page.headers.get('link') ?? '';
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1];
    assert.ok(next, `a next link: ${link}`);
    const rest = await http(server.url, 'GET', next, { token: admin.access });
    assert.equal(rest.body.length, 1);
    assert.ok(!page.body.some((c: { id: string }) => c.id === rest.body[0].id));
  });

  it('the detail history stops at MAX_HISTORY_MESSAGES (newest first) with a Link to older ones', async () => {
    await registerRep(server.url, 1);
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await c.waitType('assigned');
    for (let i = 1; i <= 5; i++) c.send({ message: `m${i}` });
    await c.waitFor((f) => f.type === 'message' && f.seq === 5);
    const detail = await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.deepEqual(detail.body.messages.map((m: { seq: number }) => m.seq), [5, 4, 3]);
    const next = /<([^>]+)>; rel="next"/.exec(detail.headers.get('link') ?? '')?.[1];
    assert.ok(next);
    const older = await http(server.url, 'GET', next, { token: cust.access });
    assert.deepEqual(older.body.map((m: { seq: number }) => m.seq), [2, 1]);
    c.close();
  });
});

describe('slow requests', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { REQUEST_TIMEOUT_MS: '1000', WS_HANDSHAKE_TIMEOUT_MS: '1000' } });
  });
  after(() => server.stop({ wipe: true }));

  /** Sends `head` and then nothing; resolves with what the server said once it closed the connection. */
  function trickle(head: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const sock = tcpConnect(server.port, '127.0.0.1', () => sock.write(head));
      let said = '';
      sock.on('data', (d) => (said += d.toString()));
      sock.on('close', () => resolve(said));
      sock.on('error', reject);
      setTimeout(() => {
        sock.destroy();
        reject(new Error('the connection was still open after 15 s'));
      }, 15_000).unref();
    });
  }

  it('a body that never finishes gets 408 and the connection closes', async () => {
    const said = await trickle('POST /auth/token/ HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"user');
    assert.match(said, /^HTTP\/1\.1 408/);
  });

  it('an upgrade whose headers never finish is dropped', async () => {
    const said = await trickle('GET /ws/agent/ HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n');
    assert.doesNotMatch(said, /101 Switching/);
  });

  it('the server keeps serving meanwhile', async () => {
    assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
  });
});

describe('chats a rep never opens', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { ACCEPT_TIMEOUT_MS: '2000' } });
  });
  after(() => server.stop({ wipe: true }));

  it('go back to the queue at their place after ACCEPT_TIMEOUT_MS; the rep goes away (not offline); an opened chat stays', async () => {
    const idle = await registerRep(server.url, 5);
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    const first = await c.waitType('assigned');
    assert.equal(first.rep.username, idle.username);
    const queued = await c.waitType('queued');
    assert.equal(queued.position, 1);
    const detail = await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.equal(detail.body.status, 'queued');
    const me = await http(server.url, 'GET', '/api/reps/me/', { token: idle.access });
    assert.equal(me.body.status, 'away');
    assert.equal(me.body.load, 0);

    // A rep who opens the chat keeps it.
    const busy = await registerRep(server.url, 1);
    const second = await c.waitFor((f) => f.type === 'assigned' && f.rep.username === busy.username);
    assert.ok(second);
    const r = connect(server.wsUrl, chatPath(conv), { token: busy.access });
    await ready(r);
    // The marker: a chat assigned after this one to a rep who never opens it. Its requeue comes from a sweep
    // that looked at every unopened chat assigned before it (oldest first), this one included.
    const other = await registerCustomer(server.url);
    const otherWs = connect(server.wsUrl, chatPath(await openConversation(server.url, other)), { token: other.access });
    await otherWs.waitType('queued');
    const lazy = await registerRep(server.url, 1);
    assert.equal((await otherWs.next('assigned')).rep.username, lazy.username);
    await otherWs.next('queued', 10_000);
    assert.deepEqual(await c.settle(second), [], 'the opened chat heard nothing more');
    const still = await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.equal(still.body.status, 'assigned');
    assert.equal(c.ofType('queued').length, 1);
    for (const s of [c, r, otherWs]) s.close();
  });
});
