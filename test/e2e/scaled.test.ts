// Three real instances on one PostgreSQL and a throwaway Redis behave as one service: 200 customers
// against capacity 30, a drain through a Redis FLUSHALL and a SIGKILL, cross-instance chat with resume,
// a SIGTERM drain, racing close and transfer, and shared presence. Lost events caught up from the store
// are in scaled-catch-up.test.ts.
import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../helpers/pg.ts';
import { printInstanceTails, requireRedisServer, startInstance, startRedis, type Instance, type ThrowawayRedis } from '../helpers/processes.ts';
import { drainByClosing } from '../helpers/drain.ts';
import { eventually } from '../helpers/wait.ts';
import { chatPath, connect, http, openChat, openConversation, registerCustomer, registerRep, type Account, type TestSocket } from '../helpers/client.ts';
import { raceCloseAndTransfer } from '../helpers/races.ts';
import { tabsOpenMidStream } from '../helpers/mid-stream.ts';

const SECRET = 'scaled-test-secret-long-enough-for-hs256-xx';
/** How far past a "within 1 s after the grace period" promise a check still accepts the action (real processes). */
const PROMISE_SLACK_MS = 600;

describe('scaled out: 3 instances, PostgreSQL + Redis', async () => {
  const skip = (await requirePostgres()) || (await requireRedisServer());
  let redis: ThrowawayRedis;
  let db: TempDatabase;
  let instances: Instance[] = [];
  let env: Record<string, string>;
  /** Every rep the tests register, so that a later test can take them out of routing. */
  const allReps: Account[] = [];

  before(async () => {
    if (skip) return;
    redis = await startRedis();
    db = await createTempDatabase('sbscaled');
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      REDIS_PREFIX: 'sbt',
      JWT_SECRET: SECRET,
      REP_GRACE_MS: '60000',
      CUSTOMER_GRACE_MS: '60000',
      RATE_REGISTER_PER_MIN: '100000',
      RATE_TOKEN_PER_MIN: '100000',
      // One test streams messages from one socket.
      WS_FRAMES_PER_S: '2000',
      // The race case gives one rep more slots than the default cap allows.
      MAX_REP_CAPACITY: '1000',
      // The mid-stream case opens many tabs for one user.
      MAX_SOCKETS_PER_USER: '1000',
    };
    instances = await Promise.all([startInstance(env), startInstance(env), startInstance(env)]);
  });

  // A failed case shows what the instances said (warnings and errors), so that a failure seen once in CI
  // can be understood without a rerun.
  let failed = false;
  afterEach((t) => {
    if ('passed' in t && !t.passed) failed = true;
  });

  after(async () => {
    if (skip) return;
    printInstanceTails(instances, failed);
    for (const i of instances) i.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await redis.stop();
    await db.drop();
  });

  const live = () => instances.filter((i) => i.proc.exitCode === null && i.proc.signalCode === null);
  const pick = () => {
    const l = live();
    return l[Math.floor(Math.random() * l.length)];
  };

  it('serves 200 customers against capacity 30 exactly once, through a FLUSHALL and a SIGKILL', { skip: skip || false, timeout: 240_000 }, async () => {
    const caps = [10, 8, 5, 4, 2, 1];
    const reps: Account[] = [];
    for (const cap of caps) reps.push(await registerRep(pick().url, cap));
    allReps.push(...reps);
    const customers = await Promise.all(Array.from({ length: 200 }, () => registerCustomer(pick().url)));
    const convs = await Promise.all(customers.map((c) => openConversation(pick().url, c)));
    const homes = customers.map(() => pick());
    const sockets: TestSocket[] = customers.map((c, i) => connect(homes[i].wsUrl, chatPath(convs[i]), { token: c.access }));
    const firsts = await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'assigned' || f.type === 'queued', 30_000)));
    const assigned = firsts.filter((f) => f.type === 'assigned');
    const queued = firsts.filter((f) => f.type === 'queued');
    assert.equal(assigned.length, 30, 'exactly 30 assigned');
    assert.equal(queued.length, 170);
    assert.deepEqual(
      queued.map((f) => f.position).sort((a, b) => a - b),
      Array.from({ length: 170 }, (_, i) => i + 1),
      'distinct positions',
    );
    // A pool: the rep workers query side by side.
    const client = new pg.Pool({ connectionString: db.url, max: 8 });
    try {
      const over = await client.query('select id from rep_profiles where load > max_capacity');
      assert.equal(over.rowCount, 0, 'no rep over capacity');

      // Customers whose instance dies reconnect elsewhere (a real client would).
      const servedFrames = new Map<string, number>();
      // A customer whose instance died before its assigned frame, and whose chat was served and closed
      // before it got back, learns the outcome from the 4409 of its reconnect: no assigned frame is owed.
      const closedWhileAway = new Set<string>();
      // Every socket each customer had, with where it went: a failed wait below prints the untold ones.
      const history = new Map<string, Array<{ url: string; s: TestSocket }>>();
      sockets.forEach((s, i) => history.set(convs[i], [{ url: homes[i].wsUrl, s }]));
      const watch = (i: number, s: TestSocket, reconnect = false) => {
        s.waitType('assigned', 200_000).then(
          () => servedFrames.set(convs[i], (servedFrames.get(convs[i]) ?? 0) + 1),
          () => undefined,
        );
        s.closedPromise.then((code) => {
          if (reconnect && code === 4409 && !s.ofType('assigned').length) closedWhileAway.add(convs[i]);
          if (code !== 1000 && code !== 4409 && live().length > 0 && !s.ofType('assigned').length) {
            const url = pick().wsUrl;
            const again = connect(url, chatPath(convs[i]), { token: customers[i].access });
            history.get(convs[i])!.push({ url, s: again });
            sockets[i] = again;
            watch(i, again, true);
          }
        });
      };
      sockets.forEach((s, i) => watch(i, s));

      let flushed = false;
      let killed = false;
      const progress = setInterval(async () => {
        if (!process.env.SCALED_DEBUG) return;
        const st = await client.query('select status, count(*)::int n from conversations group by status');
        const rp = await client.query('select id, load, max_capacity, status from rep_profiles order by id');
        console.error('progress', JSON.stringify(st.rows), JSON.stringify(rp.rows));
      }, 3000);
      const closes = await drainByClosing({
        reps,
        heldBy: async (rep) => (await client.query("select id from conversations where rep_id = $1 and status = 'assigned'", [rep.id])).rows.map((r) => r.id),
        nobodyWaits: async () => (await client.query("select count(*)::int as n from conversations where status in ('queued', 'new')")).rows[0].n === 0,
        wsUrl: () => pick().wsUrl,
        parallel: false,
        timeoutMs: 150_000,
        async onClosed(n) {
          if (n === 40 && !flushed) {
            flushed = true;
            await redis.client.flushall();
          }
          if (n === 90 && !killed) {
            killed = true;
            instances[0].kill('SIGKILL');
          }
        },
      }).finally(() => clearInterval(progress));
      assert.ok(flushed && killed, 'the faults happened during the drain');
      // A close in flight when its instance is SIGKILLed may commit unconfirmed (one a rep at most: each rep
      // closes one at a time); the store's count below shows every chat closed.
      assert.ok(closes <= 200 && closes >= 200 - reps.length, `${closes} confirmed closes for 200 chats`);

      const events = await client.query("select conversation_id, count(*)::int as n from conversation_events where kind = 'assigned' group by conversation_id");
      assert.equal(events.rowCount, 200, 'every customer was served');
      for (const r of events.rows) assert.equal(r.n, 1, `conversation ${r.conversation_id} served once`);
      const notClosed = await client.query("select count(*)::int as n from conversations where status <> 'closed'");
      assert.equal(notClosed.rows[0].n, 0);
      const closedEvents = await client.query("select conversation_id, count(*)::int as n from conversation_events where kind = 'closed' group by conversation_id");
      assert.equal(closedEvents.rowCount, 200, 'every chat was closed');
      for (const r of closedEvents.rows) assert.equal(r.n, 1, `conversation ${r.conversation_id} closed once`);
      const loads = await client.query('select load from rep_profiles');
      for (const r of loads.rows) assert.equal(r.load, 0, 'all 30 slots free');
      const told = () => convs.filter((c) => servedFrames.has(c) || closedWhileAway.has(c)).length;
      await eventually(() => told() === 200, { timeoutMs: 10_000, what: 'an assigned frame (or, back after the close, a 4409) for each of the 200 customers' }).catch(async (e: unknown) => {
        const killedUrl = instances[0].wsUrl;
        for (const conv of convs.filter((c) => !servedFrames.has(c) && !closedWhileAway.has(c))) {
          const ev = await client.query('select kind, rep_id, at from conversation_events where conversation_id = $1 order by id', [conv]);
          const tried = history.get(conv)!.map((h) => ({ killed: h.url === killedUrl, code: h.s.closeCode, frames: h.s.frames.map((f) => f.type) }));
          console.error('untold', conv, JSON.stringify(tried), JSON.stringify(ev.rows));
        }
        throw e;
      });
      assert.equal(told(), 200);
      for (const [conv, n] of servedFrames) assert.equal(n, 1, `one assigned frame for ${conv}`);
    } finally {
      await client.end();
      for (const s of sockets) s.close();
    }
  });

  /** At least `n` live instances (an earlier case may have killed some): starts what is missing. */
  const atLeast = async (n: number): Promise<Instance[]> => {
    while (live().length < n) instances.push(await startInstance(env));
    return live();
  };

  it('chats across two instances and resumes on a third', { skip: skip || false, timeout: 60_000 }, async () => {
    const [a, b, third] = await atLeast(3);
    // The most free slots wins: this rep outranks every rep of the earlier test.
    const rep = await registerRep(a.url, 50);
    allReps.push(rep);
    const { cust, conv, c, r } = await openChat(a, rep, b);
    c.send({ type: 'message', text: 'from A', client_id: 'x1' });
    await r.waitFor((f) => f.type === 'message' && f.message === 'from A');
    r.send({ message: 'from B' });
    await c.waitFor((f) => f.type === 'message' && f.message === 'from B');
    c.send({ type: 'typing', typing: true });
    await r.waitType('typing');
    c.close();
    for (let i = 0; i < 5; i++) r.send({ message: `later ${i}` });
    await r.waitFor((f) => f.type === 'message' && f.seq === 7);
    // Dedupe across instances: the retry lands elsewhere.
    const c2 = connect(b.wsUrl, chatPath(conv), { token: cust.access, query: 'last_seq=2' });
    await c2.waitFor((f) => f.type === 'message' && f.seq === 7);
    assert.deepEqual(c2.ofType('message').map((f) => f.seq), [3, 4, 5, 6, 7]);
    c2.send({ type: 'message', text: 'from A', client_id: 'x1' });
    const dup = await c2.waitFor((f) => f.type === 'message' && f.client_id === 'x1');
    assert.equal(dup.seq, 1);
    const c3 = connect(third.wsUrl, chatPath(conv), { token: cust.access, query: 'last_seq=5' });
    await c3.waitFor((f) => f.type === 'message' && f.seq === 7);
    r.send({ message: 'live' });
    await c3.waitFor((f) => f.type === 'message' && f.seq === 8);
    assert.deepEqual(c3.ofType('message').map((f) => f.seq), [6, 7, 8]);
    const detail = await http(third.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.equal(detail.body.messages.length, 8);
    for (const s of [r, c2, c3]) s.close();
  });

  it('gives tabs that open mid-stream on other instances every message stored after they opened, once and in order', { skip: skip || false, timeout: 90_000 }, async () => {
    const [a, b, third] = await atLeast(3);
    const rep = await registerRep(a.url, 52);
    allReps.push(rep);
    const { cust, conv, c: first, r } = await openChat(b, rep, a);
    await tabsOpenMidStream({
      rep: r,
      openTab: (n) => connect((n % 2 ? b : third).wsUrl, chatPath(conv), { token: cust.access }),
      total: 300,
      tabs: 16,
      burst: 5,
      pauseMs: 2,
      spacingMs: 8,
    });
    first.close();
    r.close();
  });

  it('drains on SIGTERM: sockets get 1012, reconnect elsewhere, nothing lost', { skip: skip || false, timeout: 60_000 }, async () => {
    const extra = await startInstance(env);
    instances.push(extra);
    const other = live().find((i) => i !== extra)!;
    const rep = await registerRep(other.url, 60);
    allReps.push(rep);
    const { cust, conv, c, r } = await openChat(extra, rep, other);
    for (let i = 1; i <= 10; i++) c.send({ type: 'message', text: `m${i}`, client_id: `d${i}` });
    await c.waitFor((f) => f.type === 'message' && f.seq === 3);
    extra.kill('SIGTERM');
    assert.equal(await c.waitClose(10_000), 1012);
    assert.equal(await extra.exited, 0, 'exit 0 after the drain');
    const acked = c.ofType('message').map((f) => f.seq);
    const back = connect(other.wsUrl, chatPath(conv), { token: cust.access, query: `last_seq=${acked.length}` });
    await back.opened;
    back.send({ type: 'message', text: 'after', client_id: 'after' });
    const after = await back.waitFor((f) => f.type === 'message' && f.client_id === 'after');
    const detail = await http(other.url, 'GET', `/api/conversations/${conv}/messages/?limit=100`, { token: cust.access });
    const seqs = detail.body.map((m: any) => m.seq).sort((x: number, y: number) => x - y);
    assert.deepEqual(seqs, Array.from({ length: after.seq }, (_, i) => i + 1), 'gapless, nothing lost');
    await r.waitFor((f) => f.type === 'message' && f.client_id === 'after');
    back.close();
    r.close();
  });

  it('lets a rep close or transfer a chat, never both, when the two requests race through different instances', { skip: skip || false, timeout: 90_000 }, async () => {
    const [a, b] = live();
    // Far more free slots than any earlier rep: it takes every new chat.
    const holder = await registerRep(a.url, 500);
    const other = await registerRep(b.url, 30);
    allReps.push(holder, other);
    const { closed, transferred } = await raceCloseAndTransfer({ http: [a.url, b.url], ws: a.wsUrl }, holder, other, 16);
    assert.equal(closed + transferred, 16);
    assert.ok(closed >= 1 && transferred >= 1, `both outcomes happened, so the requests raced (closed ${closed}, transferred ${transferred})`);
  });

  it('shares presence: a rep whose only instance is killed goes offline after the grace, one with another socket does not', { skip: skip || false, timeout: 60_000 }, async () => {
    const short = { ...env, REP_GRACE_MS: '1000', CUSTOMER_GRACE_MS: '1500' };
    // Only this test's reps take chats.
    for (const r of allReps) assert.equal((await http(live()[0].url, 'PATCH', '/api/reps/me/', { token: r.access, body: { status: 'offline' } })).status, 200);
    const [x, y] = await Promise.all([startInstance(short), startInstance(short)]);
    instances.push(x, y);
    try {
      const busy = await registerRep(y.url, 70);
      const steady = await registerRep(y.url, 80);
      // `steady` holds agent sockets on both new instances; `busy` only on x.
      const steadyX = connect(x.wsUrl, '/ws/agent/', { token: steady.access });
      const steadyY = connect(y.wsUrl, '/ws/agent/', { token: steady.access });
      const busyX = connect(x.wsUrl, '/ws/agent/', { token: busy.access });
      await Promise.all([steadyX.waitType('queue'), steadyY.waitType('queue'), busyX.waitType('queue')]);
      const c1 = await registerCustomer(y.url);
      const conv1 = await openConversation(y.url, c1);
      const w1 = connect(y.wsUrl, chatPath(conv1), { token: c1.access });
      const a1 = await w1.waitType('assigned');
      assert.equal(a1.rep.id, steady.id, 'the most free slots');
      await http(y.url, 'PATCH', '/api/reps/me/', { token: steady.access, body: { max_capacity: 1 } });
      const c2 = await registerCustomer(y.url);
      const conv2 = await openConversation(y.url, c2);
      const w2 = connect(y.wsUrl, chatPath(conv2), { token: c2.access });
      const a2 = await w2.waitType('assigned');
      assert.equal(a2.rep.id, busy.id);

      x.kill('SIGKILL');
      await x.exited;
      // busy's only socket died with x: its chat goes back to the queue within 1 s after the grace period
      // (which started no later than the kill), checked with a bound a little past that promise.
      const requeued = await w2.next('queued', 1000 + 1000 + PROMISE_SLACK_MS);
      // Chats of the reps taken offline above may wait ahead of it.
      assert.ok(requeued.position >= 1);
      const me = await http(y.url, 'GET', '/api/reps/me/', { token: busy.access });
      assert.equal(me.body.status, 'offline');
      const steadyMe = await http(y.url, 'GET', '/api/reps/me/', { token: steady.access });
      assert.equal(steadyMe.body.status, 'online', 'a socket on another instance keeps the rep present');
      assert.equal(steadyMe.body.load, 1);
      // The queued customer leaves: it abandons after its grace, whichever instance notices.
      w2.close();
      await eventually(async () => (await http(y.url, 'GET', `/api/conversations/${conv2}/`, { token: c2.access })).body.status === 'abandoned', {
        timeoutMs: 1500 + 1000 + PROMISE_SLACK_MS,
        intervalMs: 100,
        what: 'abandoned',
      });
      for (const sck of [steadyY, w1]) sck.close();
    } finally {
      y.kill('SIGTERM');
      await y.exited;
    }
  });
});
