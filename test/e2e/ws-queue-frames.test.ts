// Queue movement as the sockets hear it: a waiting customer's `queued` frames come at most once a second,
// changes within that second merged into one frame with the latest position (never dropped), each with
// `estimated_wait_s`; an agent console's `queue` frame has its shape and comes at most once a second too.
//
// The changes are paced 150 ms apart, more than the notifier's own batching (100 ms), so a server without
// the one-a-second rule sends one frame per change. The bound on the frame count allows for a slow machine:
// changes spread over `window` ms can yield at most 2 + floor(window / 1000) frames one second apart.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, type Json, type TestSocket } from '../helpers/client.ts';

const BUSY_TEXT = 'Customer Representatives are busy for now. Please wait for some time.';
const PACE_MS = 150;
/** Arrival gaps may shrink in transit (a busy event loop reads one frame late); the server's gap is a full second. */
const GAP_SLACK_MS = 400;

const pause = (ms: number) => new Promise((res) => setTimeout(res, ms));

async function withServer(run: (server: TestServer) => Promise<void>): Promise<void> {
  const server = await startServer();
  try {
    await run(server);
  } finally {
    await server.stop({ wipe: true });
  }
}

/** Runs each step `PACE_MS` apart and returns how long the steps took, from the first start to the last end. */
async function paced(steps: Array<() => Promise<unknown>>): Promise<number> {
  const start = Date.now();
  for (let i = 0; i < steps.length; i++) {
    if (i > 0) await pause(PACE_MS);
    await steps[i]();
  }
  return Date.now() - start;
}

/**
 * Frames at least a second apart (arrival times, with some slack), and no more than the window allows; on a
 * machine fast enough for a window under 3 s, that is fewer frames than changes.
 */
function assertOneASecond(frames: Array<{ at: number }>, windowMs: number, changes: number, what: string): void {
  assert.ok(frames.length <= 2 + Math.floor(windowMs / 1000), `${frames.length} ${what} frames for ${changes} changes in ${windowMs} ms`);
  for (let i = 1; i < frames.length; i++) {
    const gap = frames[i].at - frames[i - 1].at;
    assert.ok(gap >= 1000 - GAP_SLACK_MS, `${what} frames ${gap} ms apart`);
  }
}

/** Stamps each frame's arrival time (the socket records frames, not times). */
function stampArrivals(s: TestSocket): Map<Json, number> {
  const at = new Map<Json, number>();
  s.ws.on('message', () => at.set(s.frames[s.frames.length - 1], Date.now()));
  return at;
}

describe('queue frames', () => {
  it('sends a waiting customer at most one queued frame a second, merged to the latest position, never dropped', async () => {
    await withServer(async (server) => {
      await registerRep(server.url, 0);
      const ahead: Array<{ token: string; conv: string; ws: TestSocket }> = [];
      for (let i = 0; i < 5; i++) {
        const cust = await registerCustomer(server.url);
        const conv = await openConversation(server.url, cust);
        const ws = connect(server.wsUrl, chatPath(conv), { token: cust.access });
        await ws.waitType('queued');
        ahead.push({ token: cust.access, conv, ws });
      }
      const watcher = await registerCustomer(server.url);
      const conv = await openConversation(server.url, watcher);
      const w = connect(server.wsUrl, chatPath(conv), { token: watcher.access });
      const arrivals = stampArrivals(w);
      const onConnect = await w.waitType('queued');
      assert.deepEqual(Object.keys(onConnect).filter((k) => k !== 'version').sort(), ['estimated_wait_s', 'message', 'position', 'type']);
      assert.equal(onConnect.message, BUSY_TEXT);
      assert.equal(onConnect.position, 6);

      // The five ahead leave one after another: five changes of the watcher's position.
      const from = w.mark();
      const windowMs = await paced(
        ahead.map((a) => async () => assert.equal((await http(server.url, 'POST', `/api/conversations/${a.conv}/close/`, { token: a.token })).status, 200)),
      );
      await w.waitFor((f) => f.type === 'queued' && f.position === 1, 5000, from);
      const frames = (await w.settle(from)).filter((f) => f.type === 'queued');
      const positions = frames.map((f) => f.position);
      assert.equal(positions.at(-1), 1, 'the last frame carries the latest position');
      assert.deepEqual(positions, [...positions].sort((a, b) => b - a), `positions only move forward: ${positions}`);
      assertOneASecond(frames.map((f) => ({ at: arrivals.get(f)! })), windowMs, 5, 'queued');
      for (const f of frames) {
        assert.equal(f.message, BUSY_TEXT);
        assert.ok(Number.isInteger(f.estimated_wait_s) && f.estimated_wait_s >= 0, JSON.stringify(f));
      }
      // The frame's estimate is the queue's own for that position.
      const queue = await http(server.url, 'GET', '/api/queue/', { token: watcher.access });
      assert.deepEqual(queue.body.map((e: any) => [e.id, e.position]), [[conv, 1]]);
      assert.equal(frames.at(-1)!.estimated_wait_s, queue.body[0].estimated_wait_s);
      for (const s of [w, ...ahead.map((a) => a.ws)]) s.close();
    });
  });

  it('sends an agent console a queue frame {length, oldest_wait_s} on connect, then at most one a second', async () => {
    await withServer(async (server) => {
      const rep = await registerRep(server.url, 0);
      const agent = connect(server.wsUrl, '/ws/agent/', { token: rep.access });
      const arrivals = stampArrivals(agent);
      const first = await agent.waitType('queue');
      assert.deepEqual(first, { type: 'queue', length: 0, oldest_wait_s: 0 });

      const waiting = [];
      for (let i = 0; i < 5; i++) {
        const cust = await registerCustomer(server.url);
        waiting.push({ cust, conv: await openConversation(server.url, cust) });
      }
      const from = agent.mark();
      const sockets: TestSocket[] = [];
      const startedAt = Date.now();
      const windowMs = await paced(
        waiting.map((x) => async () => {
          const s = connect(server.wsUrl, chatPath(x.conv), { token: x.cust.access });
          sockets.push(s);
          await s.waitType('queued');
        }),
      );
      await agent.waitFor((f) => f.type === 'queue' && f.length === 5, 5000, from);
      const frames = (await agent.settle(from)).filter((f) => f.type === 'queue');
      const elapsedS = Math.ceil((Date.now() - startedAt) / 1000);
      for (const f of frames) {
        assert.deepEqual(Object.keys(f).sort(), ['length', 'oldest_wait_s', 'type']);
        assert.ok(Number.isInteger(f.oldest_wait_s) && f.oldest_wait_s >= 0 && f.oldest_wait_s <= elapsedS, JSON.stringify(f));
      }
      assert.equal(frames.at(-1)!.length, 5, 'the last frame carries the latest length');
      assertOneASecond(frames.map((f) => ({ at: arrivals.get(f)! })), windowMs, 5, 'queue');
      for (const s of [agent, ...sockets]) s.close();
    });
  });
});
