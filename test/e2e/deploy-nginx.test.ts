// The shipped deploy/nginx.conf in front of 2 real instances on PostgreSQL + Redis, as the compose stack
// runs them (TRUST_PROXY=1): a chat across the replicas, oversized frames closed with 1009 every time
// (not 1006), a spoofed X-Forwarded-For that neither escapes the login limit nor shows in the logs, the
// access log without query strings, and a SIGTERM whose clients resume through nginx with nothing lost.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { createTempDatabase, requirePostgres, type TempDatabase } from '../helpers/pg.ts';
import { requireRedis, TEST_REDIS_URL, uniquePrefix } from '../helpers/redis.ts';
import { startInstance, type Instance } from '../helpers/processes.ts';
import { requireNginx, startNginx, type RunningNginx } from '../helpers/nginx.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, type Account, type TestSocket } from '../helpers/client.ts';

const SPOOFED = '203.0.113.77';
const OVERSIZED_TRIES = 20;

describe('deploy/nginx.conf in front of 2 instances', async () => {
  const skip = (await requirePostgres()) || (await requireRedis()) || requireNginx();
  let db: TempDatabase;
  let instances: Instance[] = [];
  let nginx: RunningNginx;

  before(async () => {
    if (skip) return;
    db = await createTempDatabase('sbnginx');
    const env = {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_PREFIX: uniquePrefix('sbnginx'),
      JWT_SECRET: 'nginx-test-secret-long-enough-for-hs256-xxxx',
      TRUST_PROXY: '1',
      LOG_LEVEL: 'info',
      REP_GRACE_MS: '60000',
      CUSTOMER_GRACE_MS: '60000',
      RATE_REGISTER_PER_MIN: '100000',
      RATE_TOKEN_PER_MIN: '100000',
    };
    instances = await Promise.all([startInstance(env), startInstance(env)]);
    nginx = await startNginx(instances.map((i) => `127.0.0.1:${i.port}`));
  });

  after(async () => {
    if (skip) return;
    await nginx?.stop();
    for (const i of instances) i.kill('SIGKILL');
    await Promise.all(instances.map((i) => i.exited));
    await db?.drop();
  });

  /** How many sockets of this user on this conversation each instance has set up (its 'socket ready' log lines). */
  const readyCounts = (userId: number, conv: string) =>
    instances.map((i) => i.output.join('').split('\n').filter((l) => l.includes('"socket ready"') && l.includes(`"userId":${userId}`) && l.includes(conv)).length);
  /** Which instance set up this user's latest socket: the one whose count grew since `before`. */
  const homeOf = (userId: number, conv: string, before: number[] = instances.map(() => 0)) => {
    const now = readyCounts(userId, conv);
    return now.findIndex((n, k) => n > before[k]);
  };

  let rep: Account;
  let chat: { cust: Account; conv: string; c: TestSocket; r: TestSocket; custHome: number };

  it('carries a chat between a customer and a rep on different replicas', { skip: skip || false, timeout: 60_000 }, async () => {
    rep = await registerRep(nginx.url, 5);
    const cust = await registerCustomer(nginx.url);
    const conv = await openConversation(nginx.url, cust);
    const c = connect(nginx.wsUrl, chatPath(conv), { token: cust.access, header: false });
    await c.waitType('assigned');
    // Round robin: a few tries put the rep's socket on the replica the customer's is not on.
    let r: TestSocket | undefined;
    let custHome = -1;
    for (let attempt = 0; attempt < 6; attempt++) {
      // A socket closed on one replica leaves its log line there: only the count that grows names this one.
      const before = readyCounts(rep.userId, conv);
      const s = connect(nginx.wsUrl, chatPath(conv), { token: rep.access });
      await s.opened;
      s.send({ type: 'ping' });
      await s.waitType('pong');
      custHome = homeOf(cust.userId, conv);
      const repHome = homeOf(rep.userId, conv, before);
      if (custHome >= 0 && repHome >= 0 && custHome !== repHome) {
        r = s;
        break;
      }
      s.close();
      await s.waitClose();
    }
    assert.ok(r, 'the rep reached the other replica through nginx');
    c.send({ type: 'message', text: 'hello from the customer', client_id: 'c1' });
    await r.waitFor((f) => f.type === 'message' && f.message === 'hello from the customer');
    r.send({ type: 'message', text: 'hello from the rep', client_id: 'r1' });
    await c.waitFor((f) => f.type === 'message' && f.message === 'hello from the rep');
    chat = { cust, conv, c, r, custHome };
  });

  it(`closes a 1 MiB frame with 1009 through nginx, ${OVERSIZED_TRIES} times out of ${OVERSIZED_TRIES}`, { skip: skip || false, timeout: 120_000 }, async () => {
    const codes: number[] = [];
    for (let i = 0; i < OVERSIZED_TRIES; i++) {
      const ws = new WebSocket(`${nginx.wsUrl}/ws/agent/`, { headers: { authorization: `Bearer ${rep.access}` } });
      const code = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no close within 20 s')), 20_000);
        ws.on('error', () => undefined);
        ws.on('close', (c) => {
          clearTimeout(timer);
          resolve(c);
        });
        ws.on('message', (data) => {
          // The snapshot says the socket is set up; then the oversized frame goes.
          if (JSON.parse(data.toString()).type === 'queue' && ws.readyState === ws.OPEN) ws.send('x'.repeat(1024 * 1024));
        });
      });
      codes.push(code);
    }
    assert.deepEqual(codes, Array(OVERSIZED_TRIES).fill(1009));
    // The chat on the same replicas goes on.
    chat.c.send({ type: 'message', text: 'still here', client_id: 'c2' });
    await chat.r.waitFor((f) => f.type === 'message' && f.message === 'still here');
  });

  it('counts a client that spoofs X-Forwarded-For against one login budget, and logs the address nginx saw', { skip: skip || false, timeout: 30_000 }, async () => {
    const remaining: number[] = [];
    for (let i = 0; i < 4; i++) {
      const res = await http(nginx.url, 'POST', '/auth/token/', {
        body: { username: 'nobody-here', password: 'wrong' },
        headers: { 'x-forwarded-for': `198.51.100.${i + 1}, ${SPOOFED}` },
      });
      assert.equal(res.status, 401);
      remaining.push(Number(res.headers.get('x-ratelimit-remaining')));
    }
    // One budget whatever the header said: each attempt takes one from the same count.
    for (let i = 1; i < remaining.length; i++) assert.equal(remaining[i], remaining[i - 1] - 1, `budget ${JSON.stringify(remaining)}`);
    const logs = instances.map((i) => i.output.join('')).join('\n');
    const requestLines = logs.split('\n').filter((l) => l.includes('"msg":"request"') && l.includes('/auth/token/'));
    assert.ok(requestLines.length >= 4, 'the login attempts were logged');
    for (const line of requestLines) assert.match(line, /"ip":"127\.0\.0\.1"/);
    assert.ok(!logs.includes(SPOOFED) && !logs.includes('198.51.100.'), 'no spoofed address in the app logs');
  });

  it('drains a replica on SIGTERM: its client resumes through nginx on the other, nothing lost', { skip: skip || false, timeout: 60_000 }, async () => {
    const { cust, conv, c, r, custHome } = chat;
    const before = c.ofType('message').length;
    for (let i = 1; i <= 10; i++) c.send({ type: 'message', text: `m${i}`, client_id: `d${i}` });
    await c.waitFor((f) => f.type === 'message' && f.client_id === 'd3');
    const victim = instances[custHome];
    victim.kill('SIGTERM');
    assert.equal(await c.waitClose(15_000), 1012);
    assert.equal(await victim.exited, 0, 'exit 0 after the drain');
    const seen = c.ofType('message').map((f) => f.seq as number);
    assert.ok(seen.length > before);
    const lastSeq = Math.max(...seen);
    // nginx finds the drained replica gone and passes the reconnect to the other one.
    const back = connect(nginx.wsUrl, chatPath(conv), { token: cust.access, header: false, query: `last_seq=${lastSeq}` });
    await back.opened;
    back.send({ type: 'message', text: 'after', client_id: 'after' });
    const afterFrame = await back.waitFor((f) => f.type === 'message' && f.client_id === 'after');
    const history = await http(nginx.url, 'GET', `/api/conversations/${conv}/messages/?limit=100`, { token: cust.access });
    assert.equal(history.status, 200);
    const seqs = history.body.map((m: any) => m.seq).sort((x: number, y: number) => x - y);
    assert.deepEqual(seqs, Array.from({ length: afterFrame.seq }, (_, i) => i + 1), 'gapless');
    const texts = history.body.map((m: any) => m.text);
    for (let i = 1; i <= 10; i++) assert.ok(texts.includes(`m${i}`), `m${i} was stored`);
    // Everything after the resume point reached the resumed socket, in order, once.
    const resumed = back.ofType('message').map((f) => f.seq);
    assert.deepEqual(resumed, Array.from({ length: afterFrame.seq - lastSeq }, (_, i) => lastSeq + 1 + i));
    await r.waitFor((f) => f.type === 'message' && f.client_id === 'after');
    back.close();
    r.close();
  });

  it('keeps ?token= out of the access log', { skip: skip || false }, async () => {
    // nginx writes a socket's line when it ends: by now the chat sockets above have.
    const log = nginx.accessLog();
    assert.match(log, /GET \/ws\/customer_support\/[0-9a-f-]+\/ HTTP/);
    assert.ok(!log.includes('token='), 'no query string in the access log');
    assert.ok(!log.includes(chat.cust.access), 'no token in the access log');
  });
});
