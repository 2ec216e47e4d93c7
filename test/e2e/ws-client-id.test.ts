// A client_id names one participant's message: the retry of one's own gets the stored message back, and another
// participant's client_id is refused loudly (bad_frame) and stores nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, openChat, registerRep, type Account } from '../helpers/client.ts';

describe('client_id across participants', () => {
  let server: TestServer;
  let rep: Account;
  before(async () => {
    server = await startServer();
    rep = await registerRep(server.url, 100);
  });
  after(async () => server.stop({ wipe: true }));

  it("refuses another participant's client_id with bad_frame and stores nothing", async () => {
    const { cust, conv, c, r } = await openChat(server, rep);
    c.send({ type: 'message', text: 'mine', client_id: 'same' });
    await r.waitFor((f) => f.type === 'message' && f.client_id === 'same');
    r.send({ type: 'message', text: 'rep text', client_id: 'same' });
    const err = await r.waitType('error');
    assert.equal(err.code, 'bad_frame');
    const detail = await http(server.url, 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    assert.deepEqual(detail.body.messages.map((m: any) => m.text), ['mine']);
    // The retry of one's own client_id still gets the stored message back.
    c.send({ type: 'message', text: 'mine', client_id: 'same' });
    await c.waitFor((f) => f.type === 'message' && f.client_id === 'same' && c.ofType('message').length === 2);
    c.close();
    r.close();
  });
});
