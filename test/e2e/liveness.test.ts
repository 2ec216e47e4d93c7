// Liveness over real sockets (embedded mode: SQLite + memory router + in-process presence): reconnects that
// race a grace period, SIGTERM during presence work, and the ordering and delivery edges of routing frames.
// Each race is pinned with a gate in the store (a call that waits until the test opens it), never by timing.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../../src/config.ts';
import { buildApp, type BuiltApp } from '../../src/app.ts';
import { openSqlite } from '../../src/store/open.ts';
import type { Store } from '../../src/store/port.ts';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import { MemoryBus } from '../../src/bus/memory-bus.ts';
import type { Bus } from '../../src/bus/port.ts';
import { TEST_SECRET } from '../helpers/server.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep } from '../helpers/client.ts';
import { faulty, Gate, until } from '../helpers/faults.ts';
import { withTimeout } from '../helpers/wait.ts';

const stops: Array<() => Promise<void>> = [];
after(async () => {
  for (const s of stops.reverse()) await s().catch(() => undefined);
});

async function start(env: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'sb-liveness-e2e-'));
  const config = loadConfig({ DATA_DIR: dir, JWT_SECRET: TEST_SECRET, RATE_REGISTER_PER_MIN: '100000', RATE_TOKEN_PER_MIN: '100000', ...env });
  const real = await openSqlite({ file: join(dir, 'db.sqlite3') });
  const store = faulty<Store>(real);
  const bus = faulty<Bus>(new MemoryBus());
  const built: BuiltApp = await buildApp({ config, store: store.proxy, router: new MemoryRouter(), bus: bus.proxy, jwtSecret: TEST_SECRET, reconcile: false });
  await built.app.listen({ port: 0, host: '127.0.0.1' });
  const address = built.app.server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    built.gateway.stop(1001);
    await built.app.close();
    await real.close();
    rmSync(dir, { recursive: true, force: true });
  };
  stops.push(stop);
  return { ...built, real, store, bus, url: `http://127.0.0.1:${port}`, wsUrl: `ws://127.0.0.1:${port}`, stop };
}

type Server = Awaited<ReturnType<typeof start>>;

/** A queued customer (every rep busy) whose socket has heard `queued`. */
async function queuedCustomer(s: Server) {
  await registerRep(s.url, 0);
  const cust = await registerCustomer(s.url);
  const conv = await openConversation(s.url, cust);
  const sock = connect(s.wsUrl, chatPath(conv), { token: cust.access });
  await sock.waitType('queued');
  return { cust, conv, sock };
}

/** A rep watched by presence (its agent socket connected once) holding one chat. */
async function watchedRepWithChat(s: Server) {
  const rep = await registerRep(s.url, 1);
  const agent = connect(s.wsUrl, '/ws/agent/', { token: rep.access });
  await agent.opened;
  agent.send({ type: 'ping' });
  await agent.waitType('pong');
  const chat = await openChat(s, rep);
  return { rep, agent, ...chat };
}

const isCustomerSocket = (s: Server, conv: string) => [...s.gateway.registry.conversation(conv)].some((x) => x.identity?.customer && !x.closed);

