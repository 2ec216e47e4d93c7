// The admin endpoints the supervisor view added: live figures and service measures (also in /metrics), the
// queue's last hour, the conversation search and the transcript export. The measures are checked against a
// scenario seeded at chosen times (numbers worked out by hand) and against a session run through the API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openSqlite } from '../../src/store/open.ts';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, openChat, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { assertClientError, createAdmin } from '../helpers/http-fixtures.ts';
import { EXPECTED, seedScenario, WAITS, type Scenario } from '../helpers/reporting-scenario.ts';
import { eventually } from '../helpers/wait.ts';

const METRICS_TOKEN = 'metrics-token-for-the-console-tests';

/** A gauge's value in Prometheus text, or undefined when it has none. */
function gauge(text: string, name: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const metrics = async (base: string) => {
  const res = await http(base, 'GET', '/metrics', { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
  assert.equal(res.status, 200);
  return res.body as string;
};

const round3 = (x: number) => Math.round(x * 1000) / 1000;

describe('admin reports on a seeded scenario', () => {
  let server: TestServer;
  let admin: Account;
  let sc: Scenario;
  let t0: number;

  before(async () => {
    // Seeded before the server starts, twenty minutes back: the whole scenario is inside the last hour.
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-test-'));
    const store = await openSqlite({ file: join(dataDir, 'switchboard.sqlite3') });
    t0 = Date.now() - 20 * 60_000;
    sc = await seedScenario(store, t0);
    await store.close();
    server = await startServer({ dataDir, env: { METRICS_TOKEN } });
    admin = await createAdmin(server.url, server.store);
  });
  after(async () => server?.stop({ wipe: true }));

  test('stats give the measures worked out by hand; a window that misses the scenario gives none', async () => {
    const res = await http(server.url, 'GET', '/api/admin/stats/', { token: admin.access });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    const s = res.body;
    assert.equal(s.window_s, 3600);
    assert.deepEqual(s.first_response, { mean_s: EXPECTED.firstResponse.meanS, median_s: EXPECTED.firstResponse.medianS, count: EXPECTED.firstResponse.count });
    assert.deepEqual(s.handle_time, { mean_s: EXPECTED.handle.meanS, median_s: EXPECTED.handle.medianS, count: EXPECTED.handle.count });
    assert.deepEqual(s.abandonment, EXPECTED.abandonment);
    assert.deepEqual(s.rating, EXPECTED.rating);
    assert.deepEqual(s.conversations, EXPECTED.openCounts);
    assert.equal(s.reps_online, 0, 'both reps are away');
    assert.deepEqual(
      s.reps.map((r: { username: string; status: string; load: number; max_capacity: number }) => [r.username, r.status, r.load, r.max_capacity]),
      [
        [sc.reps[0].username, 'away', 0, 5],
        [sc.reps[1].username, 'away', 1, 5],
      ],
    );
    // The last minute holds none of it (the scenario ended ten minutes ago).
    const recent = (await http(server.url, 'GET', '/api/admin/stats/?window_s=60', { token: admin.access })).body;
    assert.deepEqual([recent.first_response.count, recent.handle_time.count, recent.abandonment.ratio, recent.rating.count], [0, 0, null, 0]);
    assertClientError(await http(server.url, 'GET', '/api/admin/stats/?window_s=59', { token: admin.access }), 400, 'a window under a minute');
    assertClientError(await http(server.url, 'GET', '/api/admin/stats/?window_s=abc', { token: admin.access }), 400, 'a window that is not a number');
  });

  test('/metrics exports the same three measures', async () => {
    const text = await metrics(server.url);
    assert.equal(gauge(text, 'switchboard_first_response_seconds'), EXPECTED.firstResponse.meanS);
    assert.equal(gauge(text, 'switchboard_handle_time_seconds'), EXPECTED.handle.meanS);
    assert.equal(gauge(text, 'switchboard_abandonment_ratio'), EXPECTED.abandonment.ratio);
  });

  test("the time series replays the scenario's waits at every step", async () => {
    const res = await http(server.url, 'GET', '/api/admin/timeseries/?minutes=60&step_s=60', { token: admin.access });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.step_s, 60);
    assert.equal(res.body.points.length, 60);
    const expected = res.body.points.map((p: { at: string }) => {
      const rel = (Date.parse(p.at) - t0) / 1000;
      const waiting = WAITS.filter((w) => w.start <= rel && w.end > rel);
      const done = WAITS.filter((w) => w.assigned && w.end > rel - 60 && w.end <= rel).map((w) => w.end - w.start);
      return {
        at: p.at,
        queue_length: waiting.length,
        longest_wait_s: waiting.length ? Math.round(Math.max(...waiting.map((w) => rel - w.start))) : 0,
        mean_wait_s: done.length ? round3(done.reduce((a, b) => a + b, 0) / done.length) : null,
        assigned: done.length,
      };
    });
    assert.deepEqual(res.body.points, expected);
    // Not a vacuous match: the scenario shows in the series.
    assert.ok(expected.some((p: { queue_length: number }) => p.queue_length > 0));
    assert.equal(
      expected.reduce((n: number, p: { assigned: number }) => n + p.assigned, 0),
      4,
    );
    // A day in five-second steps would be 17280 points: the step grows to keep 1440.
    const day = await http(server.url, 'GET', '/api/admin/timeseries/?minutes=1440&step_s=5', { token: admin.access });
    assert.equal(day.body.step_s, 60);
    assert.equal(day.body.points.length, 1440);
    for (const q of ['minutes=0', 'minutes=1441', 'step_s=4', 'step_s=3601', 'minutes=x']) {
      assertClientError(await http(server.url, 'GET', `/api/admin/timeseries/?${q}`, { token: admin.access }), 400, q);
    }
  });
});

describe('admin reports on a session run through the API', () => {
  let server: TestServer;
  let base: string;
  let admin: Account;

  before(async () => {
    server = await startServer({ env: { METRICS_TOKEN, CUSTOMER_GRACE_MS: '200' } });
    base = server.url;
    admin = await createAdmin(base, server.store);
  });
  after(async () => server?.stop({ wipe: true }));

  test('every admin report is 401 without a token and 403 for customers and reps', async () => {
    const cust = await registerCustomer(base);
    const rep = await registerRep(base, 1);
    const conv = await openConversation(base, cust);
    const paths = [
      '/api/admin/stats/',
      '/api/admin/timeseries/',
      '/api/admin/conversations/',
      `/api/admin/conversations/?q=${cust.username}`,
      `/api/admin/conversations/${conv}/transcript/`,
      `/api/admin/conversations/${conv}/transcript/?format=csv`,
    ];
    for (const path of paths) {
      assertClientError(await http(base, 'GET', path), 401, `${path} without a token`);
      assertClientError(await http(base, 'GET', path, { token: 'not-a-token' }), 401, `${path} with a bad token`);
      assertClientError(await http(base, 'GET', path, { token: cust.access }), 403, `${path} as a customer`);
      assertClientError(await http(base, 'GET', path, { token: rep.access }), 403, `${path} as a rep`);
      assert.equal((await http(base, 'GET', path, { token: admin.access })).status, 200, `${path} as an admin`);
    }
    await http(base, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status: 'offline' } });
    await http(base, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access });
  });

  test('the measures match what the API says happened: first response, handle time, abandonment, rating', async () => {
    const rep = await registerRep(base, 1);
    const chat = await openChat(server, rep);
    // While the rep's one slot is taken, a second customer queues with no socket and is abandoned after the grace.
    const gone = await registerCustomer(base);
    const goneConv = await openConversation(base, gone);
    assert.equal((await http(base, 'POST', `/api/conversations/${goneConv}/queue/`, { token: gone.access })).status, 200);
    await eventually(async () => (await server.store.getConversation(goneConv))?.status === 'abandoned', { what: 'the second conversation abandoned', timeoutMs: 15_000 });

    chat.c.send({ type: 'message', text: 'where is my parcel', client_id: 'c1' });
    await chat.r.waitFor((f) => f.type === 'message' && f.message === 'where is my parcel');
    chat.r.send({ type: 'message', text: 'on its way', client_id: 'r1' });
    await chat.c.waitFor((f) => f.type === 'message' && f.message === 'on its way');
    assert.equal((await http(base, 'POST', `/api/conversations/${chat.conv}/close/`, { token: rep.access })).status, 200);
    assert.equal((await http(base, 'POST', `/api/conversations/${chat.conv}/rating/`, { token: chat.cust.access, body: { score: 4 } })).status, 200);

    const t = (await http(base, 'GET', `/api/admin/conversations/${chat.conv}/transcript/`, { token: admin.access })).body;
    const reply = t.messages.find((m: { user: string }) => m.user === rep.username);
    const firstResponse = round3((Date.parse(reply.timestamp) - Date.parse(t.conversation.queued_at)) / 1000);
    const handle = round3((Date.parse(t.conversation.closed_at) - Date.parse(t.conversation.assigned_at)) / 1000);
    const stats = (await http(base, 'GET', '/api/admin/stats/', { token: admin.access })).body;
    assert.deepEqual(stats.first_response, { mean_s: firstResponse, median_s: firstResponse, count: 1 });
    assert.deepEqual(stats.handle_time, { mean_s: handle, median_s: handle, count: 1 });
    // Earlier cases queued nothing: of the two that entered the queue, one left unserved.
    assert.deepEqual(stats.abandonment, { ratio: 0.5, abandoned: 1, resolved: 2 });
    assert.deepEqual(stats.rating, { average: 4, count: 1 });
    const text = await metrics(base);
    assert.equal(gauge(text, 'switchboard_first_response_seconds'), firstResponse);
    assert.equal(gauge(text, 'switchboard_handle_time_seconds'), handle);
    assert.equal(gauge(text, 'switchboard_abandonment_ratio'), 0.5);
    chat.c.close();
    chat.r.close();
    await http(base, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status: 'offline' } });
  });
});
