// Opaque page tokens of the management listings. The store pages forward only (keyset on id), so
// a token carries the position of its page (`a`: the store's cursor, or the last key of the page
// before) and the positions of the pages before it (`b`), which makes `prev_page_token` a cursor
// too. Tokens name their listing (`k`), so one listing's token is refused by another.
import type { Page } from '../storage/types.ts';
import { invalidField } from './errors.ts';

/** How many earlier positions a token keeps; further back, `prev_page_token` is empty. */
const maxBack = 50;

interface Position {
  k: string;
  a: string | null;
  b: Array<string | null>;
  /** Set once earlier positions were dropped: the first kept one has no known predecessor. */
  t?: 1;
}

/** A decoded `page_token`: where the page starts. */
export interface PagePosition {
  after: string | null;
  readonly position: Position;
}

/** Reads a `page_token` ("" for the first page); a malformed or foreign one is `InvalidArgument`. */
export function readPageToken(field: string, token: string, listing: string): PagePosition {
  if (token === '') return { after: null, position: { k: listing, a: null, b: [] } };
  let position: unknown;
  try {
    if (token.length > 8192 || !/^[A-Za-z0-9_-]+$/.test(token)) throw new Error('malformed');
    position = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
  } catch {
    throw invalidField(field, 'is not a page token of this listing');
  }
  const isPosition = (p: unknown): p is Position => {
    if (typeof p !== 'object' || p === null) return false;
    const { k, a, b } = p as Record<string, unknown>;
    return (
      k === listing &&
      (a === null || typeof a === 'string') &&
      Array.isArray(b) &&
      b.length <= maxBack &&
      b.every((x) => x === null || typeof x === 'string')
    );
  };
  if (!isPosition(position)) throw invalidField(field, 'is not a page token of this listing');
  return { after: position.a, position };
}

function encode(position: Position): string {
  return Buffer.from(JSON.stringify(position), 'utf8').toString('base64url');
}

/** The `next_page_token` and `prev_page_token` around a page that started at `current`. */
export function pageTokens(
  current: PagePosition,
  next: string | null,
): { nextPageToken: string; prevPageToken: string } {
  const { position } = current;
  let nextPageToken = '';
  if (next !== null) {
    const back = [...position.b, position.a];
    const truncated = back.length > maxBack;
    nextPageToken = encode({
      k: position.k,
      a: next,
      b: truncated ? back.slice(-maxBack) : back,
      ...(truncated || position.t ? { t: 1 as const } : {}),
    });
  }
  let prevPageToken = '';
  if (position.b.length > 0) {
    prevPageToken = encode({
      k: position.k,
      a: position.b.at(-1) ?? null,
      b: position.b.slice(0, -1),
      ...(position.t ? { t: 1 as const } : {}),
    });
  }
  return { nextPageToken, prevPageToken };
}

/** The paging fields of a listing's response. */
export interface PageTokens {
  nextPageToken: string;
  prevPageToken: string;
  totalSize: number;
}

/** A store page answered with its tokens. */
export function storePage<T>(current: PagePosition, page: Page<T>): { items: T[]; tokens: PageTokens } {
  return {
    items: page.items,
    tokens: { totalSize: page.totalSize, ...pageTokens(current, page.nextCursor) },
  };
}

/** Pages a list held in memory, ordered by `key` (unique, ascending). */
export function memoryPage<T>(
  current: PagePosition,
  all: T[],
  key: (item: T) => string,
  size: number,
): { items: T[]; tokens: PageTokens } {
  const sorted = [...all].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0));
  const after = current.after;
  const rest = after === null ? sorted : sorted.filter((item) => key(item) > after);
  const items = rest.slice(0, size);
  const last = items.at(-1);
  const next = rest.length > size && last !== undefined ? key(last) : null;
  return { items, tokens: { totalSize: all.length, ...pageTokens(current, next) } };
}
