import { createHash, randomBytes } from 'node:crypto';
import type { TestServer } from './server.ts';

/**
 * A minimal browser stand-in for HTTP-level tests: keeps cookies per host, never follows
 * redirects on its own, and reads forms out of the hosted pages.
 */
export class Agent {
  readonly cookies = new Map<string, string>();

  async fetch(url: string, init: RequestInit = {}): Promise<Response> {
    const headers = new Headers(init.headers);
    if (this.cookies.size > 0)
      headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
    const res = await fetch(url, { ...init, headers, redirect: 'manual' });
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';');
      const eq = (pair as string).indexOf('=');
      const name = (pair as string).slice(0, eq).trim();
      const value = (pair as string).slice(eq + 1).trim();
      const expired = attrs.some((a) => /max-age=0/i.test(a) || /expires=Thu, 01 Jan 1970/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
    return res;
  }

  /** Submits a form as a browser would. */
  post(url: string, fields: Record<string, string>): Promise<Response> {
    return this.fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams(fields).toString(),
    });
  }
}

/** The value of a hidden input in a page. */
export function formField(html: string, name: string): string {
  const match =
    new RegExp(`name="${name}"[^>]*value="([^"]*)"`).exec(html) ??
    new RegExp(`value="([^"]*)"[^>]*name="${name}"`).exec(html);
  if (!match) throw new Error(`no ${name} field in page:\n${html.slice(0, 2000)}`);
  return decodeEntities(match[1] as string);
}

function decodeEntities(s: string): string {
  return s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&#x27;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');
}

