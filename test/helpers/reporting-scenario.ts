// A support session seeded through the store's own transitions at chosen times, with the service measures
// and queue history worked out by hand below. The store contract checks both dialects against these
// numbers; the HTTP suite checks the admin API and /metrics against them.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { NewUser, Store } from '../../src/store/port.ts';

const S = 1000;

const newUser = (username: string, firstName = 'First', lastName = 'Last'): NewUser => ({
  username,
  email: `${username}@example.com`,
  firstName,
  lastName,
  passwordHash: 'scrypt$stub',
});

export interface Scenario {
  tag: string;
  customer: { userId: number; username: string; customerId: number };
  reps: Array<{ userId: number; username: string; repId: number }>;
  ids: Record<'a' | 'b' | 'c' | 'd' | 'e' | 'f' | 'g' | 'h' | 'i', string>;
  /** The window that holds every step but the old conversation g. */
  from: number;
  to: number;
}

/**
 * Times in seconds after t0 (one customer, reps r1 and r2 of capacity 5):
 *   a: queued 0, customer writes 10, assigned r1 20, r1 replies 50, r1 closes 170, rated 5
 *   b: queued 58, assigned r1 65, r1 replies 75, the customer closes 365, rated 2
 *   c: queued 100, assigned r2 110, customer writes 120, r2 replies 200; still assigned
 *   d: queued 130, abandoned 190
 *   e: queued 140, closed by the customer 150, still waiting (never assigned)
 *   f: queued 290, the customer leaves a message 291; still queued
 *   h: queued 400, assigned r1 405, transferred to r2 420, r2 replies 440, r2 closes 500
 *   i: created 510, never queued
 *   g: two hours before t0, queued, assigned, answered, closed and rated 1 (outside the window)
 * At the end both reps are away, so a running server assigns nothing more.
 */
export async function seedScenario(store: Store, t0: number): Promise<Scenario> {
  const at = (s: number) => t0 + s * S;
  const tag = `Rq${randomUUID().slice(0, 6)}`;
  const cust = await store.createCustomer(newUser(`${tag}_cust`, 'Zelda', 'Quux'), 5551234);
  const reps = [];
  for (const n of [1, 2]) {
    const r = await store.createRep(newUser(`${tag}_r${n}`), 5);
    await store.updateRep(r.profile.id, { status: 'online' });
    reps.push({ userId: r.user.id, username: r.user.username, repId: r.profile.id });
  }
  const [r1, r2] = reps;
  const create = async (s: number) => (await store.createConversation(cust.profile.id, at(s))).id;
  const queue = async (id: string, s: number) => assert.ok(await store.enqueue(id, at(s)), `enqueue ${id}`);
  const assign = async (id: string, repId: number, s: number) => assert.equal((await store.assign(id, repId, at(s))).ok, true, `assign ${id}`);
  const write = async (id: string, userId: number, s: number, text: string) =>
    assert.equal((await store.appendMessage({ conversationId: id, authorId: userId, text, clientId: null, timestamp: at(s) })).kind, 'stored');
  const close = async (id: string, by: 'rep' | 'customer', s: number) => assert.ok(await store.closeConversation(id, by, at(s)), `close ${id}`);

  const g = await create(-7300);
  await queue(g, -7300);
  await assign(g, r1.repId, -7290);
  await write(g, r1.userId, -7280, 'old answer');
  await close(g, 'rep', -7200);
  await store.rate(g, 1, null);

  const a = await create(0);
  await queue(a, 0);
  await write(a, cust.user.id, 10, 'my order is late');
  await assign(a, r1.repId, 20);
  await write(a, r1.userId, 50, 'let me look');
  await close(a, 'rep', 170);
  await store.rate(a, 5, 'quick');

  const b = await create(58);
  await queue(b, 58);
  await assign(b, r1.repId, 65);
  await write(b, r1.userId, 75, 'hello');
  await close(b, 'customer', 365);
  await store.rate(b, 2, null);

  const c = await create(100);
  await queue(c, 100);
  await assign(c, r2.repId, 110);
  // Opened by its rep, so that a running server's accept timeout leaves it assigned.
  await store.markAccepted(c, r2.repId, at(111));
  await write(c, cust.user.id, 120, 'anyone?');
  await write(c, r2.userId, 200, 'here');

  const d = await create(130);
  await queue(d, 130);
  const dq = (await store.getConversation(d))!;
  assert.ok(await store.abandon(d, dq.version, at(190)), 'abandon d');

  const e = await create(140);
  await queue(e, 140);
  await close(e, 'customer', 150);

  const f = await create(290);
  await queue(f, 290);
  assert.equal(await store.markLeftMessage(f, at(291)), true);
  await write(f, cust.user.id, 291, 'call me back');

  const h = await create(400);
  await queue(h, 400);
  await assign(h, r1.repId, 405);
  assert.equal((await store.transfer(h, r1.repId, r2.repId, at(420))).ok, true, 'transfer h');
  await write(h, r2.userId, 440, 'taking over');
  await close(h, 'rep', 500);

  const i = await create(510);

  for (const r of reps) await store.updateRep(r.repId, { status: 'away' });
  return {
    tag,
    customer: { userId: cust.user.id, username: cust.user.username, customerId: cust.profile.id },
    reps,
    ids: { a, b, c, d, e, f, g, h, i },
    from: at(-60),
    to: at(600),
  };
}

