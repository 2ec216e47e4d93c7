// A rep's own requests racing each other: a close and a transfer of the same chat, sent at once. Exactly one
// succeeds; the loser gets a clear refusal: a transfer that loses to the close gets 409 (the chat is closed),
// a close that loses to the transfer gets 403 (the chat is no longer the rep's). Neither lands on a chat that
// another rep holds by then; every slot is freed once. Which request goes out first alternates by round, and
// the caller asserts that each outcome happened at least once, so the requests really raced.
// Used on one instance and across several.
import assert from 'node:assert/strict';
import { chatPath, connect, http, openConversation, registerCustomer, type Account } from './client.ts';

export async function raceCloseAndTransfer(urls: { http: string[]; ws: string }, holder: Account, other: Account, rounds: number): Promise<{ closed: number; transferred: number }> {
  let closed = 0;
  let transferred = 0;
  for (let i = 0; i < rounds; i++) {
    const cust = await registerCustomer(urls.http[0]);
    const conv = await openConversation(urls.http[0], cust);
    const c = connect(urls.ws, chatPath(conv), { token: cust.access });
    const first = await c.waitType('assigned');
    assert.equal(first.rep.id, holder.id, 'the holder takes every new chat');
    const transfer = () => http(urls.http[i % urls.http.length], 'POST', `/api/conversations/${conv}/transfer/`, { token: holder.access, body: { to_rep: other.id } });
    const close = () => http(urls.http[(i + 1) % urls.http.length], 'POST', `/api/conversations/${conv}/close/`, { token: holder.access });
    // Sweeps the race window: the later request goes out 0, 1, 2... ms after the other, the transfer
    // first in even rounds and the close first in odd ones (the close's path is shorter, so an even start
    // alone would let it win every round).
    const lag = (ms: number) => new Promise((res) => setTimeout(res, ms));
    const delay = Math.floor(i / 2);
    const [t, cl] = await Promise.all(i % 2 === 0 ? [transfer(), lag(delay).then(close)] : [lag(delay).then(transfer), close()]);
    const label = `round ${i}: transfer ${t.status} ${JSON.stringify(t.body)}, close ${cl.status} ${JSON.stringify(cl.body)}`;
    const ok = [t, cl].filter((r) => r.status === 200);
    assert.equal(ok.length, 1, `exactly one wins (${label})`);
    if (cl.status === 200) assert.equal(t.status, 409, `a transfer that loses to a close is 409 (${label})`);
    else assert.equal(cl.status, 403, `a close that loses to a transfer is 403 (${label})`);
    for (const r of [t, cl]) if (r.status !== 200) assert.equal(typeof r.body.detail, 'string', `the loser is told why (${label})`);
    const detail = await http(urls.http[0], 'GET', `/api/conversations/${conv}/`, { token: cust.access });
    if (cl.status === 200) {
      closed++;
      assert.equal(detail.body.status, 'closed');
      assert.equal(detail.body.customer_rep, holder.id);
    } else {
      transferred++;
      assert.equal(detail.body.status, 'assigned');
      assert.equal(detail.body.customer_rep, other.id, 'the chat stays with the rep it was transferred to');
      // Hand it back to the queue's end of things: the other rep closes it.
      assert.equal((await http(urls.http[0], 'POST', `/api/conversations/${conv}/close/`, { token: other.access })).status, 200);
    }
    c.close();
  }
  for (const r of [holder, other]) {
    const me = await http(urls.http[0], 'GET', '/api/reps/me/', { token: r.access });
    assert.equal(me.body.load, 0, `${r.username}: every slot was freed once`);
  }
  return { closed, transferred };
}
