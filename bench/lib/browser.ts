/**
 * A browser stand-in for the sign-in flows: one cookie jar per origin (host and port, so the
 * provider's and the apps' cookies never mix), no automatic redirects, and a driver that fills the
 * provider's sign-in form (email, password and the form's hidden fields).
 */
export class Browser {
  readonly #jars = new Map<string, Map<string, string>>();

  /** The cookies held for an origin, as a `Cookie` header value. */
  cookieHeader(origin: string): string {
    return [...(this.#jars.get(origin) ?? [])].map(([k, v]) => `${k}=${v}`).join('; ');
  }

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const { origin } = new URL(url);
    const headers = new Headers(init.headers);
    const cookie = this.cookieHeader(origin);
    if (cookie) headers.set('cookie', cookie);
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    const jar = this.#jars.get(origin) ?? new Map<string, string>();
    this.#jars.set(origin, jar);
    for (const line of res.headers.getSetCookie()) {
      const [pair = '', ...attrs] = line.split(';');
      const eq = pair.indexOf('=');
      const name = pair.slice(0, eq).trim();
      const value = pair.slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0\b/i.test(a.trim()) || /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    return res;
  }
}

const decodeEntities = (s: string) =>
  s.replace(/&(amp|quot|lt|gt|#39|#x27|#(\d+));/g, (_m, name: string, code?: string) => {
    if (code) return String.fromCharCode(Number(code));
    return (
      ({ amp: '&', quot: '"', lt: '<', gt: '>', '#39': "'", '#x27': "'" } as Record<string, string>)[name] ??
      ''
    );
  });

/** The first POST form of a page: where it goes and its hidden fields. */
function postForm(html: string, base: string): { action: string; hidden: Record<string, string> } | null {
  const form = /<form\b[^>]*>[\s\S]*?<\/form>/i.exec(html)?.[0];
  if (!form || !/method="post"/i.test(form)) return null;
  const action = /action="([^"]*)"/i.exec(form)?.[1] ?? '';
  const hidden: Record<string, string> = {};
  for (const input of form.matchAll(/<input\b[^>]*>/gi)) {
    const tag = input[0];
    if (!/type="hidden"/i.test(tag)) continue;
    const name = /name="([^"]*)"/i.exec(tag)?.[1];
    const value = /value="([^"]*)"/i.exec(tag)?.[1] ?? '';
    if (name) hidden[name] = decodeEntities(value);
  }
  return { action: new URL(decodeEntities(action), base).href, hidden };
}

/**
 * From `start`, follows redirects and submits the sign-in form with `credentials` until a
 * redirect leaves `providerOrigin` (to the app's redirect URI); returns that URL.
 */
export async function signInThrough(
  browser: Browser,
  start: Response | string,
  providerOrigin: string,
  credentials: { email: string; password: string },
): Promise<URL> {
  let res = typeof start === 'string' ? await browser.fetch(start) : start;
  let base = typeof start === 'string' ? start : providerOrigin;
  let submitted = false;
  for (let hops = 0; hops < 12; hops++) {
    const location = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && location) {
      const next = new URL(location, base);
      if (next.origin !== providerOrigin) return next;
      base = next.href;
      res = await browser.fetch(next.href);
      continue;
    }
    const html = await res.text();
    const form = res.status < 500 ? postForm(html, base) : null;
    if (!form || submitted || !/name="password"/.test(html)) {
      throw new Error(`sign-in stopped at ${res.status} ${base}: ${html.slice(0, 300)}`);
    }
    submitted = true;
    res = await browser.fetch(form.action, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ ...form.hidden, ...credentials }).toString(),
    });
    base = form.action;
  }
  throw new Error('sign-in: too many redirects');
}
