// The SDK scenario's app: Express 5 with `@sesame/sdk` (sealed cookie sessions, the default), one
// protected JSON route. Settings: BENCH_PORT, BENCH_ISSUER, BENCH_CLIENT_ID, BENCH_CLIENT_SECRET.
// Prints `{"ready":true}` once listening.
import { requireAuth, sesame } from '@sesame/sdk/express';
import express from 'express';

const env = (name: string) => process.env[name] as string;
const port = Number(env('BENCH_PORT'));
const origin = `http://127.0.0.1:${port}`;

const app = express();
app.disable('x-powered-by');
app.use(
  sesame({
    envUrl: env('BENCH_ISSUER'),
    clientId: env('BENCH_CLIENT_ID'),
    clientSecret: env('BENCH_CLIENT_SECRET'),
    redirectUri: `${origin}/auth/callback`,
    cookieSecret: 'bench-cookie-secret-bench-cookie-secret-0123',
    cookiePrefix: 'benchsdk',
  }),
);
app.get('/protected', requireAuth(), (req, res) => {
  res.json({ sub: req.user?.sub ?? null });
});

const server = app.listen(port, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ ready: true, origin })}\n`);
});
process.on('SIGTERM', () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
});
