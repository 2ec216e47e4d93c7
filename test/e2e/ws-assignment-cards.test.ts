// The customer card in an assignment's frames: taken from the customer's own socket when it has one here
// (no store read per assignment), looked up in the store when it has none; the rep hears the same either way.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, type TestSocket } from '../helpers/client.ts';

describe('customer cards of assignments', () => {
  const servers: TestServer[] = [];
  const sockets: TestSocket[] = [];
  after(async () => {
    for (const s of sockets) s.close();
    for (const s of servers) await s.stop({ wipe: true });
  });

  /** Counts the store's customer reads from now on. */
  function countCustomerReads(s: TestServer): () => number {
    let n = 0;
    const real = s.store.getCustomer.bind(s.store);
    s.store.getCustomer = (id) => {
      n++;
      return real(id);
    };
    return () => n;
  }

  it('a customer whose socket is here is announced to its rep without reading the store', async () => {
    const s = await startServer();
    servers.push(s);
    const rep = await registerRep(s.url, 1);
    const agent = connect(s.wsUrl, '/ws/agent/', { token: rep.access });
    sockets.push(agent);
    await agent.waitType('queue');
    const cust = await registerCustomer(s.url);
    const conv = await openConversation(s.url, cust);
    const reads = countCustomerReads(s);
    const c = connect(s.wsUrl, chatPath(conv), { token: cust.access });
    sockets.push(c);
    await c.waitType('assigned');
    const toRep = await agent.waitFor((f) => f.type === 'assigned' && f.conversation === conv);
    assert.deepEqual(toRep.customer, { id: cust.id, username: cust.username });
    assert.equal(reads(), 0);
  });

  it('a customer with no socket here is looked up, and the rep hears the same card', async () => {
    const s = await startServer();
    servers.push(s);
    const rep = await registerRep(s.url, 0);
    const agent = connect(s.wsUrl, '/ws/agent/', { token: rep.access });
    sockets.push(agent);
    await agent.waitType('queue');
    const cust = await registerCustomer(s.url);
    const conv = await openConversation(s.url, cust);
    const queued = await http(s.url, 'POST', `/api/conversations/${conv}/queue/`, { token: cust.access });
    assert.ok(queued.status < 300, `queue: ${queued.status}`);
    const reads = countCustomerReads(s);
    const raised = await http(s.url, 'PATCH', '/api/reps/me/', { token: rep.access, body: { max_capacity: 1 } });
    assert.equal(raised.status, 200);
    const toRep = await agent.waitFor((f) => f.type === 'assigned' && f.conversation === conv);
    assert.deepEqual(toRep.customer, { id: cust.id, username: cust.username });
    assert.equal(reads(), 1);
  });
});
