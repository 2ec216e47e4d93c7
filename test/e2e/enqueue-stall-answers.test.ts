// What a caller hears when routing does not answer within ROUTER_CALL_TIMEOUT_MS: POST .../queue/ gets 503 with
// a JSON detail, a customer chat socket is closed with 1013 (try again later), and the conversation is queued
// all the same: once the router answers, a reconnect hears its place. The stall is a seam (a router whose
// enqueueAndDispatch waits at a gate), never a timing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import type { Router } from '../../src/routing/port.ts';
import { chatPath, connect, http, openConversation, registerCustomer } from '../helpers/client.ts';
import { faulty, Gate } from '../helpers/faults.ts';
import { startServer, type TestServer } from '../helpers/server.ts';

describe('an enqueue whose router call does not answer in time', () => {
  let server: TestServer;
  const router = faulty<Router>(new MemoryRouter());
  const gates: Gate[] = [];
  before(async () => {
    server = await startServer({ router: router.proxy, env: { ROUTER_CALL_TIMEOUT_MS: '200' } });
  });
  after(async () => {
    for (const g of gates) g.open();
    await server.stop({ wipe: true });
  });

  /** Stalls the router call for this conversation until the returned gate opens. */
  const stallOn = (conversationId: string) => {
    const gate = new Gate();
    gates.push(gate);
    router.on('enqueueAndDispatch', async (real, entry) => {
      if (entry.conversationId === conversationId) await gate.pass();
      return real(entry);
    });
    return gate;
  };

  it('answers POST /queue/ with 503 and a JSON detail; the conversation is queued and gets its place once routing answers', async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const gate = stallOn(conv);
    const res = await http(server.url, 'POST', `/api/conversations/${conv}/queue/`, { token: cust.access });
    assert.equal(res.status, 503);
    assert.match(String(res.body.detail), /routing did not answer in time/i);
    assert.equal(res.headers.get('retry-after'), '1');
    assert.equal((await server.store.getConversation(conv))?.status, 'queued');
    gate.open();
    router.off('enqueueAndDispatch');
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    assert.equal((await c.waitType('queued')).position, 1);
    c.close();
  });

  it('closes a customer chat socket with 1013 and a reason; a reconnect hears its place', async () => {
    const cust = await registerCustomer(server.url);
    const conv = await openConversation(server.url, cust);
    const gate = stallOn(conv);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    assert.equal(await c.waitClose(), 1013);
    assert.match(c.closeReason, /routing did not answer in time/i);
    gate.open();
    router.off('enqueueAndDispatch');
    const again = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    assert.ok((await again.waitType('queued')).position >= 1);
    again.close();
  });
});
