// How long a back-channel logout notice takes from the logout request to the app's receiver (issue 4:
// "the closing note gives the delivery latency from logout to receiver (median, measured)").
// Measured and printed, never asserted: timings belong in reports and benchmarks, not in asserts.
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { RegisteredClient, TestServer } from '../support/server.ts';
import { startTestServer } from '../support/server.ts';
import {
  decodeClaims,
  logout,
  type Receiver,
  registerApp,
  signInToApps,
  startReceiver,
  waitUntil,
} from './receiver.ts';

let server: TestServer;
let receiver: Receiver;
let app: RegisteredClient;

beforeAll(async () => {
  [server, receiver] = await Promise.all([startTestServer(), startReceiver()]);
  app = await registerApp(server, 'Timed App', receiver.uri('app'));
});

afterAll(async () => {
  await server?.close();
  await receiver?.close();
});

it('20 logouts in a row each reach the receiver once; the median latency is reported (spec: "sent off the request path")', async () => {
  const latencies: number[] = [];
  for (let i = 0; i < 20; i++) {
    const browser = await signInToApps(server, [app]);
    const started = performance.now();
    expect((await logout(server, browser, app)).status).toBe(303);
    let arrived: number | null = null;
    await waitUntil(`the notice for logout ${i + 1} arrives`, () => {
      const post = receiver
        .deliveredTo('app')
        .find((r) => decodeClaims(r.logoutToken as string)['sid'] === browser.sid);
      arrived = post?.at ?? null;
      return arrived !== null;
    });
    latencies.push((arrived as unknown as number) - started);
  }
  expect(receiver.deliveredTo('app')).toHaveLength(20);
  const sorted = latencies.slice().sort((a, b) => a - b);
  const median = ((sorted[9] as number) + (sorted[10] as number)) / 2;
  console.log(
    `back-channel logout latency, logout request -> receiver, 20 logouts: median ${median.toFixed(1)} ms, min ${sorted[0]?.toFixed(1)} ms, max ${sorted[19]?.toFixed(1)} ms`,
  );
});
