// What POST /close/ answers a rep: a rep's close goes straight to the store's conditional close (no read
// before it), so every refusal must still get the answer the route's own check gave: 404 for a chat the rep
// never held, 403 for one it lost, 409 for one already closed; and nothing changes on a refusal.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, openChat, registerRep, type TestSocket } from '../helpers/client.ts';

describe('POST /close/ by a rep', () => {
  let server: TestServer;
  const sockets: TestSocket[] = [];
  before(async () => {
    server = await startServer();
  });
  after(async () => {
    for (const s of sockets) s.close();
    await server.stop({ wipe: true });
  });

  const close = (conv: string, token: string) => http(server.url, 'POST', `/api/conversations/${conv}/close/`, { token });

  it('closes a chat the rep holds, once; a second close is 409', async () => {
    const rep = await registerRep(server.url, 1);
    const chat = await openChat(server, rep);
    sockets.push(chat.c, chat.r);
    const r = await close(chat.conv, rep.access);
    assert.equal(r.status, 200);
    assert.equal(r.body.id, chat.conv);
    assert.equal(r.body.status, 'closed');
    assert.equal((await server.store.getConversation(chat.conv))?.status, 'closed');
    assert.equal((await server.store.getRep(rep.id))?.load, 0);
    const again = await close(chat.conv, rep.access);
    assert.equal(again.status, 409);
    assert.equal(again.body.code, 'illegal_transition');
  });

  it("another rep's chat is 404 and a lost chat is 403, and neither is closed", async () => {
    const holder = await registerRep(server.url, 1);
    const chat = await openChat(server, holder);
    sockets.push(chat.c, chat.r);
    const stranger = await registerRep(server.url, 0);
    const never = await close(chat.conv, stranger.access);
    assert.equal(never.status, 404);
    const target = await registerRep(server.url, 1);
    const moved = await http(server.url, 'POST', `/api/conversations/${chat.conv}/transfer/`, { token: holder.access, body: { to_rep: target.id } });
    assert.equal(moved.status, 200);
    const lost = await close(chat.conv, holder.access);
    assert.equal(lost.status, 403);
    assert.equal(lost.body.code, 'permission_denied');
    const now = await server.store.getConversation(chat.conv);
    assert.equal(now?.status, 'assigned');
    assert.equal(now?.repId, target.id);
    assert.equal((await server.store.getRep(target.id))?.load, 1);
  });

  it('an unknown or malformed id is 404', async () => {
    const rep = await registerRep(server.url, 1);
    assert.equal((await close(randomUUID(), rep.access)).status, 404);
    assert.equal((await close('not-a-uuid', rep.access)).status, 404);
  });
});
