// Dashboard behaviour: token countdown, the protected API call and "Refresh now".
const life = document.getElementById('token-life');
// Seconds the server's clock is ahead of this browser's: the countdown follows the server.
let skew = Number(life.dataset.serverNow) - Math.floor(Date.now() / 1000);
function tick() {
  const left = Number(life.dataset.expiresAt) - (Math.floor(Date.now() / 1000) + skew);
  life.textContent = left > 0 ? `${left} s` : 'expired (the next request refreshes it)';
}
tick();
setInterval(tick, 1000);

const result = document.getElementById('api-result');
document.getElementById('call-api').addEventListener('click', async () => {
  result.textContent = 'Calling /api/me…';
  const res = await window.sesameFetch('/api/me', { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  result.textContent = `${res.status} ${res.statusText}\n${JSON.stringify(body, null, 2)}`;
  if (res.ok) {
    life.dataset.expiresAt = String(body.access_token_expires_at);
    skew = body.access_token_expires_at - body.access_token_expires_in - Math.floor(Date.now() / 1000);
    tick();
  }
});

document.getElementById('refresh-now').addEventListener('click', async () => {
  const res = await fetch('/auth/refresh', { method: 'POST', headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  if (res.ok) {
    life.dataset.expiresAt = String(body.expires_at);
    tick();
    result.textContent = 'Tokens refreshed.';
  } else {
    location.assign('/auth/login?return_to=%2Fdashboard');
  }
});
