import type { Page } from 'playwright-core';
import { expect } from 'vitest';
import type { TestServer } from '../../packages/server/test/support/server.ts';

/** Asserts the page is Sesame's own sign-in page (its origin, its heading, its fields). */
export async function expectSignInPage(page: Page, server: TestServer): Promise<void> {
  await page.getByRole('heading', { level: 1, name: 'Sign in' }).waitFor();
  const url = new URL(page.url());
  expect(url.origin).toBe(server.url);
  expect(url.pathname).toBe('/login');
}

/** Fills the sign-in form by its labels and presses "Sign in". */
export async function submitSignIn(
  page: Page,
  credentials: { email: string; password: string },
): Promise<void> {
  await page.getByLabel('Email', { exact: true }).fill(credentials.email);
  await page.getByLabel('Password', { exact: true }).fill(credentials.password);
  await page.getByRole('button', { name: 'Sign in', exact: true }).click();
}

/** Waits for a relying party page saying who is signed in, and checks its origin. */
export async function expectSignedInAt(page: Page, app: { url: string }, email: string): Promise<void> {
  await page.getByRole('heading', { name: `Signed in as ${email}` }).waitFor();
  expect(new URL(page.url()).origin).toBe(app.url);
}