/** A fresh PKCE pair (RFC 7636). */
export function pkcePair(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

export interface AuthorizeParams {
  client_id: string;
  redirect_uri: string;
  response_type?: string;
  scope?: string;
  state?: string;
  nonce?: string;
  [name: string]: string | undefined;
}

/** The authorization URL for some parameters. */
export function authorizeUrl(server: TestServer, params: AuthorizeParams): string {
  const query = new URLSearchParams();
  const all = { response_type: 'code', scope: 'openid profile email offline_access', ...params };
  for (const [k, v] of Object.entries(all)) if (v !== undefined) query.set(k, v);
  return `${server.url}/oauth/authorize?${query}`;
}

/** Follows redirects within the server until one leaves it (or a page is shown). */
export async function follow(agent: Agent, server: TestServer, res: Response): Promise<Response> {
  let current = res;
  for (let hops = 0; hops < 10; hops++) {
    const location = current.headers.get('location');
    if (current.status < 300 || current.status >= 400 || !location) return current;
    const next = new URL(location, server.url);
    if (next.origin !== server.url) return current;
    current = await agent.fetch(next.toString());
  }
  throw new Error('too many redirects');
}

/**
 * Runs authorize → sign-in page → password, returning the final redirect to the client (with
 * `code`) or whatever page stopped the flow.
 */
export async function signIn(
  agent: Agent,
  server: TestServer,
  params: AuthorizeParams,
  credentials: { email: string; password: string } = server.user,
): Promise<Response> {
  const page = await follow(agent, server, await agent.fetch(authorizeUrl(server, params)));
  if (page.status !== 200 || !(page.headers.get('content-type') ?? '').includes('text/html')) return page;
  const html = await page.text();
  if (!html.includes('name="password"'))
    throw new Error(`expected the sign-in page, got:\n${html.slice(0, 1500)}`);
  const res = await agent.post(`${server.url}/login`, {
    interaction: formField(html, 'interaction'),
    csrf_token: formField(html, 'csrf_token'),
    email: credentials.email,
    password: credentials.password,
  });
  return follow(agent, server, res);
}

/** The query parameters of a redirect to the client. */
export function redirectParams(res: Response): URLSearchParams {
  const location = res.headers.get('location');
  if (!location) throw new Error(`expected a redirect, got ${res.status}`);
  return new URL(location).searchParams;
}

/** POSTs a form to the token endpoint (client_secret_post unless told otherwise). */
export async function tokenRequest(
  server: TestServer,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  const res = await fetch(`${server.url}/oauth/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown>, headers: res.headers };
}

/** Signs in with the web app and exchanges the code: the seed's whole step 1–2. */
export async function signInAndExchange(
  agent: Agent,
  server: TestServer,
  options: { client?: TestServer['web']; scope?: string; extra?: Record<string, string> } = {},
): Promise<Record<string, unknown>> {
  const client = options.client ?? server.web;
  const res = await signIn(agent, server, {
    client_id: client.id,
    redirect_uri: client.redirectUri,
    state: 'st',
    nonce: 'n-0S6_WzA2Mj',
    ...(options.scope ? { scope: options.scope } : {}),
    ...options.extra,
  });
  const code = redirectParams(res).get('code');
  if (!code) throw new Error(`no code in ${res.headers.get('location')}`);
  const { status, body } = await tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUri,
    client_id: client.id,
    client_secret: client.secret ?? '',
  });
  if (status !== 200) throw new Error(`token exchange failed: ${JSON.stringify(body)}`);
  return body;
}

/** Runs authorize (sign-in, or single sign-on when the agent has a session) and returns the code. */
export async function authorizationCode(
  agent: Agent,
  server: TestServer,
  params: AuthorizeParams,
  credentials?: { email: string; password: string },
): Promise<string> {
  const res = await signIn(agent, server, params, credentials);
  const code = redirectParams(res).get('code');
  if (!code) throw new Error(`no code in ${res.headers.get('location')}`);
  return code;
}

/**
 * An `Authorization: Basic` value as RFC 6749 §2.3.1 wants it: client id and secret each
 * form-urlencoded (Appendix B), then joined by a colon and base64-encoded.
 */
export function basicAuth(id: string, secret: string): string {
  const encode = (s: string) => new URLSearchParams({ v: s }).toString().slice(2);
  return `Basic ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

/** POSTs a form to a path of the server and reads the answer (JSON when it is JSON). */
export async function postForm(
  server: TestServer,
  path: string,
  fields: Record<string, string>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; text: string; headers: Headers }> {
  const res = await fetch(`${server.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
  const text = await res.text();
  let body: Record<string, unknown> = {};
  if ((res.headers.get('content-type') ?? '').includes('json') && text !== '')
    body = JSON.parse(text) as Record<string, unknown>;
  return { status: res.status, body, text, headers: res.headers };
}

/** A hosted page reached from an authorization request, with the address it was served at. */
export interface HostedPage {
  res: Response;
  html: string;
  /** Where the page was served (e.g. `/login?interaction=…`), or null when no redirect led there. */
  url: string | null;
}

/**
 * Sends an authorization request and follows the server's redirects to the hosted page (sign-in,
 * sign-up, organization choice) without submitting anything; a redirect to the client is returned
 * as is, with an empty `html`.
 */
export async function openHostedPage(
  agent: Agent,
  server: TestServer,
  params: AuthorizeParams,
): Promise<HostedPage> {
  let res = await agent.fetch(authorizeUrl(server, params));
  let url: string | null = null;
  for (let hops = 0; hops < 10; hops++) {
    const location = res.headers.get('location');
    if (res.status < 300 || res.status >= 400 || !location) break;
    const next = new URL(location, server.url);
    if (next.origin !== server.url) return { res, html: '', url };
    url = `${next.pathname}${next.search}`;
    res = await agent.fetch(next.toString());
  }
  return { res, html: await res.text(), url };
}

/** Where a page's (first) POST form submits to, resolved against the server. */
export function formAction(server: TestServer, html: string): string {
  const match = /<form[^>]*method="post"[^>]*action="([^"]*)"/.exec(html);
  if (!match) throw new Error(`no form in page:\n${html.slice(0, 1500)}`);
  return new URL(decodeEntities(match[1] as string), server.url).toString();
}

/** Submits the sign-in form of a page as the person would, without following the answer. */
export function submitSignIn(
  agent: Agent,
  server: TestServer,
  html: string,
  credentials: { email: string; password: string },
): Promise<Response> {
  return agent.post(formAction(server, html), {
    interaction: formField(html, 'interaction'),
    csrf_token: formField(html, 'csrf_token'),
    email: credentials.email,
    password: credentials.password,
  });
}

/** Exchanges a code at the token endpoint for a web app (client_secret_post). */
export function exchangeCode(
  server: TestServer,
  client: TestServer['web'],
  code: string,
  extra: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown>; headers: Headers }> {
  return tokenRequest(server, {
    grant_type: 'authorization_code',
    code,
    redirect_uri: client.redirectUri,
    client_id: client.id,
    ...(client.secret ? { client_secret: client.secret } : {}),
    ...extra,
  });
}
