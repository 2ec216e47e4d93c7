// Bad frames get an error frame and change nothing; huge frames close with 1009; floods are rate-limited;
// nothing one participant sends disturbs the other or any other conversation.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, openChat, registerRep, type Account } from '../helpers/client.ts';
import { eventually } from '../helpers/wait.ts';

describe('bad input on sockets', () => {
  let server: TestServer;
  let rep: Account;
  before(async () => {
    server = await startServer();
    rep = await registerRep(server.url, 50);
  });
  after(async () => server.stop({ wipe: true }));

  const chat = () => openChat(server, rep);

  it('answers each bad frame with its error code, stores nothing, and keeps the socket usable', async () => {
    const { c, r, conv, cust } = await chat();
    const cases: Array<[string, string]> = [
      ['{not json', 'bad_json'],
      ['[1,2,3]', 'bad_frame'],
      ['"just a string"', 'bad_frame'],
      ['null', 'bad_frame'],
      [JSON.stringify({ type: 'nope' }), 'bad_frame'],
      [JSON.stringify({ message: 42 }), 'bad_frame'],
      [JSON.stringify({ type: 'message', text: { a: 1 } }), 'bad_frame'],
      [JSON.stringify({ type: 'message', text: '   ' }), 'empty_message'],
      [JSON.stringify({ message: '' }), 'empty_message'],
      [JSON.stringify({ type: 'message', text: 'x'.repeat(4001) }), 'too_long'],
      [JSON.stringify({ type: 'message', text: 'ok', client_id: 'c'.repeat(65) }), 'bad_frame'],
      [JSON.stringify({ type: 'typing', typing: 'yes' }), 'bad_frame'],
      [JSON.stringify({ type: 'read', seq: -1 }), 'bad_frame'],
      [JSON.stringify({ message: 'bye', close_chat: true }), 'not_allowed'],
    ];
    for (const [raw, code] of cases) {
      const from = c.frames.length;
      c.send(raw);
      const err = await c.waitFor((f) => f.type === 'error', 3000, from);
      assert.equal(err.code, code, raw.slice(0, 60));
      assert.equal(typeof err.detail, 'string');
    }
    c.send({ type: 'message', text: 'x'.repeat(4000) });
    await r.waitFor((f) => f.type === 'message' && f.seq === 1);
    const detail = await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.equal(detail.body.messages.length, 1, 'only the valid message was stored');
    assert.equal(detail.body.status, 'assigned', "the customer's close_chat changed nothing");
    assert.equal(r.ofType('error').length, 0, 'the other participant saw no error');
    c.close();
    r.close();
  });

  it('closes a socket that sends a frame over 64 KiB with 1009, and the other side keeps chatting', async () => {
    const { c, r } = await chat();
    c.send(JSON.stringify({ type: 'message', text: 'y'.repeat(70 * 1024) }));
    assert.equal(await c.waitClose(), 1009);
    r.send({ type: 'message', text: 'still here' });
    await r.waitFor((f) => f.type === 'message' && f.message === 'still here');
    r.close();
  });

  it('rate-limits a flood: extra frames are dropped with rate_limited, others are unaffected', async () => {
    const { c, r, conv, cust } = await chat();
    const other = await chat();
    for (let i = 0; i < 60; i++) c.send({ type: 'message', text: `flood ${i}` });
    await c.waitFor((f) => f.type === 'error' && f.code === 'rate_limited');
    other.c.send({ type: 'message', text: 'unaffected' });
    await other.r.waitFor((f) => f.type === 'message' && f.message === 'unaffected');
    // The 60 frames may straddle two rate windows, so the count stored is not fixed: each frame is either
    // stored or refused with its own rate_limited, and more than a window's worth was refused overall.
    const storedFlood = async () => (await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access })).body.messages.filter((m: any) => m.text.startsWith('flood')).length;
    const { stored, refused } = await eventually(
      async () => {
        const counts = { stored: await storedFlood(), refused: c.ofType('error').filter((f) => f.code === 'rate_limited').length };
        return counts.stored + counts.refused === 60 && counts;
      },
      { what: 'every flood frame stored or refused' },
    );
    assert.ok(stored >= 1 && stored <= 40, `stored ${stored}: at most 20 per window, over at most two windows`);
    assert.ok(refused >= 20, `refused ${refused}`);
    // Once a window passes the socket is heard again (the retry carries one client_id, so it is stored once).
    await eventually(
      () => {
        c.send({ type: 'message', text: 'after the window', client_id: 'after' });
        return r.ofType('message').some((f) => f.message === 'after the window');
      },
      { timeoutMs: 5000, intervalMs: 250, what: 'a message after the window' },
    );
    for (const s of [c, r, other.c, other.r]) s.close();
  });

  it('answers binary frames with bad_frame', async () => {
    const { c, r } = await chat();
    c.ws.send(Buffer.from([1, 2, 3]));
    const err = await c.waitType('error');
    assert.equal(err.code, 'bad_frame');
    c.close();
    r.close();
  });
});
