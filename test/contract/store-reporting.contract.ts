// Store contract cases for the admin reporting SQL (store/sql-reporting.ts): the service measures, the
// queue's history, counts and the conversation search give the same numbers on every dialect. They run on a
// store of their own, so that no other case's conversations enter the figures.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../../src/store/port.ts';
import { EXPECTED, EXPECTED_SERIES, seedScenario, type Scenario } from '../helpers/reporting-scenario.ts';

const T0 = Date.UTC(2031, 0, 1);

export function reportingCases(factory: () => Promise<{ store: Store; cleanup: () => Promise<void> }>): void {
  describe('admin reporting', () => {
    let store: Store;
    let cleanup: (() => Promise<void>) | undefined;
    let sc: Scenario;

    before(async () => {
      ({ store, cleanup } = await factory());
      sc = await seedScenario(store, T0);
    });
    after(async () => cleanup?.());

    it('gives the service measures worked out by hand for the window, and the open counts', async () => {
      const m = await store.reporting.serviceMeasures(sc.from, sc.to);
      assert.deepEqual(m, {
        firstResponse: EXPECTED.firstResponse,
        handle: EXPECTED.handle,
        abandonment: EXPECTED.abandonment,
        rating: EXPECTED.rating,
      });
      assert.deepEqual(await store.reporting.openCounts(), EXPECTED.openCounts);
    });

    it('counts only what happened inside the window', async () => {
      // Only g's steps (two hours earlier): one answer, one close, one rating, nothing abandoned.
      const old = await store.reporting.serviceMeasures(T0 - 7400_000, T0 - 7100_000);
      assert.deepEqual(old, {
        firstResponse: { meanS: 20, medianS: 20, count: 1 },
        handle: { meanS: 90, medianS: 90, count: 1 },
        abandonment: { ratio: 0, abandoned: 0, resolved: 1 },
        rating: { average: 1, count: 1 },
      });
      const empty = await store.reporting.serviceMeasures(T0 + 3600_000, T0 + 7200_000);
      assert.deepEqual(empty, {
        firstResponse: { meanS: null, medianS: null, count: 0 },
        handle: { meanS: null, medianS: null, count: 0 },
        abandonment: { ratio: null, abandoned: 0, resolved: 0 },
        rating: { average: null, count: 0 },
      });
    });

    it("replays the queue's history into points: length, longest wait, assignments and their mean wait", async () => {
      const points = await store.reporting.queueSeries(T0, T0 + 600_000, 60_000);
      assert.deepEqual(
        points,
        EXPECTED_SERIES.map(({ s, ...p }) => ({ at: T0 + s * 1000, ...p })),
      );
    });

    it('finds conversations by a case-insensitive part of the username, email or name, newest first, paged', async () => {
      const { a, b, c, d, e, f, g, h, i } = sc.ids;
      const newestFirst = [i, h, f, e, d, c, b, a, g];
      for (const q of [sc.tag.toLowerCase(), sc.tag.toUpperCase(), 'zELDa', 'quux', `${sc.tag.toLowerCase()}_cust@example`]) {
        const found = await store.reporting.searchConversations({ q, limit: 50, offset: 0 });
        assert.equal(found.total, 9, q);
        assert.deepEqual(
          found.rows.map((r) => r.conversation.id),
          newestFirst,
          q,
        );
      }
      const page = await store.reporting.searchConversations({ q: sc.tag, limit: 3, offset: 2 });
      assert.deepEqual(
        page.rows.map((r) => r.conversation.id),
        [f, e, d],
      );
      assert.equal(page.total, 9, 'the total ignores paging');
      const closed = await store.reporting.searchConversations({ q: sc.tag, status: 'closed', limit: 50, offset: 0 });
      assert.deepEqual(
        closed.rows.map((r) => r.conversation.id),
        [h, e, b, a, g],
      );
      assert.equal(closed.total, 5);
      assert.deepEqual(await store.reporting.searchConversations({ q: 'nobody-has-this-name', limit: 50, offset: 0 }), { rows: [], total: 0 });
    });

    it("matches LIKE's wildcards only as themselves", async () => {
      const other = await store.createCustomer({ username: `${sc.tag}Xcust`, email: `${sc.tag}-other@example.net`, firstName: 'O', lastName: 'T', passwordHash: 'scrypt$stub' }, 1);
      const conv = await store.createConversation(other.profile.id, T0 + 900_000);
      const underscore = await store.reporting.searchConversations({ q: `${sc.tag}_cust`, limit: 50, offset: 0 });
      assert.equal(underscore.total, 9, '_ does not match the X');
      assert.ok(!underscore.rows.some((r) => r.conversation.id === conv.id));
      assert.equal((await store.reporting.searchConversations({ q: `${sc.tag}Xcust`, limit: 50, offset: 0 })).total, 1);
      assert.equal((await store.reporting.searchConversations({ q: `${sc.tag}%`, limit: 50, offset: 0 })).total, 0);
      assert.equal((await store.reporting.searchConversations({ q: '\\', limit: 50, offset: 0 })).total, 0);
    });

    it('reads one conversation with its customer, its rep and whether a message was left', async () => {
      const [, r2] = sc.reps;
      const h = await store.reporting.getConversationRow(sc.ids.h);
      assert.ok(h);
      assert.deepEqual(
        { id: h.conversation.id, status: h.conversation.status, customer: h.customerUsername, rep: h.repUsername, left: h.leftMessage },
        { id: sc.ids.h, status: 'closed', customer: sc.customer.username, rep: r2.username, left: false },
      );
      const f = await store.reporting.getConversationRow(sc.ids.f);
      assert.deepEqual(
        { status: f?.conversation.status, rep: f?.repUsername, left: f?.leftMessage },
        { status: 'queued', rep: null, left: true },
      );
      assert.deepEqual(await store.reporting.getConversationRow(sc.ids.f), f, 'the same row on a second read');
      assert.equal(await store.reporting.getConversationRow('00000000-0000-4000-8000-000000000000'), undefined);
    });
  });
}
