/** What a cookie is written with. */
export interface CookieAttributes {
  path: string;
  maxAge?: number;
  httpOnly: boolean;
  secure: boolean;
  sameSite: 'Lax' | 'Strict' | 'None';
}

/** Browsers cap a cookie (name, value and attributes) near 4096 bytes; stay well below. */
export const maxCookieValueLength = 3800;
const maxChunks = 10;

/** Parses a `Cookie` request header. Malformed pairs are skipped; the first of a repeated name wins. */
export function parseCookieHeader(header: string | null): Map<string, string> {
  const cookies = new Map<string, string>();
  if (!header) return cookies;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq <= 0) continue;
    const name = part.slice(0, eq).trim();
    let value = part.slice(eq + 1).trim();
    if (value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
    if (!cookies.has(name)) cookies.set(name, value);
  }
  return cookies;
}

/** Serializes one `Set-Cookie` header value. */
export function serializeCookie(name: string, value: string, attrs: CookieAttributes): string {
  let out = `${name}=${value}; Path=${attrs.path}`;
  if (attrs.maxAge !== undefined) {
    out += `; Max-Age=${attrs.maxAge}`;
    if (attrs.maxAge <= 0) out += '; Expires=Thu, 01 Jan 1970 00:00:00 GMT';
  }
  if (attrs.httpOnly) out += '; HttpOnly';
  if (attrs.secure) out += '; Secure';
  out += `; SameSite=${attrs.sameSite}`;
  return out;
}

/** Reads a value that may have been split into chunks (`name.0`, `name.1`, …). */
export function readChunked(cookies: ReadonlyMap<string, string>, name: string): string | null {
  const whole = cookies.get(name);
  if (whole !== undefined) return whole;
  let joined = '';
  for (let i = 0; i < maxChunks; i++) {
    const part = cookies.get(`${name}.${i}`);
    if (part === undefined) break;
    joined += part;
  }
  return joined.length > 0 ? joined : null;
}

/**
 * The `Set-Cookie` values that store `value` under `name`, split into chunks when it is too long
 * for one cookie, and that clear whatever other form (whole or chunks) the browser still holds.
 */
export function writeChunked(
  cookies: ReadonlyMap<string, string>,
  name: string,
  value: string,
  attrs: CookieAttributes,
): string[] {
  const headers: string[] = [];
  if (value.length <= maxCookieValueLength) {
    headers.push(serializeCookie(name, value, attrs));
    for (const existing of chunkNames(cookies, name)) headers.push(expire(existing, attrs));
    return headers;
  }
  const count = Math.ceil(value.length / maxCookieValueLength);
  if (count > maxChunks) throw new RangeError(`cookie ${name} would need ${count} chunks`);
  for (let i = 0; i < count; i++) {
    headers.push(
      serializeCookie(
        `${name}.${i}`,
        value.slice(i * maxCookieValueLength, (i + 1) * maxCookieValueLength),
        attrs,
      ),
    );
  }
  if (cookies.has(name)) headers.push(expire(name, attrs));
  for (const existing of chunkNames(cookies, name)) {
    const index = Number(existing.slice(name.length + 1));
    if (index >= count) headers.push(expire(existing, attrs));
  }
  return headers;
}

/** The `Set-Cookie` values that clear `name` in every form. Clears the whole form even if not sent. */
export function clearChunked(
  cookies: ReadonlyMap<string, string>,
  name: string,
  attrs: CookieAttributes,
): string[] {
  return [expire(name, attrs), ...chunkNames(cookies, name).map((chunk) => expire(chunk, attrs))];
}

function chunkNames(cookies: ReadonlyMap<string, string>, name: string): string[] {
  const prefix = `${name}.`;
  return [...cookies.keys()].filter((k) => k.startsWith(prefix) && /^\d+$/.test(k.slice(prefix.length)));
}

function expire(name: string, attrs: CookieAttributes): string {
  return serializeCookie(name, '', { ...attrs, maxAge: 0 });
}
