// The supervisor's conversation browser over HTTP: search by customer with a total and paging, and the
// transcript export as JSON and as CSV (quoted as RFC 4180 says, and no cell a spreadsheet would run).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, openChat, openConversation, registerCustomer, registerRep, uniqueName, type Account } from '../helpers/client.ts';
import { assertClientError, createAdmin } from '../helpers/http-fixtures.ts';

/** RFC 4180: fields split on commas, quoted fields may hold commas, doubled quotes and line breaks. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  const endCell = () => {
    row.push(cell);
    cell = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === '"' && text[i + 1] === '"') {
      cell += '"';
      i++;
    } else if (quoted && ch === '"') quoted = false;
    else if (quoted) cell += ch;
    else if (ch === '"') quoted = true;
    else if (ch === ',') endCell();
    else if (ch === '\r' && text[i + 1] === '\n') {
      endCell();
      rows.push(row);
      row = [];
      i++;
    } else cell += ch;
  }
  assert.equal(quoted, false, 'no quote left open');
  assert.deepEqual([row, cell], [[], ''], 'the last row ends with CRLF');
  return rows;
}

// What each message says, and the cell the CSV must hold for it.
const TRICKY: Array<[string, string]> = [
  ['plain words', 'plain words'],
  ['a, b and c', 'a, b and c'],
  ['she said "hi"', 'she said "hi"'],
  ['line one\nline two', 'line one\nline two'],
  ['crlf\r\nend', 'crlf\r\nend'],
  ["=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"],
  ['=1+2,3', "'=1+2,3"],
  ['+15550100', "'+15550100"],
  ['-2', "'-2"],
  ['@SUM(A1:A2)', "'@SUM(A1:A2)"],
  ['\tindented', "'\tindented"],
  ['  =not first', '  =not first'],
];

describe('admin conversation search and transcript export', () => {
  let server: TestServer;
  let base: string;
  let admin: Account;

  before(async () => {
    server = await startServer();
    base = server.url;
    admin = await createAdmin(base, server.store);
  });
  after(async () => server?.stop({ wipe: true }));

  const get = (path: string) => http(base, 'GET', path, { token: admin.access });

  test('searches by a part of the username or email, newest first, with the total and paging', async () => {
    const tag = uniqueName('Srch').toLowerCase();
    const alice = await registerCustomer(base, `${tag}_alice`);
    const bob = await registerCustomer(base, `${tag}_bob`);
    const a1 = await openConversation(base, alice);
    assert.equal((await http(base, 'POST', `/api/conversations/${a1}/close/`, { token: alice.access })).status, 200);
    const a2 = await openConversation(base, alice);
    const b1 = await openConversation(base, bob);

    const all = await get(`/api/admin/conversations/?q=${tag}`);
    assert.equal(all.status, 200);
    assert.deepEqual(
      all.body.map((c: { id: string }) => c.id),
      [b1, a2, a1],
    );
    assert.equal(all.headers.get('x-total-count'), '3');
    assert.deepEqual(
      { customer: all.body[2].customer_username, status: all.body[2].status, rep: all.body[2].rep_username, left: all.body[2].left_message },
      { customer: alice.username, status: 'closed', rep: null, left: false },
    );
    const upper = await get(`/api/admin/conversations/?q=${encodeURIComponent(` ${tag.toUpperCase()}_ALICE `)}`);
    assert.deepEqual(
      upper.body.map((c: { id: string }) => c.id),
      [a2, a1],
      'case-insensitive, trimmed',
    );
    const byEmail = await get(`/api/admin/conversations/?q=${encodeURIComponent(`${tag}_bob@example.com`)}`);
    assert.deepEqual(
      byEmail.body.map((c: { id: string }) => c.id),
      [b1],
    );
    const page = await get(`/api/admin/conversations/?q=${tag}&limit=1&offset=1`);
    assert.deepEqual(
      page.body.map((c: { id: string }) => c.id),
      [a2],
    );
    assert.equal(page.headers.get('x-total-count'), '3', 'the total ignores paging');
    const closed = await get(`/api/admin/conversations/?q=${tag}&status=closed`);
    assert.deepEqual(
      closed.body.map((c: { id: string }) => c.id),
      [a1],
    );
    // LIKE's wildcards match only themselves.
    const wild = await get(`/api/admin/conversations/?q=${encodeURIComponent(`${tag}%`)}`);
    assert.deepEqual([wild.body, wild.headers.get('x-total-count')], [[], '0']);
    for (const q of [`q=${'x'.repeat(151)}`, 'status=open', 'limit=0', 'limit=501', 'offset=-1', 'limit=abc']) {
      assertClientError(await get(`/api/admin/conversations/?${q}`), 400, q);
    }
  });

  test('a transcript exports as JSON, oldest message first', async () => {
    const rep = await registerRep(base, 1);
    const chat = await openChat(server, rep);
    chat.c.send({ type: 'message', text: 'first', client_id: 'j1' });
    await chat.r.waitFor((f) => f.type === 'message' && f.message === 'first');
    chat.r.send({ type: 'message', text: 'second', client_id: 'j2' });
    await chat.c.waitFor((f) => f.type === 'message' && f.message === 'second');

    const res = await get(`/api/admin/conversations/${chat.conv}/transcript/`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /application\/json/);
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="conversation-${chat.conv}.json"`);
    assert.equal(res.body.conversation.id, chat.conv);
    assert.equal(res.body.conversation.customer_username, chat.cust.username);
    assert.equal(res.body.conversation.rep_username, rep.username);
    assert.equal(res.body.conversation.status, 'assigned');
    const history = await http(base, 'GET', `/api/conversations/${chat.conv}/messages/`, { token: chat.cust.access });
    assert.deepEqual(res.body.messages, [...history.body].reverse());
    assert.deepEqual(
      res.body.messages.map((m: { user: string; text: string }) => [m.user, m.text]),
      [
        [chat.cust.username, 'first'],
        [rep.username, 'second'],
      ],
    );
    // Upper-case ids are the same conversation; anything else is not found.
    assert.equal((await get(`/api/admin/conversations/${chat.conv.toUpperCase()}/transcript/`)).body.conversation.id, chat.conv);
    assertClientError(await get('/api/admin/conversations/00000000-0000-4000-8000-000000000000/transcript/'), 404, 'unknown');
    assertClientError(await get('/api/admin/conversations/not-a-uuid/transcript/'), 404, 'not a uuid');
    assertClientError(await get(`/api/admin/conversations/${chat.conv}/transcript/?format=xml`), 400, 'an unknown format');
    chat.c.close();
    chat.r.close();
    await http(base, 'POST', `/api/conversations/${chat.conv}/close/`, { token: rep.access });
    await http(base, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status: 'offline' } });
  });

  test('a CSV transcript quotes commas, quotes and line breaks, and defuses cells that start like a formula', async () => {
    const rep = await registerRep(base, 1);
    const chat = await openChat(server, rep);
    for (const [i, [text]] of TRICKY.entries()) {
      // Both sides write, so that both usernames appear.
      const [from, to] = i % 2 ? [chat.r, chat.c] : [chat.c, chat.r];
      from.send({ type: 'message', text, client_id: `t${i}` });
      await to.waitFor((f) => f.type === 'message' && f.message === text);
    }
    const json = (await get(`/api/admin/conversations/${chat.conv}/transcript/`)).body;
    const res = await get(`/api/admin/conversations/${chat.conv}/transcript/?format=csv`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
    assert.equal(res.headers.get('content-disposition'), `attachment; filename="conversation-${chat.conv}.csv"`);
    const csv = res.body as string;
    const rows = parseCsv(csv);
    assert.deepEqual(rows[0], ['seq', 'timestamp', 'user', 'text']);
    assert.deepEqual(
      rows.slice(1),
      json.messages.map((m: { seq: number; timestamp: string; user: string }, i: number) => [String(m.seq), m.timestamp, m.user, TRICKY[i][1]]),
    );
    // The raw text, for the rules a lenient parser would not catch.
    assert.ok(csv.includes(',"she said ""hi"""\r\n'), 'quotes doubled inside a quoted cell');
    assert.ok(csv.includes(`,"'=1+2,3"\r\n`), 'a defused formula with a comma is still quoted');
    assert.ok(csv.includes(',"line one\nline two"\r\n'), 'a line break stays inside its quoted cell');
    assert.ok(csv.includes(',plain words\r\n'), 'a plain cell is not quoted');
    // No unquoted cell starts like a formula.
    for (const row of rows) for (const cell of row) assert.ok(!/^[=+\-@\t\r]/.test(cell), `a live formula cell: ${JSON.stringify(cell)}`);
    chat.c.close();
    chat.r.close();
  });

  test('the console endpoints are in the OpenAPI document behind /docs, with their schemas and who may call them', async () => {
    const doc = (await http(base, 'GET', '/openapi.json')).body;
    const ops: Array<[string, string]> = [
      ['/api/availability/', 'get'],
      ['/api/conversations/{id}/leave_message/', 'post'],
      ['/api/admin/stats/', 'get'],
      ['/api/admin/timeseries/', 'get'],
      ['/api/admin/conversations/', 'get'],
      ['/api/admin/conversations/{id}/transcript/', 'get'],
    ];
    for (const [path, method] of ops) {
      const op = doc.paths[path]?.[method];
      assert.ok(op, `${method} ${path} in ${Object.keys(doc.paths).join(', ')}`);
      assert.ok(op.responses['200'] ?? op.responses['201'], `${path} documents its answer`);
    }
    // The availability figures are public; the admin reports say they answer 401 and 403.
    assert.deepEqual(doc.paths['/api/availability/'].get.security, []);
    for (const [path] of ops.slice(2)) assert.deepEqual(Object.keys(doc.paths[path].get.responses).filter((c) => c === '401' || c === '403'), ['401', '403'], path);
    const stats = doc.paths['/api/admin/stats/'].get.responses['200'].content['application/json'].schema;
    for (const key of ['queue', 'reps', 'first_response', 'handle_time', 'abandonment', 'rating']) assert.ok(stats.properties[key], `stats documents ${key}`);
  });
});
