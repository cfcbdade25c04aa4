/**
 * The tiny browser helper, as a script to serve (or inline) in pages: `sesameFetch(input, init)`
 * behaves like `fetch`, and when an API answers 401 `token_expired` it POSTs the refresh route
 * once (shared by concurrent calls) and retries. A failed refresh sends the page to sign-in.
 */
export function browserRefreshHelper(
  routes: { refresh: string; login: string } = { refresh: '/auth/refresh', login: '/auth/login' },
): string {
  return `(() => {
  let refreshing = null;
  function refresh() {
    refreshing ??= fetch(${JSON.stringify(routes.refresh)}, { method: 'POST', credentials: 'same-origin', headers: { accept: 'application/json' } })
      // Read the body to its end: an unread one stays loading, and the next navigation aborts it.
      .then((res) => res.text().then(() => res, () => res))
      .finally(() => { setTimeout(() => { refreshing = null; }, 0); });
    return refreshing;
  }
  async function sesameFetch(input, init) {
    const first = await fetch(input, { credentials: 'same-origin', ...init });
    if (first.status !== 401) return first;
    const body = await first.clone().json().catch(() => null);
    if (!body || body.error !== 'token_expired') {
      if (body && body.error === 'login_required') location.assign(${JSON.stringify(routes.login)} + '?return_to=' + encodeURIComponent(location.pathname + location.search));
      return first;
    }
    const refreshed = await refresh();
    if (!refreshed.ok) {
      location.assign(${JSON.stringify(routes.login)} + '?return_to=' + encodeURIComponent(location.pathname + location.search));
      return first;
    }
    return fetch(input, { credentials: 'same-origin', ...init });
  }
  window.sesameFetch = sesameFetch;
})();`;
}