describe('presence races', () => {
  it('a customer who reconnects as its grace period ends is not abandoned', async () => {
    const s = await start({ CUSTOMER_GRACE_MS: '50' });
    const { cust, conv, sock } = await queuedCustomer(s);
    const gate = new Gate();
    s.store.on('abandon', async (real, ...args) => {
      await gate.pass();
      return real(...args);
    });
    let marked = false;
    s.store.on('markCustomerPresent', async (real, id) => {
      await real(id);
      marked = true;
    });
    sock.close();
    await gate.reached; // the sweep decided: the abandon is on its way to the store
    const back = connect(s.wsUrl, chatPath(conv), { token: cust.access });
    await until(() => isCustomerSocket(s, conv), 'the reconnect to be registered');
    // The reconnect reads the conversation as queued (the abandon waits at the gate), so it always marks it.
    await until(() => marked, 'the reconnect to reach the store');
    gate.open();
    await until(async () => (await s.real.getConversation(conv))?.status !== 'queued' || gate.hits > 0, 'the abandon to finish');
    await s.gateway.presence.idle?.();
    assert.equal((await s.real.getConversation(conv))?.status, 'queued', 'abandoned while its socket is open');
    await back.waitType('queued');
  });

  it('an abandon that commits under an open socket puts the conversation back at the tail, and the socket hears queued', async () => {
    const s = await start({ CUSTOMER_GRACE_MS: '50' });
    const { cust, conv, sock } = await queuedCustomer(s);
    const before = (await s.real.getConversation(conv))!;
    const abandonGate = new Gate();
    s.store.on('abandon', async (real, ...args) => {
      await abandonGate.pass();
      return real(...args);
    });
    // The reconnect's step in the store comes only after the abandon committed.
    const markGate = new Gate();
    s.store.on('markCustomerPresent', async (real, id) => {
      await markGate.pass();
      return real(id);
    });
    sock.close();
    await abandonGate.reached;
    const back = connect(s.wsUrl, chatPath(conv), { token: cust.access });
    await until(() => isCustomerSocket(s, conv), 'the reconnect to be registered');
    await withTimeout(markGate.reached, 5000, 'the reconnect reaching the store');
    abandonGate.open();
    await until(async () => (await s.real.getConversation(conv))?.status !== 'queued' || (await s.real.getConversation(conv))!.version > before.version, 'the abandon to commit');
    markGate.open();
    await until(async () => {
      const now = await s.real.getConversation(conv);
      return now?.status === 'queued' && (now.queueSeq ?? 0) > (before.queueSeq ?? 0);
    }, 'the conversation to be back in the queue, at the tail');
    await back.waitFor((f) => f.type === 'queued' && f.version > before.version);
  });

  it('a rep who reconnects as its grace period ends is not set offline, and keeps its chat', async () => {
    const s = await start({ REP_GRACE_MS: '50' });
    const { rep, agent, conv } = await watchedRepWithChat(s);
    const gate = new Gate();
    const offline = async (real: (...a: any[]) => Promise<any>, ...args: any[]) => {
      await gate.pass();
      return real(...args);
    };
    s.store.on('takeRepOffline' as keyof Store, offline as never);
    // The step the same transition took before it was one transaction.
    s.store.on('updateRep', async (real, id, patch) => (patch.status === 'offline' ? offline(real, id, patch) : real(id, patch)));
    agent.close();
    await gate.reached;
    const back = connect(s.wsUrl, '/ws/agent/', { token: rep.access });
    await back.opened;
    back.send({ type: 'ping' });
    await back.waitType('pong');
    gate.open();
    await s.gateway.presence.idle?.();
    await until(() => gate.hits > 0, 'the requeue to run');
    await new Promise((r) => setImmediate(r));
    const profile = await s.real.getRep(rep.id);
    assert.equal(profile?.status, 'online', 'a connected rep was set offline');
    const now = await s.real.getConversation(conv);
    assert.equal(now?.status, 'assigned');
    assert.equal(now?.repId, rep.id);
  });

  it('SIGTERM waits for presence-triggered work before it closes anything', async () => {
    const s = await start({ REP_GRACE_MS: '50' });
    const { rep, agent } = await watchedRepWithChat(s);
    const order: string[] = [];
    const gate = new Gate();
    const offline = async (real: (...a: any[]) => Promise<any>, ...args: any[]) => {
      await gate.pass();
      const out = await real(...args);
      order.push('committed');
      return out;
    };
    s.store.on('takeRepOffline' as keyof Store, offline as never);
    s.store.on('updateRep', async (real, id, patch) => (patch.status === 'offline' ? offline(real, id, patch) : real(id, patch)));
    agent.close();
    await gate.reached;
    const drained = s.gateway.drain().then(() => order.push('drained'));
    setImmediate(() => gate.open());
    await drained;
    await until(() => order.length === 2, 'the requeue to finish');
    assert.deepEqual(order, ['committed', 'drained']);
    assert.equal((await s.real.getRep(rep.id))?.status, 'offline');
  });
});

