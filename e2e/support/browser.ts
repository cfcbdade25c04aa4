import { mkdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, type BrowserContextOptions, chromium, type Page } from 'playwright-core';

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
export async function newContext(browser: Browser, options: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({ viewport: { width: 800, height: 700 }, ...options });
  context.setDefaultTimeout(5000);
  context.setDefaultNavigationTimeout(10_000);
  return context;
}

/** Saves a full-page PNG of what the page shows now, as `artifacts/screenshots/<name>.png`. */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  await mkdir(screenshotDir, { recursive: true });
  await page.screenshot({ path: `${screenshotDir}${name}.png`, fullPage: true });
}

/** Records every URL the page's main frame navigates to, from now on. */
export function recordNavigations(page: Page): string[] {
  const urls: string[] = [];
  page.on('framenavigated', (frame) => {
    if (frame === page.mainFrame()) urls.push(frame.url());
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
