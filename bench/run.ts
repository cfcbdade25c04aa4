// `npm run bench`: Sesame against its peers, on live processes on 127.0.0.1.
//
//   npm run bench                        3 runs × 10 s per scenario, medians
//   npm run bench -- --smoke             1 run × 1 s, small pools: proves every scenario works
//   npm run bench -- --only refresh_token,sign_in --runs 5 --duration 20
//   npm run bench -- --profile           Sesame under --cpu-prof; prints its top functions
//
// Sesame (`sesame start`, SQLite file, RS256) and oidc-provider 9 run as separate processes; the
// SDK scenario runs two Express apps (one with @sesame/sdk, one with express-openid-connect),
// each signed in once with Sesame. Load comes from autocannon in this process. See
// docs/performance.md for what each scenario measures.
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { Browser, signInThrough } from './lib/browser.ts';
import { formPost, hammer, type LoadResult, loop, Pool, pooledPost } from './lib/load.ts';
import { type Child, freePort, repoRoot, runToEnd, startChild } from './lib/processes.ts';
import { monotonicMicros, summarizeProfile } from './lib/profile.ts';
import {
  type BenchResults,
  type CeilingKind,
  type Ceilings,
  median,
  renderMarkdown,
  type ScenarioResult,
  type Side,
  summarize,
  type Target,
} from './lib/report.ts';
import { measureSessionRss } from './lib/rss.ts';
import { benchUser, type MintedCode, seedSesame, startSesame, userScope } from './lib/sesame.ts';
import { countWrites } from './lib/writes.ts';

export const scenarioIds = [
  'client_credentials',
  'refresh_token',
  'authorization_code',
  'sign_in',
  'jwks',
  'discovery',
  'sdk_route',
] as const;
export const extraIds = ['writes', 'session_rss'] as const;
export type ScenarioId = (typeof scenarioIds)[number];

export interface BenchOptions {
  smoke: boolean;
  /** Scenario and extra ids to run; null for all. */
  only: string[] | null;
  runs: number;
  /** Seconds per scenario per server per run. */
  seconds: number;
  connections: number;
  /** Runs Sesame under --cpu-prof and reports its top functions. */
  profile: boolean;
  /** Progress lines (stderr by default). */
  log: (line: string) => void;
}

const tsx = ['--import', 'tsx'];

/** Target server of a scenario run. */
type Who = 'sesame' | 'peer';

interface Scenario {
  id: ScenarioId;
  title: string;
  peerName: string;
  ceiling: CeilingKind | null;
  target: Target | null;
  /** Called before each measured run (outside the measurement). */
  prepare?(who: Who): Promise<void>;
  run(who: Who, seconds: number): Promise<LoadResult>;
  process(who: Who): Child;
}

/** Parses the command line (see the header comment). */
export function parseOptions(argv: string[]): BenchOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      smoke: { type: 'boolean' },
      only: { type: 'string' },
      runs: { type: 'string' },
      duration: { type: 'string' },
      connections: { type: 'string' },
      profile: { type: 'boolean' },
    },
  });
  const smoke = values.smoke ?? false;
  const number = (name: string, value: string | undefined, fallback: number) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0) throw new TypeError(`--${name} must be a positive number`);
    return n;
  };
  const only = values.only ? values.only.split(',').map((s) => s.trim()) : null;
  for (const id of only ?? []) {
    if (![...scenarioIds, ...extraIds].includes(id as ScenarioId)) {
      throw new TypeError(
        `--only: unknown scenario ${id} (one of ${[...scenarioIds, ...extraIds].join(', ')})`,
      );
    }
  }
  return {
    smoke,
    only,
    runs: Math.round(number('runs', values.runs, smoke ? 1 : 3)),
    seconds: number('duration', values.duration, smoke ? 1 : 10),
    connections: Math.round(number('connections', values.connections, 10)),
    profile: values.profile ?? false,
    log: (line) => process.stderr.write(`${line}\n`),
  };
}

async function measureCeilings(seconds: number): Promise<Ceilings> {
  const out = await runToEnd({
    name: 'ceilings',
    script: 'bench/workers/ceilings.ts',
    args: [String(seconds)],
    nodeArgs: tsx,
  });
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Ceilings;
}