describe('ordering and delivery edges', () => {
  it('drops a routing frame older than the last one a socket was sent', async () => {
    const s = await start();
    const rep = await registerRep(s.url, 1);
    const { cust, conv, c } = await openChat(s, rep);
    const assignedAt = c.frames.findIndex((f) => f.type === 'assigned');
    const now = (await s.real.getConversation(conv))!;
    // A requeue published on another instance before the assignment that raced it, delivered after it.
    await s.services.ctx.bus.publish({ kind: 'requeued', conversationId: conv, customerUserId: cust.userId, rep: null, reason: 'requeued', position: 1, version: now.version - 1 });
    await s.services.ctx.bus.publish({ kind: 'typing', conversationId: conv, userId: rep.userId, username: rep.username, typing: true });
    await c.waitType('typing');
    assert.deepEqual(c.frames.slice(assignedAt + 1).filter((f) => f.type === 'queued'), [], 'a stale queued put the client back into waiting');
  });

  it('a message whose publish fails after the commit still reaches everyone, and its sender gets no error', async () => {
    const s = await start();
    const rep = await registerRep(s.url, 1);
    const { c, r } = await openChat(s, rep);
    let failed = false;
    s.bus.on('publish', async (real, event) => {
      if (event.kind === 'message' && !failed) {
        failed = true;
        throw new Error('injected: the fan-out is down');
      }
      return real(event);
    });
    c.send({ type: 'message', text: 'stored, then lost in the fan-out' });
    await r.waitFor((f) => f.type === 'message' && f.seq === 1);
    await c.waitFor((f) => f.type === 'message' && f.seq === 1);
    assert.deepEqual(c.ofType('error'), []);
  });

  it('a customer whose assignment was never announced (its publisher died) hears it before closed', async () => {
    const s = await start();
    const rep = await registerRep(s.url, 0);
    const cust = await registerCustomer(s.url);
    const conv = await openConversation(s.url, cust);
    const c = connect(s.wsUrl, chatPath(conv), { token: cust.access });
    await c.waitType('queued');
    // The instance that commits the assignment dies before its publish: the event is simply never sent.
    s.bus.on('publish', async (real, event) => (event.kind === 'assigned' ? undefined : real(event)));
    await http(s.url, 'PATCH', '/api/reps/me/', { token: rep.access, body: { max_capacity: 1 } });
    await until(async () => (await s.real.getConversation(conv))?.status === 'assigned', 'the assignment to commit');
    s.bus.off('publish');
    assert.deepEqual(await c.settle(0), [c.frames[0]], 'nothing announced the assignment');
    const r = connect(s.wsUrl, chatPath(conv), { token: rep.access });
    await r.opened;
    r.send({ type: 'close' });
    await c.waitClose();
    const types = c.frames.map((f) => f.type).filter((t) => t !== 'pong');
    assert.deepEqual(types, ['queued', 'assigned', 'closed']);
    const assigned = c.ofType('assigned')[0];
    assert.deepEqual(assigned.rep, { id: rep.id, username: rep.username, first_name: 'Rep' });
    assert.equal(assigned.conversation, conv);
  });

  it('closed does not overtake a pending gap fill', async () => {
    const s = await start();
    const rep = await registerRep(s.url, 1);
    const { cust, conv, c, r } = await openChat(s, rep);
    const gate = new Gate();
    s.store.on('messagesAfter', async (real, ...args) => {
      await gate.pass();
      return real(...args);
    });
    // Seq 1 is stored without a fan-out (its publish was lost), so seq 2 arrives live as a gap.
    await s.real.appendMessage({ conversationId: conv, authorId: cust.userId, text: 'one', clientId: null, timestamp: Date.now() });
    c.send({ type: 'message', text: 'two' });
    await until(async () => (await s.real.getConversation(conv))?.lastSeq === 2, 'the second message to be stored');
    await gate.reached;
    await http(s.url, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access }).then(() => undefined);
    gate.open();
    await r.waitClose();
    const types = r.frames.filter((f) => f.type === 'message' || f.type === 'closed').map((f) => (f.type === 'message' ? `m${f.seq}` : 'closed'));
    assert.deepEqual(types, ['m1', 'm2', 'closed']);
  });

  it('a long resume waits for a slow reader instead of overflowing its buffer (1013)', async () => {
    const s = await start();
    await registerRep(s.url, 0);
    const cust = await registerCustomer(s.url);
    const conv = await openConversation(s.url, cust);
    const text = 'x'.repeat(3900);
    const total = 4000; // about 16 MB of history: more than the kernel buffers and the 1 MiB limit together
    for (let i = 0; i < total; i++) await s.real.appendMessage({ conversationId: conv, authorId: cust.userId, text, clientId: null, timestamp: Date.now() });
    const sock = connect(s.wsUrl, chatPath(conv), { token: cust.access, query: 'last_seq=0' });
    await sock.opened;
    const tcp = (sock.ws as unknown as { _socket: { pause(): void; resume(): void } })._socket;
    tcp.pause();
    const server = () => [...s.gateway.registry.conversation(conv)][0];
    // The server has filled what the network takes, and is now either waiting or has cut the socket.
    await until(() => {
      const x = server();
      return x !== undefined && (x.closed || x.ws.bufferedAmount > 128 * 1024);
    }, 'the resume to meet backpressure', 10_000);
    tcp.resume();
    await sock.waitFor((f) => f.type === 'message' && f.seq === total, 30_000);
    assert.equal(sock.ofType('message').length, total);
  });

  it('forgets a user\'s cached card once its last socket here is gone', async () => {
    const s = await start();
    const rep = await registerRep(s.url, 1);
    const { cust, c, r } = await openChat(s, rep);
    assert.ok(s.services.ctx.cachedCards().customers >= 1);
    c.close();
    r.close();
    await until(() => s.gateway.registry.user(cust.userId).size === 0, 'the customer socket to go');
    assert.equal(s.services.ctx.cachedCards().customers, 0);
  });
});
