// A `?token=` is a credential: it never appears in the server's logs, whatever the socket or request does
// with it (accepted, refused, on an unknown path, on an HTTP route). Runs the real process with the most
// verbose log level, and reads everything it wrote.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startInstance } from '../helpers/processes.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, type TestSocket } from '../helpers/client.ts';

describe('logs', () => {
  it('never contain a ?token=, accepted or refused', { timeout: 60_000 }, async () => {
    const inst = await startInstance({ LOG_LEVEL: 'trace' });
    const sockets: TestSocket[] = [];
    const secrets: string[] = [];
    try {
      const rep = await registerRep(inst.url, 1);
      const cust = await registerCustomer(inst.url);
      const conv = await openConversation(inst.url, cust);
      const bogus = 'not-a-jwt-but-still-a-secret-4f1c9e';
      secrets.push(rep.access, cust.access, bogus);
      const byQuery = (path: string, token: string) => {
        const s = connect(inst.wsUrl, path, { token, header: false });
        sockets.push(s);
        return s;
      };
      // Accepted: a console, and both sides of a chat.
      await byQuery('/ws/agent/', rep.access).waitType('queue');
      await byQuery(chatPath(conv), cust.access).waitType('assigned');
      const repChat = byQuery(chatPath(conv), rep.access);
      await repChat.settle();
      // Refused: a bad token (4401), a customer on the console (4403), an unknown path (4404).
      assert.equal(await byQuery('/ws/agent/', bogus).waitClose(), 4401);
      assert.equal(await byQuery('/ws/agent/', cust.access).waitClose(), 4403);
      assert.equal(await byQuery('/ws/nowhere/', rep.access).waitClose(), 4404);
      // HTTP routes that receive one in the query string.
      assert.equal((await http(inst.url, 'GET', `/api/queue/?token=${rep.access}`)).status, 401);
      assert.equal((await http(inst.url, 'GET', `/no/such/route/?token=${bogus}&x=1`)).status, 404);
      for (const s of sockets) s.close();
      await Promise.all(sockets.map((s) => s.waitClose()));
    } finally {
      inst.kill('SIGTERM');
      assert.equal(await inst.exited, 0);
    }
    const log = inst.output.join('');
    assert.equal(secrets.length, 3);
    for (const secret of secrets) assert.ok(!log.includes(secret), `a token in the log: ${secret.slice(0, 12)}...`);
    // Nor any other JWT (three base64url parts), in case one is logged in another form.
    assert.deepEqual(log.match(/eyJ[\w-]+\.[\w-]+\.[\w-]+/g) ?? [], []);
    // The control: the sockets and requests were logged (a request with the token's place redacted).
    assert.match(log, /"socket":"agent","code":4401/, 'the refused socket was logged');
    assert.equal(log.match(/"msg":"socket ready"/g)?.length, 3, 'the accepted sockets were logged');
    assert.match(log, /\/api\/queue\/\?token=\[redacted\]/, 'the HTTP request was logged');
  });
});
