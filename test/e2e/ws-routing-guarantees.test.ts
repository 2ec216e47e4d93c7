// Routing promises of the design that no other suite exercises: requeue on PATCH offline, the tail for an
// abandoned customer's return, grace periods kept (and acted on within their 1 s), redirect rules, admin
// actions, who may join a chat socket, the head of the queue for a new rep, and logout on /ws/agent/.
// Each case runs on its own server, so that it can run alone (--test-name-pattern) and no rep of another
// case takes its chats.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep, uniqueName, type TestSocket } from '../helpers/client.ts';
import { createAdmin, registerRepRaw } from '../helpers/http-fixtures.ts';
import { eventually } from '../helpers/wait.ts';

/** How far past a "within 1 s after the grace period" promise a test still accepts the action. */
const PROMISE_SLACK_MS = 1000 + 400;

async function withServer(env: Record<string, string>, run: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startServer({ env });
  try {
    await run(server);
  } finally {
    await server.stop({ wipe: true });
  }
}

async function waitingCustomer(server: TestServer) {
  const cust = await registerCustomer(server.url);
  const conv = await openConversation(server.url, cust);
  const ws = connect(server.wsUrl, chatPath(conv), { token: cust.access });
  return { cust, conv, ws };
}

const statusOf = async (server: TestServer, conv: string, token: string) => (await http(server.url, 'GET', `/api/conversations/${conv}/`, { token })).body.status;

