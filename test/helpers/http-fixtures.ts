// Shared pieces of the HTTP end-to-end suites: error assertions, an admin account, and store-side seeding
// of what only the WebSocket can create over the wire (queueing, assignments, messages).
import assert from 'node:assert/strict';
import { hashPassword } from '../../src/auth/passwords.ts';
import type { Store } from '../../src/store/port.ts';
import { http, login, uniqueName, type Account, type HttpResult } from './client.ts';

export const ISO_MS_Z = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/;
export const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** A client error: the expected status, a JSON object body with a string `detail`, and never a stack trace. */
export function assertClientError(res: HttpResult, status: number, what = ''): void {
  const label = `${what ? `${what}: ` : ''}${res.status} ${JSON.stringify(res.body)}`;
  assert.ok(res.status < 500, `no 5xx for client input (${label})`);
  assert.equal(res.status, status, label);
  assert.equal(typeof res.body, 'object', `JSON body expected (${label})`);
  assert.ok(res.body !== null && !Array.isArray(res.body), `JSON object body expected (${label})`);
  assert.equal(typeof res.body.detail, 'string', `detail expected (${label})`);
  assert.ok(res.body.detail.length > 0, label);
  assert.ok(!/\bat .+\.(?:ts|js):\d+/.test(JSON.stringify(res.body)), `no stack trace (${label})`);
  assert.match(res.headers.get('content-type') ?? '', /application\/json/, label);
}

export const ADMIN_PASSWORD = 'admin-pw-123456';

/** An admin is never registered over HTTP: it is created in the store (as the create-admin script does), then logs in. */
export async function createAdmin(base: string, store: Store, username = uniqueName('admin')): Promise<Account> {
  const user = await store.createAdmin({ username, email: `${username}@example.com`, firstName: 'Ad', lastName: 'Min', passwordHash: await hashPassword(ADMIN_PASSWORD) });
  const tokens = await login(base, username, ADMIN_PASSWORD);
  return { id: user.id, userId: user.id, username, ...tokens };
}

/** new -> queued -> assigned to the rep, through the store's conditional transitions. */
export async function seedAssigned(store: Store, conversationId: string, repId: number): Promise<void> {
  const queued = await store.enqueue(conversationId, Date.now());
  assert.ok(queued, `enqueue ${conversationId}`);
  const assigned = await store.assign(conversationId, repId, Date.now());
  assert.ok(assigned.ok, `assign ${conversationId} to rep ${repId}: ${JSON.stringify(assigned)}`);
}

/** Stores `count` messages alternating between the two authors; returns them in the order stored. */
export async function seedMessages(store: Store, conversationId: string, authors: Array<{ userId: number; username: string }>, count: number, prefix = 'msg') {
  const out: Array<{ id: number; seq: number; text: string; username: string }> = [];
  for (let i = 0; i < count; i++) {
    const author = authors[i % authors.length];
    const text = `${prefix} ${i + 1}`;
    const r = await store.appendMessage({ conversationId, authorId: author.userId, text, clientId: null, timestamp: Date.now() });
    assert.equal(r.kind, 'stored', `append ${text}: ${JSON.stringify(r)}`);
    if (r.kind !== 'stored') throw new Error('unreachable');
    out.push({ id: r.message.id, seq: r.message.seq, text, username: author.username });
  }
  return out;
}

/** Registers through the original's nested body; returns the raw result. */
export function registerCustomerRaw(base: string, username: string, overrides: Record<string, unknown> = {}, password = 'pw-123456') {
  return http(base, 'POST', '/api/register_customer/', {
    body: { user: { username, email: `${username}@example.com`, first_name: 'Cee', last_name: 'Ex' }, phone_number: 5550100, password, password1: password, ...overrides },
  });
}

export function registerRepRaw(base: string, username: string, overrides: Record<string, unknown> = {}, password = 'pw-123456') {
  return http(base, 'POST', '/api/register_customer_rep/', {
    body: { user: { username, email: `${username}@example.com`, first_name: 'Ar', last_name: 'Ep' }, max_capacity: 3, password, password1: password, ...overrides },
  });
}
