// Two real instances on one PostgreSQL and a throwaway redis-server, through Redis faults: a real restart
// (the process killed and started again, empty), during which /readyz says not ready, after which the
// chats and the queue carry on; and a flush, after which nobody is requeued for presence until a full
// grace period has passed (a flush must not look like every rep leaving at once).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { killChild, type Instance, type ThrowawayRedis } from '../helpers/processes.ts';
import { scaledSkip, startScaledPair, type ScaledPair } from '../helpers/scaled-pair.ts';
import { eventually } from '../helpers/wait.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep } from '../helpers/client.ts';

const REP_GRACE_MS = 1500;
/** "Within 1 s after the grace period", plus room for a sweep and a busy machine. */
const PROMISE_SLACK_MS = 1000 + 600;

describe('scaled out through Redis faults', async () => {
  const skip = await scaledSkip();
  let pair: ScaledPair | undefined;
  let redis: ThrowawayRedis;
  let a: Instance;
  let b: Instance;

  before(async () => {
    if (skip) return;
    pair = await startScaledPair('redisfault', {
      REDIS_PREFIX: 'sbf',
      REP_GRACE_MS: String(REP_GRACE_MS),
      CUSTOMER_GRACE_MS: '60000',
    });
    ({ redis, a, b } = pair);
  });

  after(async () => {
    await pair?.stop();
  });

  const readiness = async (i: Instance) => {
    const r = await http(i.url, 'GET', '/readyz', { timeoutMs: 5000 });
    return { status: r.status, redis: r.body?.checks?.redis };
  };

  it('answers /readyz 503 while Redis is down and 200 once it is back; chats and the queue carry on', { skip: skip || false, timeout: 90_000 }, async () => {
    const rep = await registerRep(a.url, 1);
    const chat = await openChat(a, rep, b);
    const next = await registerCustomer(b.url);
    const nextConv = await openConversation(b.url, next);
    const waiting = connect(b.wsUrl, chatPath(nextConv), { token: next.access });
    assert.equal((await waiting.waitType('queued')).position, 1);
    chat.c.send({ type: 'message', text: 'before', client_id: 'm1' });
    await chat.r.waitFor((f) => f.type === 'message' && f.client_id === 'm1');
    for (const i of [a, b]) assert.deepEqual(await readiness(i), { status: 200, redis: 'ok' });

    await killChild(redis.child);
    for (const i of [a, b]) {
      await eventually(async () => (assert.deepEqual(await readiness(i), { status: 503, redis: 'error' }), true), { timeoutMs: 10_000, what: `${i.port} not ready` });
      assert.equal((await http(i.url, 'GET', '/healthz')).status, 200, 'alive all the same');
    }

    await redis.restart();
    for (const i of [a, b]) await eventually(async () => (assert.deepEqual(await readiness(i), { status: 200, redis: 'ok' }), true), { timeoutMs: 15_000, what: `${i.port} ready again` });

    // The chat carries on across the two instances: Redis came back empty, the store is the truth.
    chat.c.send({ type: 'message', text: 'after', client_id: 'm2' });
    const got = await chat.r.waitFor((f) => f.type === 'message' && f.client_id === 'm2', 15_000);
    assert.equal(got.seq, 2);
    chat.r.send({ type: 'message', text: 'reply', client_id: 'm3' });
    await chat.c.waitFor((f) => f.type === 'message' && f.client_id === 'm3', 15_000);
    // The queue was rebuilt from the store: the rep's close hands its slot to the customer who waited.
    assert.equal((await http(b.url, 'POST', `/api/conversations/${chat.conv}/close/`, { token: rep.access })).status, 200);
    assert.equal((await waiting.next('assigned', 15_000)).rep.id, rep.id);
    assert.equal((await http(a.url, 'POST', `/api/conversations/${nextConv}/close/`, { token: next.access })).status, 200);
    for (const s of [chat.c, chat.r, waiting]) s.close();
  });

  it('requeues nobody for presence until a full grace period after a flush', { skip: skip || false, timeout: 60_000 }, async () => {
    // More free slots than any rep of another case: this rep takes the chat.
    const rep = await registerRep(a.url, 50);
    const agent = connect(a.wsUrl, '/ws/agent/', { token: rep.access });
    await agent.waitType('queue');
    const cust = await registerCustomer(b.url);
    const conv = await openConversation(b.url, cust);
    const c = connect(b.wsUrl, chatPath(conv), { token: cust.access });
    assert.equal((await c.waitType('assigned')).rep.id, rep.id);

    // The rep leaves; halfway through its grace period, Redis loses everything.
    agent.close();
    await agent.waitClose();
    await new Promise((res) => setTimeout(res, REP_GRACE_MS / 2));
    const flushedAt = Date.now();
    await redis.client.flushall();
    const requeued = await c.next('queued', REP_GRACE_MS + PROMISE_SLACK_MS + 1000);
    const requeuedAt = Date.now();
    assert.ok(requeuedAt - flushedAt >= REP_GRACE_MS, `requeued ${requeuedAt - flushedAt} ms after the flush, before a full grace period`);
    assert.ok(requeuedAt - flushedAt <= REP_GRACE_MS + PROMISE_SLACK_MS, `requeued only ${requeuedAt - flushedAt} ms after the flush`);
    assert.equal(requeued.position, 1);
    assert.equal((await http(a.url, 'GET', '/api/reps/me/', { token: rep.access })).body.status, 'offline');
    // Nothing left for another case's reps to take.
    assert.equal((await http(b.url, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access })).status, 200);
    c.close();
  });
});
