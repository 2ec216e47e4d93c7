// `npm run screenshots`: every console screen, desktop size, plus the widget at phone size, into
// docs/screenshots/, with the browser tests' harness and a throwaway server and data.
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { startServer } from '../test/helpers/server.ts';
import { http, registerCustomer, registerRep } from '../test/helpers/client.ts';
import { ADMIN_PASSWORD, createAdmin } from '../test/helpers/http-fixtures.ts';
import { DESKTOP, ensureWebBuilt, launchBrowser, newPage, PHONE, seeMessage, send, signIn } from '../test/helpers/browser.ts';

const out = process.argv[2] ?? fileURLToPath(new URL('../docs/screenshots/', import.meta.url));
mkdirSync(out, { recursive: true });
ensureWebBuilt();
const server = await startServer();
const browser = await launchBrowser();
const base = server.url;
const shot = async (page: import('playwright-core').Page, name: string) => {
  await page.screenshot({ path: `${out}/${name}.png` });
  process.stdout.write(`${out}/${name}.png\n`);
};
try {
  const rep = await registerRep(base, 1, 'ann');
  const cust = await registerCustomer(base, 'bob');
  const waiting = await registerCustomer(base, 'carol');
  const admin = await createAdmin(base, server.store, 'admin');

  const signInPage = await newPage(browser, PHONE);
  await signInPage.page.goto(`${base}/chat/`);
  await shot(signInPage.page, 'widget-sign-in-phone');

  const a = await newPage(browser, DESKTOP);
  await a.page.goto(`${base}/agent/`);
  await a.page.getByLabel('Password').waitFor();
  await shot(a.page, 'agent-sign-in');
  await signIn(a.page, `${base}/agent/`, rep.username, 'pw-123456');
  await a.page.getByTestId('chat-list').waitFor();

  const c = await newPage(browser, PHONE);
  await signIn(c.page, `${base}/chat/`, cust.username, 'pw-123456');
  await c.page.getByRole('button', { name: 'Start a conversation' }).waitFor();
  await shot(c.page, 'widget-home-phone');
  await c.page.getByRole('button', { name: 'Start a conversation' }).click();
  await c.page.getByText('You are chatting with').waitFor();
  await send(c.page, 'Hi! My parcel has not arrived yet.');
  await seeMessage(a.page, 'Hi! My parcel has not arrived yet.');
  await send(a.page, 'Sorry to hear that. Could you give me the order number?');
  await seeMessage(c.page, 'Sorry to hear that');
  await send(c.page, 'It is 4711.');
  await seeMessage(a.page, 'It is 4711.');

  const w = await newPage(browser, PHONE);
  await signIn(w.page, `${base}/chat/`, waiting.username, 'pw-123456');
  await w.page.getByRole('button', { name: 'Start a conversation' }).click();
  await w.page.getByText('You are number 1 in the queue').waitFor();
  await shot(w.page, 'widget-queued-phone');
  await c.page.locator('.msg.mine .read').waitFor();
  await shot(c.page, 'widget-chat-phone');
  await a.page.getByText('Queue: 1 waiting').waitFor();
  await shot(a.page, 'agent-console');

  const d = await newPage(browser, DESKTOP);
  await signIn(d.page, `${base}/admin/`, admin.username, ADMIN_PASSWORD);
  await d.page.getByTestId('fig-queue').waitFor();
  await d.page.locator('tr[data-rep="ann"]').waitFor();
  await d.page.setViewportSize({ width: 1280, height: 1400 });
  await shot(d.page, 'supervisor');

  await a.page.getByRole('button', { name: 'Close chat' }).click();
  await c.page.getByText('This chat is closed.').waitFor();
  await shot(c.page, 'widget-rating-phone');
  await a.page.locator('.chat-item', { hasText: 'carol' }).waitFor();
  await shot(a.page, 'agent-console-next');
  // Past conversations: the History tab, with the closed chat open read-only.
  await a.page.getByRole('tab', { name: 'History' }).click();
  await a.page.locator('.history .chat-item', { hasText: 'bob' }).click();
  await seeMessage(a.page, 'It is 4711.');
  await shot(a.page, 'agent-history');
  const offline = await http(base, 'PATCH', '/api/reps/me/', { token: rep.access, body: { status: 'offline' } });
  if (offline.status !== 200) throw new Error('could not set the rep offline');
  const o = await newPage(browser, PHONE);
  await signIn(o.page, `${base}/chat/`, (await registerCustomer(base, 'dave')).username, 'pw-123456');
  await o.page.getByTestId('no-rep').waitFor();
  await shot(o.page, 'widget-no-rep-phone');
  await o.page.getByRole('button', { name: 'Leave a message' }).click();
  await send(o.page, 'Please call me back about my invoice.');
  await o.page.getByText('Your message is saved.').waitFor();
  await shot(o.page, 'widget-left-message-phone');
} finally {
  await browser.close();
  await server.stop({ wipe: true });
}
