// Routing over real sockets: agent events, presence grace and requeue, abandonment, transfer, capacity and
// status changes, close/rating/queue REST verbs, and position updates.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep } from '../helpers/client.ts';
import { eventually } from '../helpers/wait.ts';

describe('routing lifecycle', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer({ env: { REP_GRACE_MS: '300', CUSTOMER_GRACE_MS: '300' } });
  });
  after(async () => server.stop({ wipe: true }));

  async function waitingCustomer() {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const ws = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    return { cust, conv, ws };
  }

  it('pushes assigned/unassigned/queue to /ws/agent/, and requeues a departed rep after the grace period', async () => {
    const rep = await registerRep(server.url, 1);
    const agent = connect(server.wsUrl, '/ws/agent/', { token: rep.access });
    await agent.waitType('queue');
    const a = await waitingCustomer();
    const assignedToRep = await agent.waitType('assigned');
    assert.equal(assignedToRep.conversation, a.conv);
    assert.equal(assignedToRep.customer.username, a.cust.username);
    await a.ws.waitType('assigned');
    const repChat = connect(server.wsUrl, chatPath(a.conv), { token: rep.access });
    await repChat.opened;

    // The rep's agent socket goes away for longer than the grace period: its chat goes back to the queue.
    agent.close();
    await agent.waitClose();
    // Within 1 s after the 300 ms grace, checked with a bound 400 ms past that promise.
    const requeued = await a.ws.waitType('queued', 300 + 1000 + 400);
    assert.equal(requeued.position, 1);
    const me = await http(server.url, 'GET', '/api/reps/me/', { token: rep.access });
    assert.equal(me.body.status, 'offline');
    assert.equal(me.body.load, 0);
    const detail = await http(server.url, 'GET', `/api/conversations/${a.conv}/`, { token: a.cust.access });
    assert.equal(detail.body.status, 'queued');
    await repChat.waitClose();

    // Reconnecting later sets the rep online again, and the queue flows back to it.
    const again = connect(server.wsUrl, '/ws/agent/', { token: rep.access });
    const back = await again.waitType('assigned');
    assert.equal(back.conversation, a.conv);
    // A second `assigned`, after the `queued` (the first one came before it).
    const reassigned = await a.ws.next('assigned');
    assert.equal(reassigned.rep.id, rep.id);
    assert.equal((await http(server.url, 'GET', '/api/reps/me/', { token: rep.access })).body.status, 'online');
    // Close it and go offline to keep later tests independent.
    await http(server.url, 'POST', `/api/conversations/${a.conv}/close/`, { token: rep.access });
    await again.waitFor((f) => f.type === 'unassigned' && f.reason === 'closed');
    await http(server.url, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status: 'offline' } });
    again.close();
    a.ws.close();
  });

  it('keeps everything for a rep that reconnects within the grace period, also once the grace has run out', async () => {
    const graceMs = 1000;
    const slow = await startServer({ env: { REP_GRACE_MS: String(graceMs) } });
    try {
      const rep = await registerRep(slow.url, 1);
      const agent = connect(slow.wsUrl, '/ws/agent/', { token: rep.access });
      await agent.waitType('queue');
      const cust = await registerCustomer(slow.url);
      const conv = await openConversation(slow.url, cust);
      const ws = connect(slow.wsUrl, chatPath(conv), { token: cust.access });
      await ws.waitType('assigned');
      // The marker: a rep who leaves just after `rep` and stays away. Its chat's requeue proves that `rep`'s
      // grace period (which started earlier, on the same timers and the same routing lock) has run out too.
      const markerRep = await registerRep(slow.url, 1);
      const markerAgent = connect(slow.wsUrl, '/ws/agent/', { token: markerRep.access });
      await markerAgent.waitType('queue');
      const markerCust = await registerCustomer(slow.url);
      const markerWs = connect(slow.wsUrl, chatPath(await openConversation(slow.url, markerCust)), { token: markerCust.access });
      assert.equal((await markerWs.waitType('assigned')).rep.id, markerRep.id);
      agent.close();
      await agent.waitClose();
      const leftAt = Date.now();
      markerAgent.close();
      await markerAgent.waitClose();
      const back = connect(slow.wsUrl, '/ws/agent/', { token: rep.access });
      await back.waitType('queue');
      assert.ok(Date.now() - leftAt < graceMs, 'the console came back within the grace period (the machine was too slow to tell)');
      await markerWs.next('queued', graceMs + 1500);
      assert.deepEqual(await ws.settle(0), [ws.frames[0]], 'the customer heard nothing after its assignment');
      const me = await http(slow.url, 'GET', '/api/reps/me/', { token: rep.access });
      assert.equal(me.body.status, 'online');
      assert.equal(me.body.load, 1);
      for (const s of [back, ws, markerWs]) s.close();
    } finally {
      await slow.stop({ wipe: true });
    }
  });

  it('abandons a queued customer who stays away past the grace period, and re-queues it at the tail on return', async () => {
    const w1 = await waitingCustomer();
    const w2 = await waitingCustomer();
    await w1.ws.waitType('queued');
    await w2.ws.waitType('queued');
    // A customer sees only its own entries, at their true place, while two wait.
    for (const [w, position] of [[w1, 1], [w2, 2]] as const) {
      const own = await http(server.url, 'GET', '/api/queue/', { token: w.cust.access });
      assert.deepEqual(own.body.map((e: any) => [e.id, e.position]), [[w.conv, position]]);
    }
    w1.ws.close();
    await w1.ws.waitClose();
    await eventually(async () => (await http(server.url, 'GET', `/api/conversations/${w1.conv}/`, { token: w1.cust.access })).body.status === 'abandoned', {
      timeoutMs: 300 + 1000 + 400, // within 1 s after the 300 ms grace, and 400 ms of slack
      what: 'abandoned',
    });
    const q = await http(server.url, 'GET', '/api/queue/', { token: w2.cust.access });
    assert.deepEqual(q.body.map((e: any) => e.id), [w2.conv]);
    // w2 moved up to position 1: a fresh queued frame says so.
    await w2.ws.waitFor((f) => f.type === 'queued' && f.position === 1);
    // POST /queue/ re-opens it at the tail.
    const re = await http(server.url, 'POST', `/api/conversations/${w1.conv}/queue/`, { token: w1.cust.access });
    assert.equal(re.status, 200);
    assert.equal(re.body.status, 'queued');
    const again = await http(server.url, 'POST', `/api/conversations/${w1.conv}/queue/`, { token: w1.cust.access });
    assert.equal(again.status, 409);
    const back = connect(server.wsUrl, chatPath(w1.conv), { token: w1.cust.access });
    const pos = await back.waitType('queued');
    assert.equal(pos.position, 2, 'back at the tail');
    // Clean up: close both while queued.
    for (const [conv, tok] of [[w1.conv, w1.cust.access], [w2.conv, w2.cust.access]]) {
      assert.equal((await http(server.url, 'POST', `/api/conversations/${conv}/close/`, { token: tok })).status, 200);
    }
    await back.waitClose();
    await w2.ws.waitClose();
  });

  it('transfers to another rep or back to the queue at its original place; a full or away target is 409 and changes nothing', async () => {
    const repA = await registerRep(server.url, 1);
    const repB = await registerRep(server.url, 1);
    const agentA = connect(server.wsUrl, '/ws/agent/', { token: repA.access });
    const agentB = connect(server.wsUrl, '/ws/agent/', { token: repB.access });
    await agentA.waitType('queue');
    await agentB.waitType('queue');
    const x = await waitingCustomer();
    const first = await x.ws.waitType('assigned');
    const holder = first.rep.id === repA.id ? repA : repB;
    const other = holder === repA ? repB : repA;
    const holderAgent = holder === repA ? agentA : agentB;
    const otherAgent = holder === repA ? agentB : agentA;

    const moved = await http(server.url, 'POST', `/api/conversations/${x.conv}/transfer/`, { token: holder.access, body: { to_rep: other.id } });
    assert.equal(moved.status, 200);
    assert.equal(moved.body.customer_rep, other.id);
    await holderAgent.waitFor((f) => f.type === 'unassigned' && f.reason === 'transfer');
    await otherAgent.waitFor((f) => f.type === 'assigned' && f.conversation === x.conv);
    await x.ws.waitFor((f) => f.type === 'assigned' && f.rep.id === other.id);

    // `holder` now fills up with another customer, so it is a full target.
    const y = await waitingCustomer();
    await y.ws.waitType('assigned');
    const full = await http(server.url, 'POST', `/api/conversations/${x.conv}/transfer/`, { token: other.access, body: { to_rep: holder.id } });
    assert.equal(full.status, 409);
    assert.equal((await http(server.url, 'GET', `/api/conversations/${x.conv}/`, { token: other.access })).body.customer_rep, other.id, 'nothing changed');
    // An away target with free slots, and an offline one, are refused the same way.
    const idle = await registerRep(server.url, 3);
    for (const status of ['away', 'offline']) {
      assert.equal((await http(server.url, 'PATCH', '/api/reps/me/', { token: idle.access, body: { status } })).status, 200);
      const refused = await http(server.url, 'POST', `/api/conversations/${x.conv}/transfer/`, { token: other.access, body: { to_rep: idle.id } });
      assert.equal(refused.status, 409, `${status} target`);
      assert.equal((await http(server.url, 'GET', `/api/conversations/${x.conv}/`, { token: other.access })).body.customer_rep, other.id, `${status}: nothing changed`);
    }
    assert.equal((await http(server.url, 'GET', '/api/reps/me/', { token: idle.access })).body.load, 0);
    // The previous holder can still read the history, but may not transfer.
    assert.equal((await http(server.url, 'GET', `/api/conversations/${x.conv}/`, { token: holder.access })).status, 200);
    assert.equal((await http(server.url, 'POST', `/api/conversations/${x.conv}/transfer/`, { token: holder.access, body: {} })).status, 403);

    // An empty body sends it back to the queue; its rep is not offered it straight back.
    const z = await waitingCustomer(); // waits behind: both reps full
    await z.ws.waitType('queued');
    const toQueue = await http(server.url, 'POST', `/api/conversations/${x.conv}/transfer/`, { token: other.access });
    assert.equal(toQueue.status, 200);
    // x keeps its original place (ahead of z) but `other` is excluded for x, so z gets `other`'s slot.
    await z.ws.waitFor((f) => f.type === 'assigned' && f.rep.id === other.id);
    const requeuedFrame = await x.ws.waitFor((f) => f.type === 'queued');
    assert.equal(requeuedFrame.position, 1);
    const queue = await http(server.url, 'GET', '/api/queue/', { token: other.access });
    assert.equal(queue.body[0].id, x.conv);
    assert.ok(queue.headers.get('x-estimated-wait'));

    // Illegal transitions are 409: transferring a queued conversation (its past rep may still read it).
    const queuedTransfer = await http(server.url, 'POST', `/api/conversations/${x.conv}/transfer/`, { token: other.access, body: { to_rep: holder.id } });
    assert.equal(queuedTransfer.status, 409);
    assert.equal(queuedTransfer.body.code, 'illegal_transition');

    // Raising capacity pulls from the queue at once.
    const raised = await http(server.url, 'PATCH', '/api/reps/me/', { token: holder.access, body: { max_capacity: 2 } });
    assert.equal(raised.status, 200);
    // x's first `assigned` named `holder` too: only a later one proves the raise pulled it.
    await x.ws.next((f) => f.type === 'assigned' && f.rep.id === holder.id);
    assert.equal((await http(server.url, 'GET', '/api/reps/me/', { token: holder.access })).body.load, 2);

    // Away keeps chats, gets nothing new; back online pulls.
    await http(server.url, 'PATCH', '/api/reps/me/', { token: other.access, body: { status: 'away', max_capacity: 2 } });
    const w = await waitingCustomer();
    await w.ws.waitType('queued');
    await http(server.url, 'PATCH', '/api/reps/me/', { token: other.access, body: { status: 'online' } });
    await w.ws.waitFor((f) => f.type === 'assigned' && f.rep.id === other.id);

    // Close via REST by the customer (no redirect), then rate once.
    const closeRes = await http(server.url, 'POST', `/api/conversations/${x.conv}/close/`, { token: x.cust.access });
    assert.equal(closeRes.status, 200);
    assert.equal(closeRes.body.status, 'closed');
    assert.equal((await http(server.url, 'POST', `/api/conversations/${x.conv}/close/`, { token: x.cust.access })).status, 409);
    assert.equal((await http(server.url, 'POST', `/api/conversations/${y.conv}/rating/`, { token: y.cust.access, body: { score: 5 } })).status, 409, 'not before the close');
    const rated = await http(server.url, 'POST', `/api/conversations/${x.conv}/rating/`, { token: x.cust.access, body: { score: 4, comment: 'good' } });
    assert.equal(rated.status, 200);
    assert.equal(rated.body.rating, 4);
    assert.equal((await http(server.url, 'POST', `/api/conversations/${x.conv}/rating/`, { token: x.cust.access, body: { score: 5 } })).status, 409);
    assert.equal((await http(server.url, 'POST', `/api/conversations/${x.conv}/rating/`, { token: x.cust.access, body: { score: 9 } })).status, 400);

    const reps = await http(server.url, 'GET', '/api/reps/', { token: holder.access });
    assert.equal(reps.status, 200);
    assert.ok(reps.body.some((r: any) => r.id === holder.id && typeof r.load === 'number'));
    assert.equal((await http(server.url, 'GET', '/api/reps/', { token: x.cust.access })).status, 403);

    for (const s of [agentA, agentB, x.ws, y.ws, z.ws, w.ws]) s.close();
    for (const r of [repA, repB]) await http(server.url, 'PATCH', '/api/reps/me/', { token: r.access, body: { status: 'offline' } });
  });
});

describe('abandonment without any socket', () => {
  it('abandons a conversation queued by POST /queue/ whose customer never connects', async () => {
    const server = await startServer({ env: { CUSTOMER_GRACE_MS: '200' } });
    try {
      await registerRep(server.url, 0);
      const cust = await registerCustomer(server.url);
      const conv = await openConversation(server.url, cust);
      const r = await http(server.url, 'POST', `/api/conversations/${conv}/queue/`, { token: cust.access });
      assert.equal(r.body.status, 'queued');
      await eventually(async () => (await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access })).body.status === 'abandoned', {
        timeoutMs: 5000,
        what: 'abandoned',
      });
    } finally {
      await server.stop({ wipe: true });
    }
  });
});
