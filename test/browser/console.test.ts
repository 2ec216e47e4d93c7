// The console through the real UI in Chromium: each actor in its own browser context, against a real
// server. Chat both ways, a falling queue position, close -> next customer -> rating, a transfer between
// two consoles, a network drop with nothing lost or doubled, and the supervisor view against the API.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server.ts';
import { http, openChat, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { createAdmin, ADMIN_PASSWORD } from '../helpers/http-fixtures.ts';
import { chromiumMissing, countMessages, ensureWebBuilt, launchBrowser, newPage, PHONE, seeMessage, send, signIn } from '../helpers/browser.ts';

const PW = 'pw-123456';
const missing = chromiumMissing();
if (missing && process.env.CI) throw new Error(missing);

describe('browser console', { skip: missing }, () => {
  let browser: Browser;
  let server: TestServer;

  before(async () => {
    ensureWebBuilt();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
  });

  /** A fresh server per scenario, so that reps left online by one scenario cannot take another's chats. */
  async function fresh(): Promise<string> {
    if (server) await server.stop({ wipe: true });
    server = await startServer();
    return server.url;
  }
  after(async () => server?.stop({ wipe: true }));

  async function agent(base: string, rep: Account) {
    const { context, page } = await newPage(browser);
    await signIn(page, `${base}/agent/`, rep.username, PW);
    await page.getByTestId('chat-list').waitFor();
    return { context, page };
  }

  async function customer(base: string, cust: Account, viewport = PHONE) {
    const { context, page } = await newPage(browser, viewport);
    await signIn(page, `${base}/chat/`, cust.username, PW);
    await page.getByRole('button', { name: 'Start a conversation' }).click();
    return { context, page };
  }

  test('a customer and a rep chat both ways, with read marks', async () => {
    const base = await fresh();
    const rep = await registerRep(base, 2);
    const cust = await registerCustomer(base);
    const a = await agent(base, rep);
    const c = await customer(base, cust);
    await c.page.getByText('You are chatting with Rep').waitFor();
    await a.page.locator('.chat-item', { hasText: cust.username }).or(a.page.locator('.chat-item')).first().waitFor();
    await send(c.page, 'Hello, my order is late');
    await seeMessage(a.page, 'Hello, my order is late');
    await send(a.page, 'Sorry about that, let me look');
    await seeMessage(c.page, 'Sorry about that, let me look');
    // The rep has the chat open, so the customer's message is marked read.
    await c.page.locator('.msg.mine .read').waitFor();
    await a.context.close();
    await c.context.close();
  });

  test('a queued customer sees its position fall; the rep closes, the next customer arrives, the first one rates', async () => {
    const base = await fresh();
    const rep = await registerRep(base, 1);
    const [c1, c2, c3] = await Promise.all([registerCustomer(base), registerCustomer(base), registerCustomer(base)]);
    const a = await agent(base, rep);
    const p1 = await customer(base, c1);
    await p1.page.getByText('You are chatting with').waitFor();
    const p2 = await customer(base, c2);
    await p2.page.getByText('You are number 1 in the queue').waitFor();
    const p3 = await customer(base, c3);
    await p3.page.getByText('You are number 2 in the queue').waitFor();

    await a.page.getByRole('button', { name: 'Close chat' }).click();
    // The freed slot goes to the head of the queue: the second customer appears in the console.
    await p2.page.getByText('You are chatting with').waitFor();
    await p3.page.getByText('You are number 1 in the queue').waitFor();
    await send(p2.page, 'second customer here');
    await seeMessage(a.page, 'second customer here');

    await p1.page.getByText('This chat is closed.').waitFor();
    await p1.page.getByRole('radio', { name: '4 stars' }).check({ force: true });
    await p1.page.getByRole('button', { name: 'Send rating' }).click();
    await p1.page.getByText('Thank you for your rating (4 of 5).').waitFor();
    const list = await http(base, 'GET', '/api/conversations/', { token: c1.access });
    assert.equal(list.body[0].rating, 4);
    for (const p of [a, p1, p2, p3]) await p.context.close();
  });

  test('a transfer moves the chat from one agent console to another', async () => {
    const base = await fresh();
    const rep1 = await registerRep(base, 2);
    const rep2 = await registerRep(base, 2);
    const cust = await registerCustomer(base);
    const a1 = await agent(base, rep1);
    const a2 = await agent(base, rep2);
    const c = await customer(base, cust);
    await c.page.getByText('You are chatting with').waitFor();
    await send(c.page, 'please transfer me');
    // The policy picks the rep idle longest, then the lower id: the first rep.
    await seeMessage(a1.page, 'please transfer me');
    await a1.page.getByLabel('Transfer to').selectOption(String(rep2.id));
    await a1.page.getByRole('button', { name: 'Transfer' }).click();
    await seeMessage(a2.page, 'please transfer me');
    await a1.page.getByText('Waiting for the next customer').waitFor();
    await send(a2.page, 'second rep speaking');
    await seeMessage(c.page, 'second rep speaking');
    for (const p of [a1, a2, c]) await p.context.close();
  });

  test("the customer's network drops and comes back: nothing lost, nothing doubled", async () => {
    const base = await fresh();
    const rep = await registerRep(base, 2);
    const cust = await registerCustomer(base);
    const a = await agent(base, rep);
    const c = await customer(base, cust);
    await c.page.getByText('You are chatting with').waitFor();
    await send(c.page, 'before the drop');
    await seeMessage(a.page, 'before the drop');

    await c.context.setOffline(true);
    await c.page.getByText('You are offline').waitFor();
    await send(c.page, 'written while offline');
    await send(a.page, 'sent while you were away');
    await seeMessage(a.page, 'sent while you were away');
    await c.context.setOffline(false);

    await seeMessage(c.page, 'sent while you were away');
    await seeMessage(c.page, 'written while offline');
    await seeMessage(a.page, 'written while offline');
    for (const text of ['before the drop', 'written while offline', 'sent while you were away']) {
      assert.equal(await countMessages(c.page, text), 1, `customer sees "${text}" once`);
      assert.equal(await countMessages(a.page, text), 1, `rep sees "${text}" once`);
    }
    const list = await http(base, 'GET', '/api/conversations/', { token: cust.access });
    const history = await http(base, 'GET', `/api/conversations/${list.body[0].id}/messages/`, { token: cust.access });
    assert.deepEqual(history.body.map((m: { text: string }) => m.text).reverse(), ['before the drop', 'sent while you were away', 'written while offline']);
    await a.context.close();
    await c.context.close();
  });

  test('the supervisor view shows the same numbers as the API', async () => {
    const base = await fresh();
    const admin = await createAdmin(base, server.store);
    const rep = await registerRep(base, 1);
    const chat = await openChat(server, rep);
    chat.c.send({ type: 'message', text: 'hi', client_id: 'x1' });
    // A second customer waits: the rep is full.
    const waiting = await registerCustomer(base);
    const conv = (await http(base, 'POST', '/api/conversations/', { token: waiting.access })).body.id;
    await http(base, 'POST', `/api/conversations/${conv}/queue/`, { token: waiting.access });

    const { context, page } = await newPage(browser);
    await signIn(page, `${base}/admin/`, admin.username, ADMIN_PASSWORD);
    await page.getByTestId('fig-queue').waitFor();
    const stats = (await http(base, 'GET', '/api/admin/stats/', { token: admin.access })).body;
    const queue = (await http(base, 'GET', '/api/queue/', { token: admin.access })).body;
    assert.equal(stats.queue.length, 1);
    assert.equal(queue.length, 1);
    assert.equal(await page.getByTestId('fig-queue').textContent(), String(queue.length));
    assert.equal(await page.getByTestId('fig-reps').textContent(), String(stats.reps_online));
    assert.equal(await page.getByTestId('fig-open').textContent(), String(stats.conversations.assigned));
    assert.equal(stats.conversations.assigned, 1);
    await page.locator(`tr[data-rep="${rep.username}"]`, { hasText: '1 / 1' }).waitFor();

    await page.getByLabel('Customer').fill(waiting.username);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByTestId('conv-total').getByText('1 found').waitFor();
    const found = await http(base, 'GET', `/api/admin/conversations/?q=${waiting.username}`, { token: admin.access });
    assert.deepEqual(found.body.map((c: { id: string }) => c.id), [conv]);
    chat.c.close();
    chat.r.close();
    await context.close();
  });
});
