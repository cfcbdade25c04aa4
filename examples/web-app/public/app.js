// Dashboard behaviour: token countdown, the protected API call and "Refresh now".
const life = document.getElementById('token-life');
function tick() {
  const left = Number(life.dataset.expiresAt) - Math.floor(Date.now() / 1000);
  life.textContent = left > 0 ? `${left} s` : 'expired (the next request refreshes it)';
}
tick();
setInterval(tick, 1000);

const result = document.getElementById('api-result');
document.getElementById('call-api').addEventListener('click', async () => {
  result.textContent = 'Calling /api/me…';
  const res = await window.sesameFetch('/api/me', { headers: { accept: 'application/json' } });
  const body = await res.json().catch(() => ({}));
  result.textContent = `${res.status} ${JSON.stringify(body, null, 2)}`;
  if (res.ok) {
    life.dataset.expiresAt = String(body.access_token_expires_at);
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
