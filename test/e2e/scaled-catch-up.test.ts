// Events lost between a commit and the sockets it concerns, caught up from the store, across real instances on
// one PostgreSQL and a throwaway Redis: the fan-out cut off (messages in order then the close; a transfer), and an
// instance killed between a commit and its publish (its peers notice its stamp go stale and catch up).
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { printInstanceTails, startInstance, type Instance } from '../helpers/processes.ts';
import { scaledSkip, startScaledPair, type ScaledPair } from '../helpers/scaled-pair.ts';
import { eventually } from '../helpers/wait.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { openPostgres } from '../../src/store/open.ts';

describe('scaled out: catching up lost events from the store', async () => {
  const skip = await scaledSkip();
  let pair: ScaledPair;
  /** Instances a case started beside the pair. */
  const extra: Instance[] = [];
  /** Every rep the tests register, so that a later test can take them out of routing. */
  const allReps: Account[] = [];

  before(async () => {
    if (!skip) pair = await startScaledPair('catchup', { REP_GRACE_MS: '60000', CUSTOMER_GRACE_MS: '60000' });
  });

  let failed = false;
  afterEach((t) => {
    if ('passed' in t && !t.passed) failed = true;
  });

  after(async () => {
    if (skip) return;
    printInstanceTails([pair.a, pair.b, ...extra], failed);
    for (const i of extra) i.kill('SIGKILL');
    await Promise.all(extra.map((i) => i.exited));
    await pair.stop();
  });

  const live = () => [pair.a, pair.b, ...extra].filter((i) => i.proc.exitCode === null && i.proc.signalCode === null);
  const subscriberCount = async () => ((await pair.redis.client.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string).trim().split('\n').filter(Boolean).length;

  /** Every instance's subscriber loses its connection and cannot come back until the returned function runs. */
  const cutEveryInstanceOffTheFanOut = async (): Promise<() => Promise<void>> => {
    const [, before] = (await pair.redis.client.config('GET', 'maxclients')) as [string, string];
    const clients = ((await pair.redis.client.call('CLIENT', 'LIST')) as string).trim().split('\n').length;
    const subscribers = ((await pair.redis.client.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string).trim().split('\n').length;
    await pair.redis.client.config('SET', 'maxclients', String(clients - subscribers));
    await pair.redis.client.client('KILL', 'TYPE', 'pubsub');
    await eventually(async () => (await subscriberCount()) === 0, { what: 'every subscriber cut off' });
    return async () => {
      // Proof that nothing could have crossed the fan-out meanwhile: no subscriber was connected.
      assert.equal(await subscriberCount(), 0, 'no instance got back onto the fan-out during the gap');
      await pair.redis.client.config('SET', 'maxclients', before);
    };
  };

  it('catches up from the store when the fan-out lost events: messages in order, then the close', { skip: skip || false, timeout: 60_000 }, async () => {
    const [a, b] = live();
    const rep = await registerRep(a.url, 55);
    allReps.push(rep);
    const { cust, conv, c, r } = await openChat(a, rep, b);
    c.send({ type: 'message', text: 'before', client_id: 'g0' });
    await r.waitFor((f) => f.type === 'message' && f.seq === 1);

    const restore = await cutEveryInstanceOffTheFanOut();
    try {
      for (let i = 1; i <= 3; i++) c.send({ type: 'message', text: `in the gap ${i}`, client_id: `g${i}` });
      await eventually(async () => (await http(b.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access })).body.messages.length === 4, {
        timeoutMs: 10_000,
        what: 'the messages stored during the gap',
      });
      assert.equal((await http(a.url, 'POST', `/api/conversations/${conv}/close/`, { token: rep.access })).status, 200);
    } finally {
      await restore();
    }
    for (const s of [c, r]) {
      assert.equal(await s.waitClose(15_000), 1000);
      assert.deepEqual(s.ofType('message').map((f) => f.seq), [1, 2, 3, 4], 'every message once, in order');
      const types = s.frames.map((f) => f.type);
      assert.equal(types.at(-1), 'closed', 'closed comes last');
    }
  });

  it('catches up a transfer the fan-out lost: the customer learns its new rep, the old rep is let go', { skip: skip || false, timeout: 60_000 }, async () => {
    const [a, b] = live();
    const first = await registerRep(a.url, 56);
    allReps.push(first);
    const { cust, conv, c, r, assigned } = await openChat(a, first, b);
    assert.equal(assigned.rep.id, first.id);
    const second = await registerRep(b.url, 5);
    allReps.push(second);
    // Each rep's console, on the instance the other rep's chat socket is not on.
    const firstAgent = connect(b.wsUrl, '/ws/agent/', { token: first.access });
    const secondAgent = connect(a.wsUrl, '/ws/agent/', { token: second.access });
    await firstAgent.waitType('queue');
    await secondAgent.waitType('queue');

    const restore = await cutEveryInstanceOffTheFanOut();
    try {
      assert.equal((await http(a.url, 'POST', `/api/conversations/${conv}/transfer/`, { token: first.access, body: { to_rep: second.id } })).status, 200);
    } finally {
      await restore();
    }
    const now = await c.waitFor((f) => f.type === 'assigned' && f.rep.id === second.id, 15_000);
    assert.equal(now.conversation, conv);
    assert.equal(await r.waitClose(15_000), 1000);
    assert.deepEqual(r.ofType('unassigned').map((f) => f.reason), ['transfer']);
    // The consoles hear what the fan-out lost: the new rep its new chat, the old rep its loss, once each.
    const toSecond = await secondAgent.waitFor((f) => f.type === 'assigned' && f.conversation === conv, 15_000);
    assert.equal(toSecond.customer.id, cust.id);
    const fromFirst = await firstAgent.waitFor((f) => f.type === 'unassigned' && f.conversation === conv, 15_000);
    assert.equal(fromFirst.reason, 'transfer');
    // Markers: each console's pong comes after anything its instance had to send it.
    await secondAgent.settle(0);
    await firstAgent.settle(0);
    assert.equal(secondAgent.ofType('assigned').length, 1);
    assert.equal(firstAgent.ofType('unassigned').length, 1);
    // Leave nothing open for later tests: the customer ends the chat, the consoles go.
    assert.equal((await http(b.url, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access })).status, 200);
    for (const s of [c, firstAgent, secondAgent]) s.close();
  });

  it('catches up what an instance committed and never published when it is killed: the customer and the rep\'s console hear the assignment', { skip: skip || false, timeout: 60_000 }, async () => {
    // Only this test's rep takes chats.
    for (const r of allReps) assert.equal((await http(live()[0].url, 'PATCH', '/api/reps/me/', { token: r.access, body: { status: 'offline' } })).status, 200);
    const victim = await startInstance(pair.env);
    extra.push(victim);
    const [a, b] = live().filter((i) => i !== victim);
    const rep = await registerRep(a.url, 0);
    allReps.push(rep);
    const agent = connect(b.wsUrl, '/ws/agent/', { token: rep.access });
    await agent.waitType('queue');
    const cust = await registerCustomer(a.url);
    const conv = await openConversation(a.url, cust);
    const c = connect(a.wsUrl, chatPath(conv), { token: cust.access });
    await c.waitType('queued');
    // What the victim did before it died: it committed the assignment (the store's own transaction, R1) and
    // never published it.
    const pool = new pg.Pool({ connectionString: pair.db.url, max: 1 });
    const store = await openPostgres({ url: pair.db.url, poolSize: 1 });
    try {
      await pool.query('update rep_profiles set max_capacity = 1 where id = $1', [rep.id]);
      const result = await store.assign(conv, rep.id, Date.now());
      assert.ok(result.ok, 'the assignment committed');
    } finally {
      await store.close();
      await pool.end();
    }
    assert.deepEqual((await c.settle(0)).map((f) => f.type), ['queued'], 'nothing announced the assignment');
    assert.deepEqual((await agent.settle(0)).filter((f) => f.type === 'assigned'), []);
    victim.kill('SIGKILL');
    await victim.exited;
    const told = await c.waitType('assigned', 15_000);
    assert.equal(told.rep.id, rep.id);
    const console = await agent.waitFor((f) => f.type === 'assigned' && f.conversation === conv, 15_000);
    assert.equal(console.customer.id, cust.id);
    assert.equal((await http(b.url, 'POST', `/api/conversations/${conv}/close/`, { token: rep.access })).status, 200);
    for (const sck of [c, agent]) sck.close();
  });
});
