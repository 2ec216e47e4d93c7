// The per-user and per-address limits hold across instances: two real instances on one PostgreSQL and a
// throwaway Redis count one budget for sockets, messages, upgrades and open conversations, and sweep
// unopened chats back to the queue once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Instance } from '../helpers/processes.ts';
import { scaledSkip, startScaledPair, type ScaledPair } from '../helpers/scaled-pair.ts';
import { eventually } from '../helpers/wait.ts';
import WebSocket from 'ws';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, TestSocket } from '../helpers/client.ts';

const UPGRADES_PER_MIN = 30;

describe('scaled out: limits across 2 instances', async () => {
  // Like the other scaled suites: skipped (or failed, under CI) without PostgreSQL or a redis-server binary.
  const skip = await scaledSkip();
  let pair: ScaledPair | undefined;
  let a: Instance;
  let b: Instance;
  // The other cases connect from 127.0.0.1 well within the budget; the upgrade case has 127.0.0.2 to itself.
  const open = (inst: Instance, path: string, token: string): TestSocket => connect(inst.wsUrl, path, { token });
  const ready = async (s: TestSocket) => {
    await s.opened;
    s.send({ type: 'ping' });
    await s.waitType('pong');
  };

  before(async () => {
    if (skip) return;
    pair = await startScaledPair('limits', {
      WS_FRAMES_PER_S: '1000',
      MAX_SOCKETS_PER_USER: '2',
      MESSAGES_PER_USER_PER_S: '5',
      RATE_WS_UPGRADES_PER_MIN: String(UPGRADES_PER_MIN),
      MAX_OPEN_CONVERSATIONS: '2',
      ACCEPT_TIMEOUT_MS: '2000',
    });
    ({ a, b } = pair);
  });

  after(async () => {
    await pair?.stop();
  });

  it('a user holds at most MAX_SOCKETS_PER_USER sockets over both instances', { skip }, async () => {
    const cust = await registerCustomer(a.url);
    const conv = await openConversation(a.url, cust);
    const one = open(a, chatPath(conv), cust.access);
    await ready(one);
    const two = open(b, chatPath(conv), cust.access);
    await ready(two);
    for (const inst of [a, b]) {
      const extra = open(inst, chatPath(conv), cust.access);
      await extra.opened;
      assert.equal(await extra.waitClose(), 1008, `refused on ${inst.port}`);
      assert.equal(extra.closeReason, 'too many sockets');
    }
    one.close();
    two.close();
    await http(a.url, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access });
  });

  it("a user's sockets on both instances share MESSAGES_PER_USER_PER_S", { skip }, async () => {
    const cust = await registerCustomer(a.url);
    const conv = await openConversation(a.url, cust);
    const s1 = open(a, chatPath(conv), cust.access);
    const s2 = open(b, chatPath(conv), cust.access);
    await Promise.all([ready(s1), ready(s2)]);
    for (let i = 0; i < 10; i++) {
      s1.send({ type: 'message', text: `a${i}` });
      s2.send({ type: 'message', text: `b${i}` });
    }
    const errors = () => s1.ofType('error').length + s2.ofType('error').length;
    // Each socket sends 10, within its own budget of 5 a second only if the budget were per instance.
    await eventually(async () => (await http(a.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access })).body.messages.length + errors() >= 20, {
      timeoutMs: 15_000,
      intervalMs: 50,
      what: 'every message stored or refused',
    });
    const stored = (await http(a.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access })).body.messages.length;
    assert.ok(errors() > 0, 'some messages were refused');
    assert.ok(stored <= 10, `at most two windows' worth stored, not one per instance (${stored})`);
    assert.equal(stored + errors(), 20);
    s1.close();
    s2.close();
    await http(a.url, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access });
  });

  it('MAX_OPEN_CONVERSATIONS holds for opens racing on both instances', { skip }, async () => {
    const cust = await registerCustomer(a.url);
    const tries = await Promise.all([a, b, a, b, a, b].map((i) => http(i.url, 'POST', '/api/conversations/', { token: cust.access, body: {} })));
    assert.deepEqual(tries.map((r) => r.status).sort(), [201, 201, 409, 409, 409, 409]);
    for (const r of tries.filter((t) => t.status === 201)) await http(a.url, 'POST', `/api/conversations/${r.body.id}/close/`, { token: cust.access });
  });

  it('an unopened chat goes back to the queue once, with both instances sweeping', { skip }, async () => {
    const idle = await registerRep(a.url, 3);
    const cust = await registerCustomer(b.url);
    const conv = await openConversation(b.url, cust);
    const c = open(b, chatPath(conv), cust.access);
    assert.equal((await c.waitType('assigned')).rep.username, idle.username);
    await c.waitType('queued');
    assert.equal((await http(a.url, 'GET', '/api/reps/me/', { token: idle.access })).body.status, 'away');
    const next = await registerRep(b.url, 1);
    await c.waitFor((f) => f.type === 'assigned' && f.rep.username === next.username);
    const r = open(a, chatPath(conv), next.access);
    await ready(r);
    assert.equal(c.ofType('queued').length, 1, 'requeued once');
    c.close();
    r.close();
  });

  it('upgrades from one address share RATE_WS_UPGRADES_PER_MIN over both instances', { skip }, async () => {
    const cust = await registerCustomer(a.url);
    const results: number[] = [];
    // Alternate instances until the budget is spent, plus two more.
    for (let i = 0; i < UPGRADES_PER_MIN + 2; i++) {
      const inst = i % 2 === 0 ? a : b;
      const s = new TestSocket(new WebSocket(`${inst.wsUrl}/ws/agent/`, { headers: { authorization: `Bearer ${cust.access}` }, localAddress: '127.0.0.2' }));
      await s.opened;
      results.push(await s.waitClose());
    }
    // A customer on /ws/agent/ gets 4403 while within budget; the address's budget ends at the same count on both.
    assert.deepEqual(results.slice(-2), [1013, 1013]);
    assert.ok(results.slice(0, -2).every((code) => code === 4403), JSON.stringify(results));
  });
});
