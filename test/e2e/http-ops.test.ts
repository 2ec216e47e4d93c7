// Operations endpoints over a real server: liveness, readiness with the store checked, Prometheus metrics,
// the OpenAPI document and the docs UI.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, registerCustomer } from '../helpers/client.ts';
import { assertClientError } from '../helpers/http-fixtures.ts';

/** The label sets of every sample of one metric in a Prometheus text exposition. */
function samples(text: string, name: string): Array<Record<string, string>> {
  const out: Array<Record<string, string>> = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labels: Record<string, string> = {};
    const body = line.slice(name.length + 1, line.lastIndexOf('}'));
    for (const m of body.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[m[1]] = m[2];
    out.push(labels);
  }
  return out;
}

describe('operations endpoints', () => {
  let server: TestServer;
  let base: string;

  before(async () => {
    server = await startServer();
    base = server.url;
  });
  after(async () => {
    await server.stop({ wipe: true });
  });

  test('/healthz -> 200', async () => {
    const r = await http(base, 'GET', '/healthz');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
  });

  test('/readyz -> 200 with the store checked', async () => {
    const r = await http(base, 'GET', '/readyz');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.checks.store, 'ok');
  });

  test('/metrics: default process metrics and http_request_duration_seconds by route and status_code', async () => {
    const c = await registerCustomer(base);
    assert.equal((await http(base, 'GET', '/api/me/', { token: c.access })).status, 200);
    assert.equal((await http(base, 'GET', '/api/me/')).status, 401);
    assert.equal((await http(base, 'GET', '/healthz')).status, 200);

    const r = await http(base, 'GET', '/metrics');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/plain/);
    const text = String(r.body);
    for (const name of ['process_cpu_user_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_total_bytes', 'nodejs_eventloop_lag_seconds']) {
      assert.ok(new RegExp(`^${name}(\\{| )`, 'm').test(text), `default metric ${name}`);
    }
    assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
    const counts = samples(text, 'http_request_duration_seconds_count');
    const has = (route: string, status: string, method = 'GET') => counts.some((l) => l.route === route && l.status_code === status && l.method === method);
    assert.ok(has('/api/me/', '200'), `route /api/me/ status 200 in ${JSON.stringify(counts)}`);
    assert.ok(has('/api/me/', '401'), 'route /api/me/ status 401');
    assert.ok(has('/healthz', '200'), 'route /healthz status 200');
    assert.ok(has('/api/register_customer/', '201', 'POST'), 'route /api/register_customer/ status 201');
    // Routes are labelled by pattern, never by the concrete URL (no id or query in a label).
    for (const l of counts) assert.ok(!/[0-9a-f]{8}-[0-9a-f]{4}-/.test(l.route ?? '') && !(l.route ?? '').includes('?'), JSON.stringify(l));
    assert.ok(samples(text, 'http_request_duration_seconds_bucket').some((l) => l.le === '+Inf' && l.route === '/healthz'));
  });

  test('/openapi.json is OpenAPI 3 and lists the routes', async () => {
    const r = await http(base, 'GET', '/openapi.json');
    assert.equal(r.status, 200);
    assert.match(String(r.body.openapi), /^3\./);
    assert.equal(typeof r.body.info?.title, 'string');
    const paths = r.body.paths as Record<string, Record<string, unknown>>;
    const expected: Array<[string, string]> = [
      ['/api/register_customer/', 'post'],
      ['/api/register_customer_rep/', 'post'],
      ['/auth/token/', 'post'],
      ['/auth/token/refresh/', 'post'],
      ['/auth/login/', 'post'],
      ['/auth/logout/', 'post'],
      ['/api/me/', 'get'],
      ['/api/conversations/', 'get'],
      ['/api/conversations/', 'post'],
      ['/api/conversations/{id}/', 'get'],
      ['/api/conversations/{id}/messages/', 'get'],
      ['/api/conversations/{id}/close/', 'post'],
      ['/api/conversations/{id}/transfer/', 'post'],
      ['/api/conversations/{id}/rating/', 'post'],
      ['/api/conversations/{id}/queue/', 'post'],
      ['/api/reps/me/', 'get'],
      ['/api/reps/me/', 'patch'],
      ['/api/reps/', 'get'],
      ['/api/queue/', 'get'],
    ];
    for (const [path, method] of expected) assert.ok(paths[path]?.[method], `${method.toUpperCase()} ${path} in ${Object.keys(paths).join(', ')}`);
    // The schemas come from the routes: the registration body documents the nested user.
    const reg = paths['/api/register_customer/'].post as any;
    const schema = reg.requestBody?.content?.['application/json']?.schema;
    assert.ok(schema?.properties?.user?.properties?.username, 'the nested user schema is documented');
    assert.ok(schema.required.includes('phone_number'));
  });

  test('/docs answers 200 (after any redirect) with HTML', async () => {
    for (const path of ['/docs', '/docs/']) {
      const res = await fetch(base + path, { redirect: 'follow' });
      assert.equal(res.status, 200, path);
      assert.match(res.headers.get('content-type') ?? '', /text\/html/, path);
      assert.match(await res.text(), /swagger/i);
    }
  });

  test('every answer carries an X-Request-Id; a sane given one is echoed, a hostile one replaced', async () => {
    const plain = await http(base, 'GET', '/healthz');
    assert.ok(plain.headers.get('x-request-id'));
    const given = await http(base, 'GET', '/healthz', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(given.headers.get('x-request-id'), 'abc-123');
    const hostile = await http(base, 'GET', '/healthz', { headers: { 'x-request-id': 'a b<script>' } });
    assert.notEqual(hostile.headers.get('x-request-id'), 'a b<script>');
  });
});

describe('operations endpoints, configured', () => {
  test('METRICS_TOKEN guards /metrics', async () => {
    const server = await startServer({ env: { METRICS_TOKEN: 'metrics-secret' } });
    try {
      assertClientError(await http(server.url, 'GET', '/metrics'), 401);
      assertClientError(await http(server.url, 'GET', '/metrics', { token: 'wrong' }), 401);
      const ok = await http(server.url, 'GET', '/metrics', { token: 'metrics-secret' });
      assert.equal(ok.status, 200);
      assert.match(String(ok.body), /http_request_duration_seconds/);
    } finally {
      await server.stop({ wipe: true });
    }
  });

  test('/readyz -> 503 naming the store when the store does not answer; /healthz stays 200', async () => {
    const server = await startServer();
    let closed = false;
    try {
      assert.equal((await http(server.url, 'GET', '/readyz')).status, 200);
      await server.store.close();
      closed = true;
      const r = await http(server.url, 'GET', '/readyz');
      assert.equal(r.status, 503, JSON.stringify(r.body));
      assert.equal(r.body.status, 'unavailable');
      assert.match(r.body.checks.store, /^error/);
      assert.equal((await http(server.url, 'GET', '/healthz')).status, 200);
    } finally {
      server.gateway.stop(1001);
      await server.app.close();
      if (!closed) await server.store.close();
      rmSync(server.dataDir, { recursive: true, force: true });
    }
  });
});
