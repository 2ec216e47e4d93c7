// The queue notifier's cost does not grow with the queue: it never reads the whole queue, looks up at most
// one batch of ranks per pass, looks a socket up at most once per movement, and pushes a frame only to
// sockets whose position changed.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryRouter } from '../../src/routing/memory-router.ts';
import type { QueuePlace } from '../../src/routing/port.ts';
import type { ClientSocket } from '../../src/realtime/client-socket.ts';
import { QueueNotifier } from '../../src/realtime/queue-notifier.ts';
import { Delivery } from '../../src/realtime/delivery.ts';

interface FakeSocket {
  conversationId: string;
  waiting: boolean;
  closed: boolean;
  lastPosition: number;
  lastQueuedFrameAt: number;
  frames: Array<{ position: number }>;
  send(frame: string): void;
}

const id = (i: number) => `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`;

async function setUp(queued: number, watched: number[], batch: number) {
  const router = new MemoryRouter();
  await router.rebuild({ reps: [], assigned: [], queue: [], queueSeqFloor: 0 });
  for (let i = 1; i <= queued; i++) await router.enqueueAndDispatch({ conversationId: id(i), queueSeq: i, customerId: i, queuedAt: i, version: 1 });
  const lookups: number[] = [];
  const counted = {
    stats: () => router.stats(),
    positions: (ids: string[]): Promise<QueuePlace[]> => {
      lookups.push(ids.length);
      return router.positions(ids);
    },
    queue: () => {
      throw new Error('the notifier read the whole queue');
    },
  };
  const sockets = watched.map((n): FakeSocket => ({
    conversationId: id(n),
    waiting: true,
    closed: false,
    // As markWaiting leaves it: told its place, long enough ago to be due another frame.
    lastPosition: n,
    lastQueuedFrameAt: 0,
    frames: [],
    send(this: FakeSocket, frame: string) {
      this.frames.push(JSON.parse(frame) as { position: number });
    },
  }));
  const registry = { waitingCustomers: () => sockets as unknown as ClientSocket[], allAgents: () => [] };
  const viewer = { estimateFor: async () => 0, estimateNow: () => 0 };
  const notifier = new QueueNotifier(registry, viewer, counted, (err) => assert.fail(err as Error), batch);
  // Driven by hand: stopped, so that no pass runs by itself.
  notifier.stop();
  return { router, notifier, sockets, lookups };
}

describe('queue notifier cost', () => {
  it('looks up at most one batch per pass, each socket once per movement, and never reads the queue', async () => {
    const watched = Array.from({ length: 1200 }, (_, i) => 1 + i * 10);
    const { notifier, sockets, lookups } = await setUp(20_000, watched, 500);
    notifier.poke();
    await notifier.refresh();
    await notifier.refresh();
    await notifier.refresh();
    assert.deepEqual(lookups, [500, 500, 200]);
    // Nothing moved since: no lookups at all.
    await notifier.refresh();
    assert.equal(lookups.length, 3);
    // Nobody's position changed, so nobody heard anything.
    assert.equal(sockets.reduce((n, s) => n + s.frames.length, 0), 0);
  });

  it('a dequeue at rank r pushes only to the sockets behind it, once each', async () => {
    const watched = [1, 500, 999, 1000, 1001, 1500, 5000];
    const { router, notifier, sockets } = await setUp(10_000, watched, 500);
    await router.remove(id(1000));
    notifier.poke();
    await notifier.refresh();
    const heard = sockets.map((s) => s.frames.map((f) => f.position));
    assert.deepEqual(heard, [[], [], [], [], [1000], [1499], [4999]]);
    // A later tail enqueue moves nobody's place: lookups, but no frames.
    await router.enqueueAndDispatch({ conversationId: id(20_001), queueSeq: 20_001, customerId: 1, queuedAt: 1, version: 1 });
    for (const s of sockets) s.lastQueuedFrameAt = 0;
    notifier.poke();
    await notifier.refresh();
    assert.deepEqual(
      sockets.map((s) => s.frames.length),
      [0, 0, 0, 0, 1, 1, 1],
    );
  });

  it('tells a socket marked unplaced (queued in the store, no place in the router) its first place once the router has one', async () => {
    const { router, notifier, sockets } = await setUp(3, [], 500);
    const unplaced: FakeSocket = {
      conversationId: id(9),
      waiting: false,
      closed: false,
      lastPosition: 7,
      lastQueuedFrameAt: Date.now(),
      frames: [],
      send(this: FakeSocket, frame: string) {
        this.frames.push(JSON.parse(frame) as { position: number });
      },
    };
    // markUnplaced uses none of the delivery's collaborators.
    new Delivery({} as never, {} as never, {} as never, {} as never).markUnplaced(unplaced as unknown as ClientSocket);
    assert.equal(unplaced.frames.length, 0, 'markUnplaced sent a frame');
    sockets.push(unplaced);
    await notifier.refresh();
    assert.equal(unplaced.frames.length, 0, 'a frame for a conversation the router does not have');
    // The reconciler's repair puts it in the router; the next pass (its queue_changed) tells it.
    await router.enqueueAndDispatch({ conversationId: id(9), queueSeq: 9, customerId: 9, queuedAt: 9, version: 1 });
    notifier.poke();
    await notifier.refresh();
    assert.deepEqual(
      unplaced.frames.map((f) => f.position),
      [4],
    );
  });
});
