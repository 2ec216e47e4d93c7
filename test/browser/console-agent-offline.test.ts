// The agent console through the real UI in Chromium, from the rep's side of trouble: its own network drops
// while customers keep writing (every socket comes back and resumes with last_seq; what the rep typed
// meanwhile goes out once), and an admin managing the rep's account in the supervisor view (create,
// deactivate -> the open console is signed out and its token dies, reactivate, reset the password).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Browser, Page } from 'playwright-core';
import { startServer, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { ADMIN_PASSWORD, createAdmin } from '../helpers/http-fixtures.ts';
import { chromiumMissing, countMessages, ensureWebBuilt, launchBrowser, newPage, seeMessage, send, signIn } from '../helpers/browser.ts';

// The page's globals, for the functions that run inside it (the test project has no DOM types).
declare const document: any, localStorage: any;

const PW = 'pw-123456';
const missing = chromiumMissing();
if (missing && process.env.CI) throw new Error(missing);

/** Every message text in the page's open conversation, in the order shown. */
const shownTexts = (page: Page) => page.locator('.msg .text').allTextContents();

describe('agent console: its own network, and its account in the supervisor view', { skip: missing }, () => {
  let browser: Browser;
  let server: TestServer | undefined;

  before(async () => {
    ensureWebBuilt();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop({ wipe: true });
  });

  /** A server per case, so that one case's reps cannot take another's chats. */
  async function fresh(): Promise<TestServer> {
    await server?.stop({ wipe: true });
    server = await startServer();
    return server;
  }

  async function agent(base: string, rep: Pick<Account, 'username'>, password = PW) {
    const { context, page } = await newPage(browser);
    await signIn(page, `${base}/agent/`, rep.username, password);
    await page.getByTestId('chat-list').waitFor();
    return { context, page };
  }

  test("the console's network drops while customers write: it reconnects, resumes, and what the rep typed goes out once", async () => {
    const { url, wsUrl } = await fresh();
    const rep = await registerRep(url, 2);
    const cust = await registerCustomer(url);
    const a = await agent(url, rep);
    const conv = await openConversation(url, cust);
    const c = connect(wsUrl, chatPath(conv), { token: cust.access });
    await c.waitType('assigned');
    c.send({ type: 'message', text: 'before the drop', client_id: 'c1' });
    await seeMessage(a.page, 'before the drop');

    await a.context.setOffline(true);
    await a.page.getByText('You are offline').first().waitFor();
    // The rep writes while offline: it shows as pending, and nothing reaches the customer yet.
    await send(a.page, 'typed while offline');
    await a.page.locator('.msg.pending .text', { hasText: 'typed while offline' }).waitFor();
    c.send({ type: 'message', text: 'while you were away 1', client_id: 'c2' });
    c.send({ type: 'message', text: 'while you were away 2', client_id: 'c3' });
    await c.waitFor((f) => f.type === 'message' && f.message === 'while you were away 2');
    // A second chat is assigned to the rep (still within its grace) while its console cannot hear.
    const cust2 = await registerCustomer(url);
    const conv2 = await openConversation(url, cust2);
    const c2 = connect(wsUrl, chatPath(conv2), { token: cust2.access });
    await c2.waitType('assigned');
    c2.send({ type: 'message', text: 'a new chat while you were away', client_id: 'n1' });
    await c2.waitFor((f) => f.type === 'message' && f.message === 'a new chat while you were away');
    await c.settle();
    assert.equal(c.frames.filter((f) => f.type === 'message' && f.message === 'typed while offline').length, 0, 'nothing sent while offline');
    assert.equal(await a.page.locator('.chat-item').count(), 1, 'the offline console has not heard of the second chat');

    await a.context.setOffline(false);
    await seeMessage(a.page, 'while you were away 2');
    await seeMessage(a.page, 'typed while offline');
    await c.waitFor((f) => f.type === 'message' && f.message === 'typed while offline');
    await a.page.getByText('You are offline').waitFor({ state: 'detached' });
    // The agent socket came back too: the chat assigned meanwhile is listed, and a new one arrives live.
    await a.page.locator('.chat-item', { hasText: cust2.username }).click();
    await seeMessage(a.page, 'a new chat while you were away');
    assert.equal(await a.page.locator('.chat-item').count(), 2, 'each chat listed once');
    const cust3 = await registerCustomer(url);
    const conv3 = await openConversation(url, cust3);
    const c3 = connect(wsUrl, chatPath(conv3), { token: cust3.access });
    // The rep holds two chats at capacity 2: the third waits, and the console's queue figure says so.
    await a.page.getByTestId('queue-figure').getByText('Queue: 1 waiting').waitFor();

    await a.page.locator('.chat-item', { hasText: cust.username }).click();
    // The customer's two were stored while the console was away; the rep's message when it came back.
    const expected = ['before the drop', 'while you were away 1', 'while you were away 2', 'typed while offline'];
    const history = await http(url, 'GET', `/api/conversations/${conv}/messages/`, { token: cust.access });
    assert.deepEqual(history.body.map((m: { text: string }) => m.text).reverse(), expected, 'every message stored once, in order');
    await eventuallyShown(a.page, expected);
    for (const t of expected) assert.equal(await countMessages(a.page, t), 1, `the console shows "${t}" once`);
    await c.settle();
    assert.equal(c.frames.filter((f) => f.type === 'message' && f.message === 'typed while offline').length, 1, 'the customer got it once');
    for (const s of [c, c2, c3]) s.close();
    await a.context.close();
  });

  test('an admin creates, deactivates, reactivates a rep and resets its password, all in the supervisor view', async () => {
    const { url, store } = await fresh();
    const admin = await createAdmin(url, store);
    const d = await newPage(browser);
    await signIn(d.page, `${url}/admin/`, admin.username, ADMIN_PASSWORD);
    await d.page.getByTestId('fig-queue').waitFor();

    const username = `rep_ui_${Date.now().toString(36)}`;
    await d.page.getByText('Create a rep').click();
    await d.page.locator('#new-rep-username').fill(username);
    await d.page.locator('#new-rep-first_name').fill('Dana');
    await d.page.locator('#new-rep-password').fill(PW);
    await d.page.locator('#new-rep-max_capacity').fill('2');
    await d.page.getByRole('button', { name: 'Create rep' }).click();
    await d.page.getByText(`${username} created.`).waitFor();
    const row = d.page.locator(`tr[data-rep="${username}"]`);
    await row.getByText('active', { exact: true }).waitFor();

    // The new rep signs in, with its console open when the admin deactivates it.
    const a = await agent(url, { username });
    await a.page.getByText('Switchboard · Dana').waitFor();
    const tokens = await a.page.evaluate(() => JSON.parse(localStorage.getItem('sb.agent.tokens')) as { access: string; refresh: string });
    assert.equal((await http(url, 'GET', '/api/me/', { token: tokens.access })).status, 200);

    await row.getByRole('button', { name: 'Deactivate' }).click();
    await d.page.getByText(`${username} deactivated.`).waitFor();
    await row.getByText('deactivated', { exact: true }).waitFor();
    // The open console loses its sockets and its session: it is back at the sign-in form.
    await a.page.getByLabel('Password').waitFor();
    assert.equal(await a.page.getByTestId('chat-list').count(), 0);
    assert.equal((await http(url, 'GET', '/api/me/', { token: tokens.access })).status, 401, 'the access token died');
    assert.equal((await http(url, 'POST', '/auth/token/refresh/', { body: { refresh: tokens.refresh } })).status, 401, 'the refresh token died');
    // A deactivated rep cannot sign in again.
    await a.page.getByLabel('Username').fill(username);
    await a.page.getByLabel('Password').fill(PW);
    await a.page.getByRole('button', { name: 'Sign in' }).click();
    await a.page.getByRole('alert').waitFor();
    assert.equal(await a.page.getByTestId('chat-list').count(), 0);

    await row.getByRole('button', { name: 'Reactivate' }).click();
    await d.page.getByText(`${username} reactivated.`).waitFor();
    await row.getByText('active', { exact: true }).waitFor();
    await a.page.getByRole('button', { name: 'Sign in' }).click();
    await a.page.getByTestId('chat-list').waitFor();
    await a.page.getByRole('button', { name: 'Sign out' }).click();
    await a.page.getByLabel('Password').waitFor();

    // The password reset asks for the new password in a dialog.
    const NEW_PW = 'new-pw-654321';
    d.page.once('dialog', (dialog) => void dialog.accept(NEW_PW));
    await row.getByRole('button', { name: 'Reset password' }).click();
    await d.page.getByText(`Password of ${username} reset.`).waitFor();
    await a.page.getByLabel('Username').fill(username);
    await a.page.getByLabel('Password').fill(PW);
    await a.page.getByRole('button', { name: 'Sign in' }).click();
    await a.page.getByRole('alert').waitFor();
    await a.page.getByLabel('Password').fill(NEW_PW);
    await a.page.getByRole('button', { name: 'Sign in' }).click();
    await a.page.getByTestId('chat-list').waitFor();
    await a.page.getByText('Switchboard · Dana').waitFor();
    await a.context.close();
    await d.context.close();
  });
});

/** Waits until the page shows exactly these texts, in this order. */
async function eventuallyShown(page: Page, texts: string[]): Promise<void> {
  await page.waitForFunction(
    (want) => JSON.stringify([...document.querySelectorAll('.msg .text')].map((e: any) => e.textContent)) === JSON.stringify(want),
    texts,
  );
  assert.deepEqual(await shownTexts(page), texts);
}
