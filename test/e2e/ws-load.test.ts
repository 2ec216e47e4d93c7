// 100 customers connect at once against a total capacity of 20; a concurrent drain serves each exactly once.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, openConversation, registerCustomer, registerRep, type Account, type TestSocket } from '../helpers/client.ts';
import { drainByClosing } from '../helpers/drain.ts';
import { eventually } from '../helpers/wait.ts';

describe('100 customers against capacity 20', () => {
  let server: TestServer;
  before(async () => {
    server = await startServer();
  });
  after(async () => server.stop({ wipe: true }));

  it('never overfills a rep, queues the rest in distinct places, and drains serving everyone once', { timeout: 120_000 }, async () => {
    const caps = [5, 5, 4, 3, 2, 1];
    const reps: Account[] = [];
    for (const cap of caps) reps.push(await registerRep(server.url, cap));
    const capacity = caps.reduce((a, b) => a + b, 0);
    assert.equal(capacity, 20);

    const customers = await Promise.all(Array.from({ length: 100 }, () => registerCustomer(server.url)));
    const convs = await Promise.all(customers.map((c) => openConversation(server.url, c)));
    const sockets: TestSocket[] = customers.map((c, i) => connect(server.wsUrl, chatPath(convs[i]), { token: c.access }));
    const firsts = await Promise.all(sockets.map((s) => s.waitFor((f) => f.type === 'assigned' || f.type === 'queued', 20_000)));

    const assignedIdx = firsts.flatMap((f, i) => (f.type === 'assigned' ? [i] : []));
    const queuedIdx = firsts.flatMap((f, i) => (f.type === 'queued' ? [i] : []));
    assert.equal(assignedIdx.length, 20);
    assert.equal(queuedIdx.length, 80);
    for (const i of assignedIdx) assert.equal(sockets[i].ofType('queued').length, 0, 'assigned customers never saw queued');
    const positions = queuedIdx.map((i) => firsts[i].position).sort((a, b) => a - b);
    assert.deepEqual(positions, Array.from({ length: 80 }, (_, i) => i + 1), 'distinct positions 1..80');

    const perRep = new Map<number, number>();
    for (const i of assignedIdx) perRep.set(firsts[i].rep.id, (perRep.get(firsts[i].rep.id) ?? 0) + 1);
    reps.forEach((r, k) => assert.ok((perRep.get(r.id) ?? 0) <= caps[k], 'no rep over capacity'));
    const snap = await server.store.routingSnapshot();
    for (const r of snap.reps) assert.ok(r.load <= r.maxCapacity);
    assert.equal(snap.assigned.length, 20);
    assert.equal(snap.queue.length, 80);

    // Drain: every rep closes its chats concurrently; every close hands the slot to the head.
    const servedBy = new Map<string, number[]>();
    const convOfSocket = new Map(sockets.map((s, i) => [s, convs[i]]));
    const record = (conv: string, repId: number) => servedBy.set(conv, [...(servedBy.get(conv) ?? []), repId]);
    for (const i of assignedIdx) record(convs[i], firsts[i].rep.id);
    for (const i of queuedIdx) {
      sockets[i].waitType('assigned', 60_000).then(
        (f) => record(convs[i], f.rep.id),
        () => undefined,
      );
    }

    const closes = await drainByClosing({
      reps,
      heldBy: async (rep) => (await server.store.assignedTo(rep.id)).map((c) => c.id),
      nobodyWaits: async () => (await server.store.routingSnapshot()).queue.length === 0,
      wsUrl: () => server.wsUrl,
      timeoutMs: 90_000,
    });
    assert.equal(closes, 100, 'every chat was closed once');

    await eventually(() => servedBy.size === 100, { timeoutMs: 10_000, what: 'an assigned frame for every customer' });
    for (const [conv, by] of servedBy) assert.equal(by.length, 1, `conversation ${conv} served once`);
    // The count of frames each socket really got (the map above holds one entry per socket by construction).
    for (const s of sockets) {
      // A socket the server closes after its `closed` frame may close during the marker: then all its frames are in.
      if (s.closeCode === undefined) await s.settle(0).catch((err) => { if (s.closeCode === undefined) throw err; });
      assert.equal(s.ofType('assigned').length, 1, `one assigned frame per customer (${convOfSocket.get(s)})`);
    }

    const end = await server.store.routingSnapshot();
    assert.equal(end.queue.length, 0);
    assert.equal(end.assigned.length, 0);
    for (const r of end.reps) assert.equal(r.load, 0, 'all slots free again');
    for (const s of sockets) s.close();
  });
});
