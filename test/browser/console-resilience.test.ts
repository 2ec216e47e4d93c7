// The console through the real UI in Chromium, when things go wrong or happen out of sight: a server
// restart (close code 1012) with nothing lost or doubled, alerts while the agent's tab is hidden, an access
// token that expires under it, a sign-out that leaves nothing behind, a message left while nobody is
// online, and the tabs from the keyboard. One browser, a context per actor.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { startServer, TEST_SECRET, type TestServer } from '../helpers/server.ts';
import { chatPath, connect, http, login, openConversation, registerCustomer, registerRep, type Account } from '../helpers/client.ts';
import { killChild, spawnChild, type Child } from '../helpers/processes.ts';
import { eventually } from '../helpers/wait.ts';
import { chromiumMissing, countMessages, ensureWebBuilt, launchBrowser, newPage, PHONE, seeMessage, send, signIn } from '../helpers/browser.ts';

// The page's globals, for the functions that run inside it (the test project has no DOM types).
declare const document: any, window: any, localStorage: any, sessionStorage: any, Notification: any;

const PW = 'pw-123456';
const TITLE = 'Switchboard agent console';
const missing = chromiumMissing();
if (missing && process.env.CI) throw new Error(missing);

interface Proc {
  child: Child;
  url: string;
  wsUrl: string;
  port: number;
}

/** A real server process on `port` (0: any) over `dataDir`; resolves once /healthz answers. */
async function startProcess(dataDir: string, port = 0): Promise<Proc> {
  const child = spawnChild(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
    ipc: true,
    env: { ...process.env, LOG_LEVEL: 'warn', DATA_DIR: dataDir, JWT_SECRET: TEST_SECRET, PORT: String(port), HOST: '127.0.0.1', RATE_REGISTER_PER_MIN: '100000', RATE_TOKEN_PER_MIN: '100000' },
  });
  const bound = await Promise.race([
    new Promise<number>((resolve) => child.proc.on('message', (m: { type?: string; port?: number }) => m?.type === 'listening' && resolve(m.port!))),
    child.exited.then((code) => {
      throw new Error(`server exited with ${code}: ${child.output.join('')}`);
    }),
  ]);
  const url = `http://127.0.0.1:${bound}`;
  await eventually(async () => (await fetch(`${url}/healthz`)).ok, { timeoutMs: 20_000, what: 'the server answering /healthz' });
  return { child, url, wsUrl: `ws://127.0.0.1:${bound}`, port: bound };
}

/**
 * Makes the page believe its tab went to the background (or came back), as a tab switch would. Page scripts
 * are passed as text: the test's compiler would wrap named functions in a helper the page does not have.
 */
async function setHidden(page: Page, hidden: boolean): Promise<void> {
  await page.evaluate(`(() => {
    Object.defineProperty(document, 'visibilityState', { configurable: true, get() { return ${hidden ? "'hidden'" : "'visible'"}; } });
    Object.defineProperty(document, 'hidden', { configurable: true, get() { return ${hidden}; } });
    document.dispatchEvent(new Event('visibilitychange'));
  })()`);
}

/** Records every notification the page creates (the real one is still made, with the context's permission). */
const NOTIFICATION_SPY = `(() => {
  const Real = window.Notification;
  const made = [];
  window.__notifications = made;
  function Spy(title, opts) {
    made.push({ title, body: opts && opts.body });
    return new Real(title, opts);
  }
  Object.defineProperty(Spy, 'permission', { get() { return Real.permission; } });
  Spy.requestPermission = Real.requestPermission.bind(Real);
  Spy.prototype = Real.prototype;
  window.Notification = Spy;
})()`;

