// The endpoints the customer widget added: the public availability figures, and leaving a message while no
// rep is online (stored in the conversation, never abandoned while it waits, answered once a rep is back).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { assertClientError, createAdmin } from '../helpers/http-fixtures.ts';
import { eventually } from '../helpers/wait.ts';

describe('the widget endpoints', () => {
  let server: TestServer;
  let base: string;
  let admin: Account;

  before(async () => {
    // A short grace: a queued customer with no socket is abandoned quickly, which is what a left message must survive.
    server = await startServer({ env: { CUSTOMER_GRACE_MS: '300' } });
    base = server.url;
    admin = await createAdmin(base, server.store);
  });
  after(async () => server.stop({ wipe: true }));

  const availability = async () => {
    const res = await http(base, 'GET', '/api/availability/');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const setStatus = async (rep: Account, status: string) => {
    const res = await http(base, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status } });
    assert.equal(res.status, 200, JSON.stringify(res.body));
  };
  const statusOf = async (conv: string) => (await server.store.getConversation(conv))?.status;

  test('availability is public and follows the reps online, their free slots and the queue', async () => {
    assert.deepEqual(await availability(), { reps_online: 0, accepting: false, queue_length: 0, estimated_wait_s: 0 });
    // A rep is online from registration.
    const rep = await registerRep(base, 1);
    await eventually(
      async () => {
        const { estimated_wait_s: estimate, ...rest } = await availability();
        assert.deepEqual(rest, { reps_online: 1, accepting: true, queue_length: 0 });
        return Number.isInteger(estimate) && estimate >= 0;
      },
      { what: 'one rep accepting' },
    );
    // Its one slot taken, it is still online but no longer accepting.
    const cust = await registerCustomer(base);
    const conv = await openConversation(base, cust);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await c.waitType('assigned');
    await eventually(async () => {
      const a = await availability();
      assert.equal(a.reps_online, 1);
      assert.equal(a.accepting, false);
      return true;
    });
    const other = await registerCustomer(base);
    const waiting = await openConversation(base, other);
    const w = connect(server.wsUrl, chatPath(waiting), { token: other.access });
    await w.waitType('queued');
    await eventually(async () => (await availability()).queue_length === 1, { what: 'the queue of one in the figures' });
    await setStatus(rep, 'away');
    await eventually(async () => (await availability()).reps_online === 0, { what: 'no rep online once it is away' });
    c.close();
    w.close();
    await http(base, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access });
    await http(base, 'POST', `/api/conversations/${waiting}/close/`, { token: other.access });
    await setStatus(rep, 'offline');
  });

  test('a left message is stored once, waits without being abandoned, and is answered when a rep comes online', async () => {
    const rep = await registerRep(base, 2);
    await setStatus(rep, 'offline');
    await eventually(async () => (await availability()).reps_online === 0, { what: 'nobody online' });

    const cust = await registerCustomer(base);
    const conv = await openConversation(base, cust);
    const left = await http(base, 'POST', `/api/conversations/${conv}/leave_message/`, { token: cust.access, body: { text: 'Please call me back', client_id: 'lm-1' } });
    assert.equal(left.status, 201, JSON.stringify(left.body));
    assert.equal(left.body.assigned, false);
    assert.equal(left.body.message.text, 'Please call me back');
    // The same client_id again is the same message, not a second one.
    const again = await http(base, 'POST', `/api/conversations/${conv}/leave_message/`, { token: cust.access, body: { text: 'Please call me back', client_id: 'lm-1' } });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.message.id, left.body.message.id);
    const history = await http(base, 'GET', `/api/conversations/${conv}/messages/`, { token: cust.access });
    assert.deepEqual(
      history.body.map((m: { text: string }) => m.text),
      ['Please call me back'],
    );
    const row = await http(base, 'GET', `/api/admin/conversations/?q=${cust.username}`, { token: admin.access });
    assert.deepEqual(
      row.body.map((r: { id: string; status: string; left_message: boolean }) => [r.id, r.status, r.left_message]),
      [[conv, 'queued', true]],
    );

    // A conversation queued later with nobody connected is abandoned after the grace; the left message is not.
    const other = await registerCustomer(base);
    const control = await openConversation(base, other);
    assert.equal((await http(base, 'POST', `/api/conversations/${control}/queue/`, { token: other.access })).status, 200);
    await eventually(async () => (await statusOf(control)) === 'abandoned', { what: 'the control conversation abandoned', timeoutMs: 15_000 });
    assert.equal(await statusOf(conv), 'queued');
    assert.equal((await availability()).queue_length, 1);

    // The rep comes online: the conversation goes to it, with the message in it, and the answer reaches the customer.
    const agent = connect(server.wsUrl, '/ws/agent/', { token: rep.access });
    await agent.opened;
    await setStatus(rep, 'online');
    await agent.waitFor((f) => f.type === 'assigned' && f.conversation === conv);
    assert.equal((await server.store.getConversation(conv))?.repId, rep.id);
    const seen = await http(base, 'GET', `/api/conversations/${conv}/messages/`, { token: rep.access });
    assert.deepEqual(
      seen.body.map((m: { text: string; user: string }) => [m.user, m.text]),
      [[cust.username, 'Please call me back']],
    );
    const r = connect(server.wsUrl, chatPath(conv), { token: rep.access });
    await r.settle();
    r.send({ type: 'message', text: 'Calling you now', client_id: 'r-1' });
    await eventually(async () => {
      const h = await http(base, 'GET', `/api/conversations/${conv}/messages/`, { token: cust.access });
      return h.body.length === 2 && h.body[0].text === 'Calling you now' && h.body[0].user === rep.username;
    }, { what: "the rep's answer in the customer's history" });
    r.close();
    agent.close();
  });

  test('leave_message refuses bad input and other people, and changes nothing', async () => {
    const cust = await registerCustomer(base);
    const conv = await openConversation(base, cust);
    const stranger = await registerCustomer(base);
    const rep = await registerRep(base, 1);
    await setStatus(rep, 'offline');
    const post = (body: unknown, token?: string, id = conv) => http(base, 'POST', `/api/conversations/${id}/leave_message/`, { token, body });
    assertClientError(await post({ text: 'hi' }), 401, 'no token');
    assertClientError(await post({ text: 'hi' }, 'not-a-token'), 401, 'a bad token');
    // Another customer's conversation is not told apart from a missing one.
    assertClientError(await post({ text: 'hi' }, stranger.access), 404, "another customer's conversation");
    assertClientError(await post({ text: 'hi' }, rep.access), 403, 'a rep');
    assertClientError(await post({ text: 'hi' }, admin.access), 403, 'an admin');
    assertClientError(await post({}, cust.access), 400, 'no text');
    assertClientError(await post({ text: '' }, cust.access), 400, 'empty text');
    assertClientError(await post({ text: '   ' }, cust.access), 400, 'only spaces');
    assertClientError(await post({ text: 'x'.repeat(20_000) }, cust.access), 400, 'too long');
    assertClientError(await post({ text: 'hi', client_id: 5 }, cust.access), 400, 'a numeric client_id');
    assertClientError(await post({ text: 'hi' }, cust.access, '00000000-0000-4000-8000-000000000000'), 404, 'unknown conversation');
    assertClientError(await post({ text: 'hi' }, cust.access, 'not-a-uuid'), 404, 'not a uuid');
    const untouched = await server.store.getConversation(conv);
    assert.equal(untouched?.status, 'new');
    assert.equal(untouched?.lastSeq, 0);

    assert.equal((await http(base, 'POST', `/api/conversations/${conv}/close/`, { token: cust.access })).status, 200);
    assertClientError(await post({ text: 'too late' }, cust.access), 409, 'a closed conversation');
    assert.equal((await server.store.getConversation(conv))?.lastSeq, 0);
  });
});
