import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import {
  type Browser,
  type BrowserContext,
  type BrowserContextOptions,
  chromium,
  type Page,
} from 'playwright-core';

/**
 * Debian's Chromium, headless, with nothing that phones home: the e2e suite never downloads a
 * browser (`npx playwright install` is not used anywhere).
 */
export const chromiumPath = '/usr/bin/chromium';

export const chromiumArgs = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Where full-page screenshots of the hosted pages are kept (repo-root `artifacts/`, git-ignored). */
export const screenshotDir = fileURLToPath(new URL('../../artifacts/screenshots/', import.meta.url));

/**
 * Launches one browser for a test file. Playwright gives every `launch` a fresh temporary profile
 * (its own `--user-data-dir`), removed again on `close`.
 */
export function launchBrowser(): Promise<Browser> {
  return chromium.launch({ executablePath: chromiumPath, args: chromiumArgs });
}

/**
 * A fresh context (its own cookie jar) with short timeouts, so a page that never shows up fails
 * the test in seconds rather than at the test timeout.
 */
export async function newContext(
  browser: Browser,
  options: BrowserContextOptions = {},
): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 800, height: 700 }, ...options });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  return context;
}

/** Saves a full-page PNG of what the page shows now, as `artifacts/screenshots/<name>.png`. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: `${screenshotDir}${name}.png`, fullPage: true });
}

/**
 * Records the URL of every document request of the page's main frame from now on, including each
 * hop of a redirect chain (which never commits and so fires no `framenavigated`).
 */
export function recordNavigations(page: Page): string[] {
  const urls: string[] = [];
  page.on('request', (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) urls.push(request.url());
  });
  return urls;
}

/** Waits until `text` is visible on the page (fails after the context's timeout). */
export async function waitForText(page: Page, text: string): Promise<void> {
  await page.getByText(text, { exact: false }).first().waitFor({ state: 'visible' });
}

/** What has keyboard focus: `input[name]`, or the button's or link's text. */
export function focusedElement(page: Page): Promise<string> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el || el === document.body) return 'body';
    const name = el.getAttribute('name');
    if (el instanceof HTMLInputElement && name) return `input[name=${name}]`;
    return `${el.tagName.toLowerCase()}:${(el.textContent ?? '').trim()}`;
  });
}

/**
 * Collects what a broken page shows in the console (a Content-Security-Policy violation, an
 * uncaught error) and every subresource (stylesheet, icon, image) that failed to load, in every
 * page of the context from now on. Error statuses of documents are the tests' own business.
 */
export function collectPageErrors(context: BrowserContext): string[] {
  const errors: string[] = [];
  context.on('console', (message) => {
    if (message.type() === 'error' && !message.text().startsWith('Failed to load resource'))
      errors.push(`${message.location().url}: ${message.text()}`);
  });
  context.on('weberror', (error) => errors.push(String(error.error())));
  context.on('response', (response) => {
    if (!response.request().isNavigationRequest() && response.status() >= 400)
      errors.push(`${response.url()}: HTTP ${response.status()}`);
  });
  context.on('requestfailed', (request) => {
    if (!request.isNavigationRequest()) errors.push(`${request.url()}: ${request.failure()?.errorText}`);
  });
  return errors;
}