describe('agent console resilience', { skip: missing }, () => {
  let browser: Browser;

  before(async () => {
    ensureWebBuilt();
    browser = await launchBrowser();
  });
  after(async () => browser?.close());

  async function agent(base: string, rep: Account, options = {}) {
    const { context, page } = await newPage(browser, undefined, options);
    await signIn(page, `${base}/agent/`, rep.username, PW);
    await page.getByTestId('chat-list').waitFor();
    return { context, page };
  }

  test('survives a server restart (1012) and resumes with nothing lost or doubled', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'sb-restart-'));
    let proc = await startProcess(dataDir);
    try {
      const rep = await registerRep(proc.url, 2);
      const cust = await registerCustomer(proc.url);
      const a = await agent(proc.url, rep);
      const conv = await openConversation(proc.url, cust);
      const c = connect(proc.wsUrl, chatPath(conv), { token: cust.access });
      await c.waitType('assigned');
      c.send({ type: 'message', text: 'before the restart', client_id: 'b1' });
      await seeMessage(a.page, 'before the restart');
      await send(a.page, 'answered before');
      await c.waitFor((f) => f.type === 'message' && f.message === 'answered before');

      proc.child.proc.kill('SIGTERM');
      assert.equal(await c.waitClose(), 1012, 'a draining server closes sockets with 1012');
      await proc.child.exited;
      await a.page.getByText('Reconnecting…').first().waitFor();

      proc = await startProcess(dataDir, proc.port);
      // The customer writes at once: the console, still backing off, gets these by resuming from its last_seq.
      const c2 = connect(proc.wsUrl, chatPath(conv), { token: cust.access, query: 'last_seq=2' });
      await c2.opened;
      c2.send({ type: 'message', text: 'after the restart 1', client_id: 'a1' });
      c2.send({ type: 'message', text: 'after the restart 2', client_id: 'a2' });
      await seeMessage(a.page, 'after the restart 1');
      await seeMessage(a.page, 'after the restart 2');
      await a.page.getByText('Reconnecting…').first().waitFor({ state: 'detached' });
      await send(a.page, 'answered after');
      await c2.waitFor((f) => f.type === 'message' && f.message === 'answered after');

      // A new chat reaches the console through its agent socket, reconnected too.
      const cust2 = await registerCustomer(proc.url);
      const conv2 = await openConversation(proc.url, cust2);
      const c3 = connect(proc.wsUrl, chatPath(conv2), { token: cust2.access });
      await c3.waitType('assigned');
      await a.page.locator('.chat-item', { hasText: cust2.username }).waitFor();
      assert.equal(await a.page.locator('.chat-item').count(), 2, 'each chat listed once');

      await a.page.locator('.chat-item', { hasText: cust.username }).click();
      const texts = ['before the restart', 'answered before', 'after the restart 1', 'after the restart 2', 'answered after'];
      for (const t of texts) assert.equal(await countMessages(a.page, t), 1, `the console shows "${t}" once`);
      const history = await http(proc.url, 'GET', `/api/conversations/${conv}/messages/`, { token: cust.access });
      assert.deepEqual(
        history.body.map((m: { text: string }) => m.text).reverse(),
        texts,
      );
      for (const s of [c2, c3]) s.close();
      await a.context.close();
    } finally {
      await killChild(proc.child, 'SIGTERM');
      rmSync(dataDir, { recursive: true, force: true });
    }
  });

  // A server per case: chats left with one case's rep would be requeued to the next case's rep after the grace.
  let server: TestServer | undefined;
  const fresh = async (env: Record<string, string> = {}) => {
    await server?.stop({ wipe: true });
    server = await startServer({ env });
    return server;
  };
  after(async () => server?.stop({ wipe: true }));

  test('while its tab is hidden, a new chat and a new message update the title and raise a notification', async () => {
    const server = await fresh();
    const rep = await registerRep(server.url, 2);
    const { context, page } = await newPage(browser, undefined, { permissions: ['notifications'] });
    await context.addInitScript(NOTIFICATION_SPY);
    await signIn(page, `${server.url}/agent/`, rep.username, PW);
    await page.getByTestId('chat-list').waitFor();
    const notes = () => page.evaluate(() => (window as any).__notifications as Array<{ title: string; body?: string }>);
    assert.equal(await page.evaluate(() => Notification.permission), 'granted');

    // In the foreground: the chat and its message show, with no alert.
    const c1 = await registerCustomer(server.url);
    const conv1 = await openConversation(server.url, c1);
    const s1 = connect(server.wsUrl, chatPath(conv1), { token: c1.access });
    await s1.waitType('assigned');
    s1.send({ type: 'message', text: 'seen in the foreground', client_id: 'f1' });
    await seeMessage(page, 'seen in the foreground');
    assert.equal(await page.title(), TITLE);
    assert.deepEqual(await notes(), []);

    await setHidden(page, true);
    const c2 = await registerCustomer(server.url);
    const conv2 = await openConversation(server.url, c2);
    const s2 = connect(server.wsUrl, chatPath(conv2), { token: c2.access });
    await s2.waitType('assigned');
    await page.waitForFunction((t) => document.title === `(1) ${t}`, TITLE);
    assert.deepEqual(await notes(), [{ title: 'Switchboard', body: `New chat with ${c2.username}` }]);

    s1.send({ type: 'message', text: 'are you still there?', client_id: 'f2' });
    await page.waitForFunction((t) => document.title === `(2) ${t}`, TITLE);
    assert.deepEqual((await notes())[1], { title: 'Switchboard', body: `${c1.username}: are you still there?` });
  // The unread count is read out with its meaning, not as a bare number.
  await page.getByRole('button', { name: `${c1.username} 1 unread` }).waitFor();
    assert.equal((await notes()).length, 2);

    // Back in front: the count goes.
    await setHidden(page, false);
    await page.waitForFunction((t) => document.title === t, TITLE);
    for (const s of [s1, s2]) s.close();
    await context.close();
  });

  test('refreshes its access token before expiry and keeps working past it; signing out leaves no storage behind', async () => {
    // A short access token: the console must refresh it (every second here) to keep working.
    const server = await fresh({ ACCESS_TTL_S: '5' });
    const rep = await registerRep(server.url, 2);
    const a = await agent(server.url, rep);
    const unauthorized: string[] = [];
    a.page.on('response', (res) => {
      if (res.status() === 401) unauthorized.push(res.url());
    });
    const stored = () => a.page.evaluate(() => JSON.parse(localStorage.getItem('sb.agent.tokens') ?? 'null') as { access: string; refresh: string } | null);
    const expiry = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString()).exp * 1000;
    const first = (await stored())!;
    const firstExpiry = expiry(first.access);
    // Waits for the clock, not for the page: until the first access token is well past its expiry.
    await eventually(() => Date.now() > firstExpiry + 2000, { timeoutMs: 15_000, what: 'the first access token expired' });

    const now = (await stored())!;
    assert.notEqual(now.access, first.access, 'a new access token');
    assert.ok(expiry(now.access) > Date.now(), 'the stored token is alive');
    // Still working, without a sign-in: a new chat arrives, and the rep answers and changes its status.
    // The test's own customer has short tokens too: a fresh one for the two calls that need it.
    const registered = await registerCustomer(server.url);
    const cust = { ...registered, ...(await login(server.url, registered.username, PW)) };
    const conv = await openConversation(server.url, cust);
    const c = connect(server.wsUrl, chatPath(conv), { token: cust.access });
    await c.waitType('assigned');
    c.send({ type: 'message', text: 'late in the token', client_id: 't1' });
    await seeMessage(a.page, 'late in the token');
    await send(a.page, 'still here');
    await c.waitFor((f) => f.type === 'message' && f.message === 'still here');
    await a.page.getByLabel('Status').selectOption('away');
    await eventually(async () => (await server.store.getRep(rep.id))?.status === 'away', { what: 'the status saved' });
    assert.deepEqual(unauthorized, [], 'no request was refused for an expired token: it was refreshed before');
    assert.equal(await a.page.getByLabel('Password').count(), 0, 'never asked to sign in again');

    const last = (await stored())!;
    await a.page.getByRole('button', { name: 'Sign out' }).click();
    await a.page.getByLabel('Password').waitFor();
    await eventually(async () => {
      const left = await a.page.evaluate(() => ({ local: Object.keys(localStorage), session: Object.keys(sessionStorage) }));
      assert.deepEqual(left, { local: [], session: [] });
      return true;
    }, { what: 'empty storage after sign-out' });
    // The refresh token died with the sign-out.
    assert.equal((await http(server.url, 'POST', '/auth/token/refresh/', { body: { refresh: last.refresh } })).status, 401);
    c.close();
    await a.context.close();
  });

  test('the tabs work from the keyboard: one tab stop, arrow keys switch, the panel follows', async () => {
    const server = await fresh();
    const { context, page } = await newPage(browser);
    await page.goto(`${server.url}/agent/`);
    const signInTab = page.getByRole('tab', { name: 'Sign in' });
    const signUpTab = page.getByRole('tab', { name: 'Create an account' });
    assert.deepEqual([await signInTab.getAttribute('tabindex'), await signUpTab.getAttribute('tabindex')], ['0', '-1']);
    await signInTab.focus();
    await page.keyboard.press('ArrowRight');
    assert.equal(await signUpTab.getAttribute('aria-selected'), 'true');
    assert.equal(await page.evaluate(() => document.activeElement?.textContent), 'Create an account');
    const panel = page.getByRole('tabpanel', { name: 'Create an account' });
    await panel.getByLabel('Email').waitFor();
    // Tab leaves the tab list for the panel's first field.
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'rep-up-username');
    await signUpTab.focus();
    await page.keyboard.press('ArrowLeft');
    await page.getByRole('tabpanel', { name: 'Sign in' }).getByLabel('Password').waitFor();
    await context.close();
  });

  test('with nobody online the widget says so and takes a message, which the rep who comes online answers', async () => {
    const server = await fresh();
    const rep = await registerRep(server.url, 2);
    assert.equal((await http(server.url, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status: 'offline' } })).status, 200);
    const cust = await registerCustomer(server.url);
    const c = await newPage(browser, PHONE);
    await signIn(c.page, `${server.url}/chat/`, cust.username, PW);
    await c.page.getByTestId('no-rep').waitFor();
    await c.page.getByRole('button', { name: 'Leave a message' }).click();
    await c.page.getByText('No rep is online. Write your message').waitFor();
    await send(c.page, 'Please call me about my invoice');
    await c.page.getByText('Your message is saved. A rep will answer here when they come online.').waitFor();
    await seeMessage(c.page, 'Please call me about my invoice');

    const a = await agent(server.url, rep);
    await a.page.getByLabel('Status').selectOption('online');
    await seeMessage(a.page, 'Please call me about my invoice');
    await send(a.page, 'Calling you in five minutes');
    await seeMessage(c.page, 'Calling you in five minutes');
    await c.page.getByText('You are chatting with').waitFor();
    for (const t of ['Please call me about my invoice', 'Calling you in five minutes']) {
      assert.equal(await countMessages(c.page, t), 1, `the widget shows "${t}" once`);
      assert.equal(await countMessages(a.page, t), 1, `the console shows "${t}" once`);
    }
    await a.context.close();
    await c.context.close();
  });
});