/** Worked out by hand from the times above. */
export const EXPECTED = {
  // First responses: a 50, b 17 (75 - 58), c 100 (the customer's own message at 120 is no reply), h 40.
  firstResponse: { meanS: 51.75, medianS: 45, count: 4 },
  // Handle times from the first assignment to the close: a 150, b 300, h 95 (from r1's 405, not r2's 420).
  handle: { meanS: 181.667, medianS: 150, count: 3 },
  // Queued in the window and no longer waiting: a, b, c, h (assigned), d (abandoned), e (closed unserved).
  abandonment: { ratio: 0.333, abandoned: 2, resolved: 6 },
  // a and b; g was closed outside the window.
  rating: { average: 3.5, count: 2 },
  openCounts: { new: 1, queued: 1, assigned: 1 },
} as const;

/**
 * The queue every 60 s from t0 (points at 60 s .. 600 s): who was waiting at each point, the longest of
 * those waits, and the assignments in the minute that ends there with their mean wait.
 */
export const EXPECTED_SERIES = [
  { s: 60, queueLength: 1, longestWaitS: 2, meanWaitS: 20, assigned: 1 }, // b waiting since 58; a assigned after 20
  { s: 120, queueLength: 0, longestWaitS: 0, meanWaitS: 8.5, assigned: 2 }, // b after 7, c after 10
  { s: 180, queueLength: 1, longestWaitS: 50, meanWaitS: null, assigned: 0 }, // d since 130 (e left at 150)
  { s: 240, queueLength: 0, longestWaitS: 0, meanWaitS: null, assigned: 0 },
  { s: 300, queueLength: 1, longestWaitS: 10, meanWaitS: null, assigned: 0 }, // f since 290
  { s: 360, queueLength: 1, longestWaitS: 70, meanWaitS: null, assigned: 0 },
  { s: 420, queueLength: 1, longestWaitS: 130, meanWaitS: 5, assigned: 1 }, // h assigned after 5
  { s: 480, queueLength: 1, longestWaitS: 190, meanWaitS: null, assigned: 0 },
  { s: 540, queueLength: 1, longestWaitS: 250, meanWaitS: null, assigned: 0 },
  { s: 600, queueLength: 1, longestWaitS: 310, meanWaitS: null, assigned: 0 },
];

/** The same waits as spans in seconds after t0 (end: when it left the queue; assigned: whether a rep took it). */
export const WAITS = [
  { start: 0, end: 20, assigned: true }, // a
  { start: 58, end: 65, assigned: true }, // b
  { start: 100, end: 110, assigned: true }, // c
  { start: 130, end: 190, assigned: false }, // d
  { start: 140, end: 150, assigned: false }, // e
  { start: 290, end: Infinity, assigned: false }, // f
  { start: 400, end: 405, assigned: true }, // h
];
