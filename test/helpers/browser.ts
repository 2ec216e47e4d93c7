// The browser harness that the console tests and `npm run screenshots` share: the built console, a real
// server, Debian's Chromium driven by playwright-core, and sign-in steps through the real UI.
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type BrowserContextOptions, type Page } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const PHONE = { width: 390, height: 760 };
export const DESKTOP = { width: 1280, height: 800 };

/** Builds web/dist if it is missing or older than its sources (the same step as npm start). */
export function ensureWebBuilt(): void {
  execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/build-web.mjs', import.meta.url))], { stdio: 'inherit' });
}

export function chromiumMissing(): string | undefined {
  return existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (apt-get install chromium)`;
}

export function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--no-sandbox', '--headless', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export async function newPage(browser: Browser, viewport = DESKTOP, options: BrowserContextOptions = {}): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ viewport, ...options });
  context.setDefaultTimeout(15_000);
  const page = await context.newPage();
  return { context, page };
}

/** Signs in through the page's own form. */
export async function signIn(page: Page, url: string, username: string, password: string): Promise<void> {
  await page.goto(url);
  await page.getByLabel('Username').fill(username);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Waits until the text shows as a message in the page's conversation. */
export async function seeMessage(page: Page, text: string): Promise<void> {
  await page.locator('.msg:not(.pending) .text', { hasText: text }).first().waitFor();
}

export async function countMessages(page: Page, text: string): Promise<number> {
  return page.locator('.msg .text').evaluateAll((els, t) => els.filter((e) => e.textContent === t).length, text);
}

export async function send(page: Page, text: string): Promise<void> {
  await page.getByPlaceholder(/Write a message/).fill(text);
  await page.getByPlaceholder(/Write a message/).press('Enter');
}
