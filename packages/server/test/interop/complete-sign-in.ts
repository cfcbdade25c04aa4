import { type Agent, follow, formField } from '../support/agent.ts';
import type { TestServer } from '../support/server.ts';

/**
 * Plays the browser for an authorization URL built by a third-party library: follows it to the
 * hosted sign-in page (unless single sign-on answers at once), submits the password form and
 * returns the URL the server finally redirects to, on the app's side (`code`, `state`, `iss`).
 */
export async function completeSignIn(
  agent: Agent,
  server: TestServer,
  authorizationUrl: string | URL,
  credentials: { email: string; password: string } = server.user,
): Promise<URL> {
  let res = await follow(agent, server, await agent.fetch(authorizationUrl.toString()));
  if (res.status === 200) {
    const html = await res.text();
    if (!html.includes('name="password"')) throw new Error(`expected the sign-in page, got:\n${html}`);
    const posted = await agent.post(`${server.url}/login`, {
      interaction: formField(html, 'interaction'),
      csrf_token: formField(html, 'csrf_token'),
      email: credentials.email,
      password: credentials.password,
    });
    res = await follow(agent, server, posted);
  }
  const location = res.headers.get('location');
  if (res.status < 300 || res.status >= 400 || !location) {
    throw new Error(`expected a redirect to the app, got ${res.status}:\n${await res.text()}`);
  }
  return new URL(location, server.url);
}

/** The method and path of every request the server logged after `from` (an index into its logs). */
export function requestsSince(server: TestServer, from: number): string[] {
  return server.logs
    .slice(from)
    .map((line) => JSON.parse(line) as { msg?: string; method?: string; path?: string })
    .filter((entry) => entry.msg === 'request')
    .map((entry) => `${entry.method} ${entry.path}`);
}
