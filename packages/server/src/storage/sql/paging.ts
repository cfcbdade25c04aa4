import type { PageRequest } from '../store.ts';
import type { Page } from '../types.ts';

/** The opaque cursor after `id`: base64url, so clients do not build cursors from ids. */
export function encodeCursor(id: string): string {
  return Buffer.from(id, 'utf8').toString('base64url');
}

/** The id a cursor points after, or `null` for the first page. */
export function decodeCursor(cursor: string | null | undefined): string | null {
  return cursor ? Buffer.from(cursor, 'base64url').toString('utf8') : null;
}

/**
 * One keyset page ordered by id: `fetch` returns up to `limit` items with ids above `after` (it is
 * asked for one more, to learn whether a next page exists); `count` applies the same filter.
 */
export async function keysetPage<T extends { id: string }>(
  page: PageRequest,
  fetch: (after: string | null, limit: number) => Promise<T[]>,
  count: () => Promise<number>,
): Promise<Page<T>> {
  if (!Number.isSafeInteger(page.limit) || page.limit < 1) {
    throw new TypeError(`page limit must be a positive integer, got ${page.limit}`);
  }
  const rows = await fetch(decodeCursor(page.cursor), page.limit + 1);
  const totalSize = await count();
  const items = rows.slice(0, page.limit);
  const last = items.at(-1);
  return { items, nextCursor: rows.length > page.limit && last ? encodeCursor(last.id) : null, totalSize };
}
