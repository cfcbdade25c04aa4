import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.ts';
import { type SesameSeed, seedSesame, startSesame } from './sesame.ts';

/** Resident memory (VmRSS, MB) of one Sesame process over its first minute, and what it stored. */
export interface RssTrace {
  /** Live sessions stored, each with a grant and a refresh token. */
  sessions: number;
  /** Right after start, before any request. */
  atStartMb: number;
  /** Right after the first requests of every kind. */
  afterRequestsMb: number;
  /** After `settleSeconds` more of light service (a few requests a second). */
  settledMb: number;
  peakMb: number;
  settleSeconds: number;
}

/** The 100k-session measurement: the loaded database, and an empty one measured the same way. */
export interface SessionRss {
  loaded: RssTrace;
  empty: RssTrace;
  seedSeconds: number;
}

async function trace(seed: SesameSeed, sessions: number, settleSeconds: number): Promise<RssTrace> {
  const server = await startSesame(seed);
  try {
    let peakMb = 0;
    const rss = () => {
      const mb = server.rssMb() ?? 0;
      peakMb = Math.max(peakMb, mb);
      return mb;
    };
    const atStartMb = rss();
    const post = async (fields: Record<string, string>) => {
      const res = await fetch(`${seed.issuer}/oauth/token`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields).toString(),
      });
      if (res.status !== 200) throw new Error(`rss: token ${res.status} ${await res.text()}`);
    };
    const machine = {
      grant_type: 'client_credentials',
      client_id: seed.m2m.id,
      client_secret: seed.m2m.secret,
      scope: 'read:users',
    };
    const rounds = Math.min(20, seed.refreshTokens.length);
    for (let i = 0; i < 20; i++) {
      await (await fetch(`${seed.issuer}/.well-known/openid-configuration`)).arrayBuffer();
      await (await fetch(`${seed.issuer}/keys`)).arrayBuffer();
      await post(machine);
      if (i < rounds) {
        await post({
          grant_type: 'refresh_token',
          // Spread over the whole table, so its pages are read from everywhere.
          refresh_token: seed.refreshTokens[Math.floor((i * seed.refreshTokens.length) / rounds)] as string,
          client_id: seed.web.id,
          client_secret: seed.web.secret,
        });
      }
    }
    const afterRequestsMb = rss();
    for (let s = 0; s < settleSeconds; s++) {
      await new Promise((resolve) => setTimeout(resolve, 1000));
      await (await fetch(`${seed.issuer}/keys`)).arrayBuffer();
      await post(machine);
      rss();
    }
    return { sessions, atStartMb, afterRequestsMb, settledMb: rss(), peakMb, settleSeconds };
  } finally {
    await server.stop();
  }
}

/**
 * Seeds `sessions` live sign-in sessions and their refresh tokens into a fresh SQLite file (store
 * API, in bulk), starts `sesame start` on it, sends requests of each kind (discovery, keys,
 * client_credentials, refreshes spread over the table), then keeps it in light service for
 * `settleSeconds`, reading VmRSS all along; then the same with an empty database, for comparison.
 */
export async function measureSessionRss(sessions: number, settleSeconds: number): Promise<SessionRss> {
  const dirs = [
    mkdtempSync(join(tmpdir(), 'sesame-bench-rss-')),
    mkdtempSync(join(tmpdir(), 'sesame-bench-rss-')),
  ];
  try {
    const seedOf = async (dir: string, refresh: number) =>
      seedSesame({
        dir,
        port: await freePort(),
        appRedirects: { sdk: 'http://127.0.0.1:1/auth/callback', eoc: 'http://127.0.0.1:2/callback' },
        refresh,
        codes: 0,
      });
    const t0 = performance.now();
    const loadedSeed = await seedOf(dirs[0] as string, sessions);
    const seedSeconds = (performance.now() - t0) / 1000;
    const loaded = await trace(loadedSeed, sessions, settleSeconds);
    const empty = await trace(await seedOf(dirs[1] as string, 0), 0, settleSeconds);
    return { loaded, empty, seedSeconds };
  } finally {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  }
}