function pkce(): { verifier: string; challenge: string } {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

/** Runs the benchmark; returns the results (the caller prints and saves them). */
export async function runBench(options: BenchOptions): Promise<BenchResults> {
  const { log } = options;
  const wanted = (id: string) => options.only === null || options.only.includes(id);
  const scenariosWanted = scenarioIds.filter(wanted);
  const dir = mkdtempSync(join(tmpdir(), 'sesame-bench-'));
  const children: Child[] = [];
  // Outside `dir` (which is removed at the end), so the profile can be opened afterwards.
  const profileDir = options.profile ? mkdtempSync(join(tmpdir(), 'sesame-bench-profile-')) : null;
  const results: BenchResults = {
    date: new Date().toISOString(),
    machine: { cpus: availableParallelism(), node: process.versions.node, loadAverage: loadavg() },
    options: {
      runs: options.runs,
      seconds: options.seconds,
      connections: options.connections,
      smoke: options.smoke,
      only: options.only,
    },
    ceilings: null,
    scenarios: [],
    writes: null,
    sessionRss: null,
    profile: null,
  };
  const ceilingSeconds = options.smoke ? 0.5 : 3;
  try {
    const ceilingRuns: Ceilings[] = [];
    if (scenariosWanted.length > 0) {
      log('measuring the ceilings…');
      ceilingRuns.push(await measureCeilings(ceilingSeconds));

      // A refresh or a code exchange signs twice: with both cores signing and nothing else, a
      // server could do one ceiling's worth a second; half of that is already out of reach here.
      const first = ceilingRuns[0] as Ceilings;
      const poolSize = options.smoke
        ? 2000
        : Math.ceil(options.runs * options.seconds * first.rs256PerSecond * 0.5) + 1000;
      const [sesamePort, peerPort, sdkPort, eocPort] = await Promise.all([
        freePort(),
        freePort(),
        freePort(),
        freePort(),
      ]);
      const refreshCount = wanted('refresh_token') ? poolSize : 0;
      const codeCount = wanted('authorization_code') ? poolSize : 0;
      log(`seeding Sesame (${refreshCount} refresh tokens, ${codeCount} codes)…`);
      const seed = await seedSesame({
        dir,
        port: sesamePort,
        appRedirects: {
          sdk: `http://127.0.0.1:${sdkPort}/auth/callback`,
          eoc: `http://127.0.0.1:${eocPort}/callback`,
        },
        refresh: refreshCount,
        codes: codeCount,
      });
      const sesame = await startSesame(seed, { profileDir });
      children.push(sesame);
      log(`starting oidc-provider (minting ${refreshCount} refresh tokens, ${codeCount} codes)…`);
      const peerOut = join(dir, 'peer.json');
      const peer = await startChild({
        name: 'oidc-provider',
        script: 'bench/peers/oidc-provider-server.ts',
        nodeArgs: tsx,
        env: {
          BENCH_PORT: String(peerPort),
          BENCH_REFRESH: String(refreshCount),
          BENCH_CODES: String(codeCount),
          BENCH_OUT: peerOut,
        },
        ready: /"ready":true/,
        timeoutMs: 300_000,
      });
      children.push(peer);
      const peerSeed = JSON.parse(readFileSync(peerOut, 'utf8')) as {
        issuer: string;
        m2m: { id: string; secret: string };
        web: { id: string; secret: string; redirectUri: string };
        refreshTokens: string[];
        codes: MintedCode[];
      };

      const servers = {
        sesame: {
          issuer: seed.issuer,
          token: '/oauth/token',
          authorize: '/oauth/authorize',
          jwks: '/keys',
          m2m: seed.m2m,
          web: seed.web,
          refresh: new Pool(seed.refreshTokens),
          codes: new Pool(seed.codes),
          child: sesame,
        },
        peer: {
          issuer: peerSeed.issuer,
          token: '/token',
          authorize: '/auth',
          jwks: '/jwks',
          m2m: peerSeed.m2m,
          web: peerSeed.web,
          refresh: new Pool(peerSeed.refreshTokens),
          codes: new Pool(peerSeed.codes),
          child: peer,
        },
      };

      let apps: {
        sdk: Child;
        eoc: Child;
        cookies: Record<Who, string>;
        signIn(who: Who): Promise<void>;
      } | null = null;
      if (wanted('sdk_route')) {
        const appEnv = (port: number, client: { id: string; secret: string }) => ({
          BENCH_PORT: String(port),
          BENCH_ISSUER: seed.issuer,
          BENCH_CLIENT_ID: client.id,
          BENCH_CLIENT_SECRET: client.secret,
        });
        const [sdk, eoc] = await Promise.all([
          startChild({
            name: 'sdk-app',
            script: 'bench/peers/sdk-app.ts',
            nodeArgs: profileDir
              ? [...tsx, '--cpu-prof', `--cpu-prof-dir=${join(profileDir, 'sdk-app')}`]
              : tsx,
            env: appEnv(sdkPort, seed.sdkApp),
            ready: /"ready":true/,
          }),
          startChild({
            name: 'eoc-app',
            script: 'bench/peers/eoc-app.ts',
            nodeArgs: tsx,
            env: appEnv(eocPort, seed.eocApp),
            ready: /"ready":true/,
          }),
        ]);
        children.push(sdk, eoc);
        // One real sign-in per app, with Sesame as the provider, for a session cookie to replay.
        const appSignIn = async (origin: string, loginPath: string) => {
          const browser = new Browser();
          // The app's login redirects to Sesame; the flow ends with Sesame's redirect to the app.
          const callback = await signInThrough(browser, `${origin}${loginPath}`, seed.issuer, benchUser);
          const done = await browser.fetch(callback.href);
          if (done.status !== 302)
            throw new Error(`${origin} callback answered ${done.status}: ${await done.text()}`);
          const cookie = browser.cookieHeader(origin);
          const check = await fetch(`${origin}/protected`, {
            headers: { cookie, accept: 'application/json' },
          });
          if (check.status !== 200)
            throw new Error(`${origin}/protected answered ${check.status} after sign-in`);
          return cookie;
        };
        const cookies: Record<Who, string> = { sesame: '', peer: '' };
        apps = {
          sdk,
          eoc,
          cookies,
          // A fresh sign-in before each run: its access token (5 minutes) must outlive the run.
          signIn: async (who) => {
            cookies[who] =
              who === 'sesame'
                ? await appSignIn(`http://127.0.0.1:${sdkPort}`, '/auth/login')
                : await appSignIn(`http://127.0.0.1:${eocPort}`, '/login');
          },
        };
      }

      const connections = options.connections;
      const allScenarios: Scenario[] = [
        {
          id: 'client_credentials',
          title: 'client_credentials',
          peerName: 'oidc-provider',
          ceiling: 'one-signature',
          target: { minTimesPeer: 1.5, minOfCeiling: 0.7 },
          run: (who, seconds) => {
            const s = servers[who];
            return hammer({
              url: s.issuer,
              connections,
              seconds,
              requests: [
                formPost(s.token, {
                  grant_type: 'client_credentials',
                  client_id: s.m2m.id,
                  client_secret: s.m2m.secret,
                  scope: 'read:users',
                }),
              ],
            });
          },
          process: (who) => servers[who].child,
        },
        {
          id: 'refresh_token',
          title: 'refresh_token (rotation)',
          peerName: 'oidc-provider',
          ceiling: 'two-signatures',
          target: { minTimesPeer: 1.5, minOfCeiling: 0.65 },
          run: (who, seconds) => {
            const s = servers[who];
            return hammer({
              url: s.issuer,
              connections,
              seconds,
              requests: [
                pooledPost(s.token, s.refresh, (token) => ({
                  grant_type: 'refresh_token',
                  refresh_token: token,
                  client_id: s.web.id,
                  client_secret: s.web.secret,
                })),
              ],
            });
          },
          process: (who) => servers[who].child,
        },
        {
          id: 'authorization_code',
          title: 'code exchange',
          peerName: 'oidc-provider',
          ceiling: 'two-signatures',
          target: null,
          run: (who, seconds) => {
            const s = servers[who];
            return hammer({
              url: s.issuer,
              connections,
              seconds,
              requests: [
                pooledPost(s.token, s.codes, ({ code, verifier }) => ({
                  grant_type: 'authorization_code',
                  code,
                  code_verifier: verifier,
                  redirect_uri: s.web.redirectUri,
                  client_id: s.web.id,
                  client_secret: s.web.secret,
                })),
              ],
            });
          },
          process: (who) => servers[who].child,
        },
        {
          id: 'sign_in',
          title: 'password sign-in (authorize → form → code → token)',
          peerName: 'oidc-provider',
          ceiling: 'argon2id',
          target: { minOfCeiling: 0.8 },
          run: (who, seconds) => {
            const s = servers[who];
            return loop({
              concurrency: 8,
              seconds,
              flow: async () => {
                const browser = new Browser();
                const { verifier, challenge } = pkce();
                const state = randomBytes(8).toString('hex');
                const query = new URLSearchParams({
                  response_type: 'code',
                  client_id: s.web.id,
                  redirect_uri: s.web.redirectUri,
                  scope: userScope.join(' '),
                  state,
                  nonce: randomBytes(8).toString('hex'),
                  code_challenge: challenge,
                  code_challenge_method: 'S256',
                });
                const back = await signInThrough(
                  browser,
                  `${s.issuer}${s.authorize}?${query}`,
                  s.issuer,
                  benchUser,
                );
                const code = back.searchParams.get('code');
                if (!code || back.searchParams.get('state') !== state)
                  throw new Error(`no code in ${back.href}`);
                const res = await fetch(`${s.issuer}${s.token}`, {
                  method: 'POST',
                  headers: { 'content-type': 'application/x-www-form-urlencoded' },
                  body: new URLSearchParams({
                    grant_type: 'authorization_code',
                    code,
                    code_verifier: verifier,
                    redirect_uri: s.web.redirectUri,
                    client_id: s.web.id,
                    client_secret: s.web.secret,
                  }).toString(),
                });
                const body = (await res.json()) as { id_token?: string };
                if (res.status !== 200 || !body.id_token)
                  throw new Error(`token: ${res.status} ${JSON.stringify(body)}`);
              },
            });
          },
          process: (who) => servers[who].child,
        },
        {
          id: 'jwks',
          title: '/keys (JWKS)',
          peerName: 'oidc-provider',
          ceiling: null,
          target: null,
          run: (who, seconds) =>
            hammer({
              url: servers[who].issuer,
              connections,
              seconds,
              requests: [{ method: 'GET', path: servers[who].jwks }],
            }),
          process: (who) => servers[who].child,
        },
        {
          id: 'discovery',
          title: 'discovery',
          peerName: 'oidc-provider',
          ceiling: null,
          target: null,
          run: (who, seconds) =>
            hammer({
              url: servers[who].issuer,
              connections,
              seconds,
              requests: [{ method: 'GET', path: '/.well-known/openid-configuration' }],
            }),
          process: (who) => servers[who].child,
        },
        {
          id: 'sdk_route',
          title: 'Express route behind @sesame/sdk',
          peerName: 'express-openid-connect',
          ceiling: null,
          target: { minTimesPeer: 2 },
          prepare: (who) => (apps as NonNullable<typeof apps>).signIn(who),
          run: (who, seconds) => {
            const a = apps as NonNullable<typeof apps>;
            const child = who === 'sesame' ? a.sdk : a.eoc;
            return hammer({
              url: `http://127.0.0.1:${who === 'sesame' ? sdkPort : eocPort}`,
              connections,
              seconds,
              requests: [
                {
                  method: 'GET',
                  path: '/protected',
                  headers: {
                    cookie: a.cookies[who],
                    accept: 'application/json',
                  },
                },
              ],
            }).then((r) => {
              if (!child.rssMb()) throw new Error(`${child.name} exited: ${child.stderr()}`);
              return r;
            });
          },
          process: (who) => (apps as NonNullable<typeof apps>)[who === 'sesame' ? 'sdk' : 'eoc'],
        },
      ];
      const scenarios = allScenarios.filter((s) => wanted(s.id));

      // When each process was under load (monotonic µs), to profile only those moments.
      const sesameWindows: Array<[number, number]> = [];
      const sdkWindows: Array<[number, number]> = [];
      const runsBy = new Map<ScenarioId, Record<Who, Side['runs']>>();
      for (const s of scenarios) runsBy.set(s.id, { sesame: [], peer: [] });
      for (let run = 0; run < options.runs; run++) {
        if (run > 0) ceilingRuns.push(await measureCeilings(ceilingSeconds));
        for (const s of scenarios) {
          // Alternate who goes first, so neither always meets a warmer (or busier) machine.
          const order: Who[] = run % 2 === 0 ? ['sesame', 'peer'] : ['peer', 'sesame'];
          for (const who of order) {
            await s.prepare?.(who);
            const server = s.process(who);
            const cpuBefore = server.cpuMs();
            const ownBefore = process.cpuUsage();
            const started = monotonicMicros();
            const result = await s.run(who, options.seconds);
            if (who === 'sesame')
              (s.id === 'sdk_route' ? sdkWindows : sesameWindows).push([started, monotonicMicros()]);
            const own = process.cpuUsage(ownBefore);
            const cpuAfter = server.cpuMs();
            const per = (us: number) => (result.ok > 0 ? us / result.ok : 0);
            const cpu = {
              mainUs: per((cpuAfter.mainMs - cpuBefore.mainMs) * 1000),
              otherUs: per((cpuAfter.otherMs - cpuBefore.otherMs) * 1000),
              loadGeneratorUs: per(own.user + own.system),
            };
            const rssMb = server.rssMb();
            (runsBy.get(s.id) as Record<Who, Side['runs']>)[who].push({ ...result, rssMb, cpu });
            log(
              `run ${run + 1}/${options.runs} ${s.id} ${who}: ${Math.round(result.rps)} /s, p50 ${result.p50} ms, p99 ${result.p99} ms, errors ${result.errors}, RSS ${rssMb} MB`,
            );
            if (result.errors > 0) {
              const detail = 'failures' in result ? result.failures : result.statusCodes;
              log(`  errors: ${JSON.stringify(detail)}`);
            }
          }
        }
      }
      const ceilings: Ceilings = {
        rs256PerSecond: median(ceilingRuns.map((c) => c.rs256PerSecond)),
        argon2idPerSecond: median(ceilingRuns.map((c) => c.argon2idPerSecond)),
      };
      results.ceilings = { runs: ceilingRuns, median: ceilings };
      for (const s of scenarios) {
        const runs = runsBy.get(s.id) as Record<Who, Side['runs']>;
        const sesameSide = summarize('Sesame', runs.sesame);
        const peerSide = summarize(s.peerName, runs.peer);
        const timesPeer = median(
          runs.sesame.map((r, i) => {
            const peerRps = runs.peer[i]?.rps ?? 0;
            return peerRps > 0 ? r.rps / peerRps : 0;
          }),
        );
        const ceilingOf = (c: Ceilings) =>
          s.ceiling === 'one-signature'
            ? c.rs256PerSecond
            : s.ceiling === 'two-signatures'
              ? c.rs256PerSecond / 2
              : c.argon2idPerSecond;
        const ceiling = s.ceiling
          ? {
              kind: s.ceiling,
              perSecond: ceilingOf(ceilings),
              ratio: median(runs.sesame.map((r, i) => r.rps / ceilingOf(ceilingRuns[i] ?? ceilings))),
            }
          : null;
        const met = s.target
          ? (s.target.minTimesPeer === undefined || timesPeer >= s.target.minTimesPeer) &&
            (s.target.minOfCeiling === undefined || (ceiling?.ratio ?? 0) >= s.target.minOfCeiling)
          : null;
        const result: ScenarioResult = {
          id: s.id,
          title: s.title,
          sesame: sesameSide,
          peer: peerSide,
          timesPeer,
          ceiling,
          target: s.target,
          met,
        };
        results.scenarios.push(result);
      }
      for (const child of children.splice(0)) await child.stop();
      if (profileDir) {
        results.profile = {
          sesame: summarizeProfile(profileDir, sesameWindows),
          sdkApp: sdkWindows.length > 0 ? summarizeProfile(join(profileDir, 'sdk-app'), sdkWindows) : null,
        };
        log(`CPU profiles: ${profileDir} (Sesame), ${join(profileDir, 'sdk-app')} (the SDK app)`);
      }
    }

    if (wanted('writes')) {
      log('counting database writes per request…');
      const counts = await countWrites(options.smoke ? 20 : 500);
      const perRefresh = counts['refresh_token']?.statementsPerRequest ?? Number.NaN;
      results.writes = { counts, perRefresh, target: 3, met: perRefresh <= 3 };
    }
    if (wanted('session_rss')) {
      const sessions = options.smoke ? 1000 : 100_000;
      log(`measuring RSS with ${sessions} stored sessions…`);
      const rss = await measureSessionRss(sessions, options.smoke ? 1 : 30);
      results.sessionRss = { ...rss, targetMb: 150, met: rss.loaded.settledMb <= 150 };
    }
    return results;
  } finally {
    for (const child of children) await child.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const options = parseOptions(process.argv.slice(2));
  const results = await runBench(options);
  process.stdout.write(`${renderMarkdown(results)}\n`);
  // Only a full run is a result to keep; partial and smoke runs go to the temporary directory.
  const full = !options.smoke && options.only === null;
  const resultsDir = full ? join(repoRoot, 'bench', 'results') : tmpdir();
  mkdirSync(resultsDir, { recursive: true });
  const file = join(
    resultsDir,
    full ? `${results.date.slice(0, 10)}.json` : `sesame-bench-${Date.now()}.json`,
  );
  writeFileSync(file, `${JSON.stringify(results, null, 2)}\n`);
  process.stderr.write(`results written to ${file}\n`);
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  main().catch((err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exitCode = 1;
  });
}
