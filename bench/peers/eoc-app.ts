// The SDK scenario's peer: the same Express 5 route protected by express-openid-connect 3
// (encrypted cookie sessions, its default), signed in with Sesame as the provider, asking for the
// same scopes with the authorization code flow. Settings: BENCH_PORT, BENCH_ISSUER,
// BENCH_CLIENT_ID, BENCH_CLIENT_SECRET. Prints `{"ready":true}` once listening.
import express from 'express';
import expressOpenidConnect from 'express-openid-connect';

// A CommonJS package: its named exports come through the default import.
const { auth, requiresAuth } = expressOpenidConnect;
const env = (name: string) => process.env[name] as string;
const port = Number(env('BENCH_PORT'));
const origin = `http://127.0.0.1:${port}`;

const app = express();
app.disable('x-powered-by');
app.use(
  auth({
    issuerBaseURL: env('BENCH_ISSUER'),
    baseURL: origin,
    clientID: env('BENCH_CLIENT_ID'),
    clientSecret: env('BENCH_CLIENT_SECRET'),
    clientAuthMethod: 'client_secret_post',
    secret: 'bench-cookie-secret-bench-cookie-secret-0123',
    authRequired: false,
    idpLogout: false,
    authorizationParams: { response_type: 'code', scope: 'openid profile email offline_access' },
  }),
);
app.get('/protected', requiresAuth(), (req, res) => {
  res.json({ sub: req.oidc.user?.['sub'] ?? null });
});

const server = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, origin })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