describe('routing guarantees', () => {
  it('PATCH offline requeues the open chats at once, at their original places, and tells the console why', async () => {
    await withServer({}, async (server) => {
      const rep = await registerRep(server.url, 2);
      const agent = connect(server.wsUrl, '/ws/agent/', { token: rep.access });
      await agent.waitType('queue');
      const first = await waitingCustomer(server);
      await first.ws.waitType('assigned');
      const second = await waitingCustomer(server);
      await second.ws.waitType('assigned');
      const later = await waitingCustomer(server);
      assert.equal((await later.ws.waitType('queued')).position, 1);

      const off = await http(server.url, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status: 'offline' } });
      assert.equal(off.status, 200);
      // "At once": the answer comes after the requeue, so the store already says so.
      assert.equal(await statusOf(server, first.conv, first.cust.access), 'queued');
      assert.equal(await statusOf(server, second.conv, second.cust.access), 'queued');
      assert.equal((await http(server.url, 'GET', '/api/reps/me/', { token: rep.access })).body.load, 0);
      const queue = await http(server.url, 'GET', '/api/queue/', { token: rep.access });
      assert.deepEqual(queue.body.map((e: any) => e.id), [first.conv, second.conv, later.conv], 'original order: the requeued chats first');
      assert.equal((await first.ws.next('queued')).position, 1);
      assert.equal((await second.ws.next('queued')).position, 2);
      const unassigned = [await agent.next('unassigned'), await agent.next('unassigned')];
      assert.deepEqual(unassigned.map((f) => f.reason), ['requeued', 'requeued']);
      assert.deepEqual(unassigned.map((f) => f.conversation).sort(), [first.conv, second.conv].sort());
      for (const s of [agent, first.ws, second.ws, later.ws]) s.close();
    });
  });

  it('puts an abandoned customer who reconnects by socket at the tail', async () => {
    await withServer({ CUSTOMER_GRACE_MS: '300' }, async (server) => {
      await registerRep(server.url, 0);
      const gone = await waitingCustomer(server);
      await gone.ws.waitType('queued');
      const stays = await waitingCustomer(server);
      assert.equal((await stays.ws.waitType('queued')).position, 2);
      gone.ws.close();
      await eventually(async () => (await statusOf(server, gone.conv, gone.cust.access)) === 'abandoned', { what: 'abandoned' });
      const third = await waitingCustomer(server);
      assert.equal((await third.ws.waitType('queued')).position, 2);
      const back = connect(server.wsUrl, chatPath(gone.conv), { token: gone.cust.access });
      assert.equal((await back.waitType('queued')).position, 3, 'behind everyone who waited meanwhile');
      assert.equal(await statusOf(server, gone.conv, gone.cust.access), 'queued');
      for (const s of [back, stays.ws, third.ws]) s.close();
    });
  });

  it('never abandons a customer who reconnects within its grace period, and abandons one who does not within 1 s of it', async () => {
    const graceMs = 1000;
    await withServer({ CUSTOMER_GRACE_MS: String(graceMs) }, async (server) => {
      await registerRep(server.url, 0);
      const w = await waitingCustomer(server);
      await w.ws.waitType('queued');
      // The marker: a customer who leaves just after `w` and stays away. Its abandonment proves that `w`'s
      // grace period (which started earlier, on the same timers and the same routing lock) has run out too.
      const marker = await waitingCustomer(server);
      await marker.ws.waitType('queued');
      w.ws.close();
      await w.ws.waitClose();
      const leftAt = Date.now();
      marker.ws.close();
      await marker.ws.waitClose();
      const markerLeftAt = Date.now();
      const back = connect(server.wsUrl, chatPath(w.conv), { token: w.cust.access });
      await back.waitType('queued');
      assert.ok(Date.now() - leftAt < graceMs, 'reconnected within the grace (the machine was too slow to tell)');
      // Abandoned within 1 s after its grace expires (checked with a small slack), and not before.
      await eventually(async () => (await statusOf(server, marker.conv, marker.cust.access)) === 'abandoned', {
        timeoutMs: graceMs + PROMISE_SLACK_MS,
        what: 'the marker abandoned',
      });
      assert.ok(Date.now() - markerLeftAt >= graceMs, 'not before the grace ran out');
      assert.equal(await statusOf(server, w.conv, w.cust.access), 'queued', 'still waiting past the grace');
      assert.deepEqual(await back.settle(), [], 'and heard nothing after its queued frame (an abandonment would requeue it at the tail)');
      back.close();
    });
  });

  it('requeues a departed rep within 1 s after its grace period', async () => {
    const graceMs = 800;
    await withServer({ REP_GRACE_MS: String(graceMs) }, async (server) => {
      const rep = await registerRep(server.url, 1);
      const agent = connect(server.wsUrl, '/ws/agent/', { token: rep.access });
      await agent.waitType('queue');
      const w = await waitingCustomer(server);
      await w.ws.waitType('assigned');
      agent.close();
      await agent.waitClose();
      const goneAt = Date.now();
      await w.ws.next('queued', graceMs + PROMISE_SLACK_MS);
      assert.ok(Date.now() - goneAt >= graceMs, 'not before the grace ran out');
      w.ws.close();
    });
  });

  it('sends no redirect after a customer closes, nor to a closing rep that is no longer eligible', async () => {
    await withServer({}, async (server) => {
      const rep = await registerRep(server.url, 1);
      // The customer closes while someone waits: the slot goes to the head, but nobody is redirected.
      const one = await openChat(server, rep);
      const waiting = await waitingCustomer(server);
      await waiting.ws.waitType('queued');
      one.c.send({ type: 'close' });
      await one.c.waitClose();
      await one.r.waitClose();
      assert.equal(one.c.ofType('redirect').length + one.r.ofType('redirect').length, 0, "no redirect on a customer's close");
      assert.equal((await waiting.ws.next('assigned')).rep.id, rep.id, 'the freed slot still went to the head');

      // The rep goes away, then closes while someone waits: it is not eligible, so no redirect.
      const r2 = connect(server.wsUrl, chatPath(waiting.conv), { token: rep.access });
      await r2.settle();
      const next = await waitingCustomer(server);
      await next.ws.waitType('queued');
      assert.equal((await http(server.url, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status: 'away' } })).status, 200);
      r2.send({ type: 'close' });
      assert.equal(await r2.waitClose(), 1000);
      assert.equal(r2.ofType('redirect').length, 0, 'an away rep gets no redirect');
      assert.equal(await statusOf(server, next.conv, next.cust.access), 'queued', 'and the slot was not given to it');
      for (const s of [waiting.ws, next.ws]) s.close();
    });
  });

  it("lets an admin close (by system), transfer and requeue a chat", async () => {
    await withServer({}, async (server) => {
      const admin = await createAdmin(server.url, server.store);
      const holder = await registerRep(server.url, 5);
      const chat = await openChat(server, holder);
      const spare = await registerRep(server.url, 1);
      const moved = await http(server.url, 'POST', `/api/conversations/${chat.conv}/transfer/`, { token: admin.access, body: { to_rep: spare.id } });
      assert.equal(moved.status, 200);
      assert.equal(moved.body.customer_rep, spare.id);
      assert.equal((await chat.c.next('assigned')).rep.id, spare.id);
      const requeued = await http(server.url, 'POST', `/api/conversations/${chat.conv}/transfer/`, { token: admin.access, body: {} });
      assert.equal(requeued.status, 200);
      // Back in the queue, not offered to the rep it came from: the holder, with free slots, takes it.
      assert.equal((await chat.c.next('assigned')).rep.id, holder.id);
      const closed = await http(server.url, 'POST', `/api/conversations/${chat.conv}/close/`, { token: admin.access });
      assert.equal(closed.status, 200);
      assert.equal(closed.body.status, 'closed');
      const frame = await chat.c.next('closed');
      assert.equal(frame.by, 'system');
      assert.equal(await chat.c.waitClose(), 1000);
      chat.r.close();
    });
  });

  it('refuses an admin and a past rep on a chat socket with 4403', async () => {
    await withServer({}, async (server) => {
      const admin = await createAdmin(server.url, server.store);
      const first = await registerRep(server.url, 5);
      const chat = await openChat(server, first);
      const second = await registerRep(server.url, 1);
      assert.equal((await http(server.url, 'POST', `/api/conversations/${chat.conv}/transfer/`, { token: first.access, body: { to_rep: second.id } })).status, 200);
      for (const [who, token] of [['admin', admin.access], ['past rep', first.access]]) {
        const s = connect(server.wsUrl, chatPath(chat.conv), { token });
        await s.opened;
        assert.equal(await s.waitClose(3000), 4403, who);
      }
      // The past rep may still read it over HTTP.
      assert.equal((await http(server.url, 'GET', `/api/conversations/${chat.conv}/`, { token: first.access })).status, 200);
      chat.c.close();
    });
  });

  it('gives the head of the queue to a rep who registers while customers wait', async () => {
    await withServer({}, async (server) => {
      await registerRep(server.url, 0);
      const head = await waitingCustomer(server);
      await head.ws.waitType('queued');
      const behind = await waitingCustomer(server);
      await behind.ws.waitType('queued');
      const fresh = await registerRepRaw(server.url, uniqueName('fresh'), { max_capacity: 1 });
      assert.equal(fresh.status, 201);
      // At once: the registration answers after the assignment (not a later repair by the reconciler).
      assert.equal(await statusOf(server, head.conv, head.cust.access), 'assigned');
      assert.equal((await head.ws.next('assigned')).rep.id, fresh.body.id);
      const rest = await behind.ws.settle();
      assert.equal(rest.filter((f) => f.type === 'assigned').length, 0, 'the one behind still waits');
      for (const s of [head.ws, behind.ws]) s.close();
    });
  });

  it('closes the /ws/agent/ sockets of a rep who logs out, with 4401', async () => {
    await withServer({}, async (server) => {
      const rep = await registerRep(server.url, 1);
      const consoles: TestSocket[] = [connect(server.wsUrl, '/ws/agent/', { token: rep.access }), connect(server.wsUrl, '/ws/agent/', { token: rep.access })];
      for (const s of consoles) await s.waitType('queue');
      assert.equal((await http(server.url, 'POST', '/auth/logout/', { token: rep.access, body: { refresh: rep.refresh } })).status, 200);
      for (const s of consoles) assert.equal(await s.waitClose(3000), 4401);
    });
  });
});
