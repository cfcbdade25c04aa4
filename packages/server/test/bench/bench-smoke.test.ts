// `npm run bench` must not rot: its smoke mode runs every scenario for about a second against
// live processes (Sesame, oidc-provider, the two Express apps) and this test checks that each one
// got answers and no errors, and that the results keep their shape. It asserts no timing at all:
// speed is read from the full benchmark (docs/performance.md), never from tests.
import { beforeAll, describe, expect, it } from 'vitest';
import type { BenchResults } from '../../../../bench/lib/report.ts';
import { parseOptions, runBench, scenarioIds } from '../../../../bench/run.ts';

let results: BenchResults;

beforeAll(async () => {
  results = await runBench({ ...parseOptions(['--smoke']), log: () => {} });
}, 300_000);

describe('npm run bench -- --smoke', () => {
  it('runs every scenario once, in order', () => {
    expect(results.options).toMatchObject({ smoke: true, runs: 1, only: null });
    expect(results.scenarios.map((s) => s.id)).toEqual([...scenarioIds]);
  });

  it.each([...scenarioIds])('%s: Sesame and its peer both answer, with no errors', (id) => {
    const scenario = results.scenarios.find((s) => s.id === id);
    expect(scenario).toBeDefined();
    for (const side of [scenario!.sesame, scenario!.peer]) {
      expect(side.runs).toHaveLength(1);
      const [run] = side.runs;
      expect(run!.ok, `${id} against ${side.name}`).toBeGreaterThan(0);
      expect(run!.errors, `${id} against ${side.name}: ${JSON.stringify(run!.statusCodes)}`).toBe(0);
      expect(side.errors).toBe(0);
      expect(side.median).toEqual({
        rps: expect.any(Number),
        p50: expect.any(Number),
        p99: expect.any(Number),
        rssMb: expect.any(Number),
        cpu: { mainUs: expect.any(Number), otherUs: expect.any(Number), loadGeneratorUs: expect.any(Number) },
      });
    }
    expect(scenario!.timesPeer).toEqual(expect.any(Number));
    if (scenario!.ceiling) {
      expect(scenario!.ceiling).toEqual({
        kind: expect.stringMatching(/^(one-signature|two-signatures|argon2id)$/),
        perSecond: expect.any(Number),
        ratio: expect.any(Number),
      });
    }
  });

  it('measures the ceilings in the same run', () => {
    expect(results.ceilings?.runs).toHaveLength(1);
    expect(results.ceilings?.median).toEqual({
      rs256PerSecond: expect.any(Number),
      argon2idPerSecond: expect.any(Number),
    });
  });

  it('counts the database writes of refresh, code exchange and client_credentials', () => {
    const counts = results.writes?.counts;
    expect(Object.keys(counts ?? {}).sort()).toEqual([
      'authorization_code',
      'client_credentials',
      'refresh_token',
    ]);
    for (const count of Object.values(counts ?? {})) {
      expect(count).toEqual({
        requests: expect.any(Number),
        statementsPerRequest: expect.any(Number),
        rowsPerRequest: expect.any(Number),
        commitsPerRequest: expect.any(Number),
        example: expect.any(Array),
      });
    }
    expect(results.writes?.perRefresh).toBe(counts?.['refresh_token']?.statementsPerRequest);
  });

  it('reads the server RSS with sessions stored, and with none', () => {
    expect(results.sessionRss?.loaded.sessions).toBeGreaterThan(0);
    expect(results.sessionRss?.empty.sessions).toBe(0);
    for (const trace of [results.sessionRss?.loaded, results.sessionRss?.empty]) {
      expect(trace).toMatchObject({
        atStartMb: expect.any(Number),
        afterRequestsMb: expect.any(Number),
        settledMb: expect.any(Number),
        peakMb: expect.any(Number),
      });
      expect(trace!.settledMb).toBeGreaterThan(0);
    }
  });
});
