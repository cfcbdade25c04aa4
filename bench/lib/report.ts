import type { LoadResult } from './load.ts';
import type { ProfileSummary } from './profile.ts';
import type { SessionRss } from './rss.ts';
import type { WriteCount } from './writes.ts';

/** The ceilings of one run, measured on one core. */
export interface Ceilings {
  rs256PerSecond: number;
  argon2idPerSecond: number;
}

export type CeilingKind = 'one-signature' | 'two-signatures' | 'argon2id';

/** CPU time per successful request (or completed flow), in µs, over one run. */
export interface CpuPerRequest {
  /** The server's JavaScript thread. */
  mainUs: number;
  /** The server's other threads: thread pool (signatures, argon2id), GC helpers. */
  otherUs: number;
  /** This process: autocannon or the sign-in flows. */
  loadGeneratorUs: number;
}

/** One side (Sesame or its peer) of a scenario: every run and the medians. */
export interface Side {
  name: string;
  runs: Array<LoadResult & { rssMb: number | null; cpu: CpuPerRequest }>;
  median: { rps: number; p50: number; p99: number; rssMb: number | null; cpu: CpuPerRequest };
  /** Errors summed over the runs. */
  errors: number;
}

/** What the issue asks of a scenario. */
export interface Target {
  minTimesPeer?: number;
  minOfCeiling?: number;
}

export interface ScenarioResult {
  id: string;
  title: string;
  sesame: Side;
  peer: Side;
  /** Median over runs of Sesame's rps divided by the peer's in the same run. */
  timesPeer: number;
  ceiling: { kind: CeilingKind; perSecond: number; ratio: number } | null;
  target: Target | null;
  met: boolean | null;
}

export interface BenchResults {
  date: string;
  machine: { cpus: number; node: string; loadAverage: number[] };
  options: { runs: number; seconds: number; connections: number; smoke: boolean; only: string[] | null };
  ceilings: { runs: Ceilings[]; median: Ceilings } | null;
  scenarios: ScenarioResult[];
  writes: { counts: Record<string, WriteCount>; perRefresh: number; target: number; met: boolean } | null;
  sessionRss: (SessionRss & { targetMb: number; met: boolean }) | null;
  profile: { sesame: ProfileSummary; sdkApp: ProfileSummary | null } | null;
}

export function median(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** The medians of a side's runs. */
export function summarize(name: string, runs: Side['runs']): Side {
  const rss = runs.map((r) => r.rssMb).filter((v): v is number => v !== null);
  return {
    name,
    runs,
    median: {
      rps: median(runs.map((r) => r.rps)),
      p50: median(runs.map((r) => r.p50)),
      p99: median(runs.map((r) => r.p99)),
      rssMb: rss.length > 0 ? median(rss) : null,
      cpu: {
        mainUs: median(runs.map((r) => r.cpu.mainUs)),
        otherUs: median(runs.map((r) => r.cpu.otherUs)),
        loadGeneratorUs: median(runs.map((r) => r.cpu.loadGeneratorUs)),
      },
    },
    errors: runs.reduce((sum, r) => sum + r.errors, 0),
  };
}

const fixed = (n: number, digits = 0) =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const pct = (ratio: number) => `${Math.round(ratio * 100)} %`;

/** The results as markdown: the scenario table, then writes per refresh and RSS. */
export function renderMarkdown(results: BenchResults): string {
  const lines: string[] = [];
  const { options } = results;
  lines.push(
    `Sesame vs peers — ${results.date}, ${results.machine.cpus} cores, Node ${results.machine.node}, ` +
      `${options.runs} run${options.runs === 1 ? '' : 's'} × ${options.seconds} s, ${options.connections} connections` +
      `${options.smoke ? ' (smoke: not a measurement)' : ''}; medians.`,
  );
  lines.push('');
  lines.push(
    '| scenario | Sesame rps | p50 ms | p99 ms | errors | RSS MB | peer | peer rps | p50 ms | p99 ms | errors | RSS MB | × peer | ceiling /s | % of ceiling | target | met |',
  );
  lines.push('|---|--:|--:|--:|--:|--:|---|--:|--:|--:|--:|--:|--:|--:|--:|---|:-:|');
  for (const s of results.scenarios) {
    const target = [
      s.target?.minTimesPeer !== undefined ? `≥ ${s.target.minTimesPeer}× peer` : null,
      s.target?.minOfCeiling !== undefined ? `≥ ${pct(s.target.minOfCeiling)} of ceiling` : null,
    ]
      .filter(Boolean)
      .join(', ');
    const ceilingLabel = s.ceiling
      ? `${fixed(s.ceiling.perSecond)} (${s.ceiling.kind === 'one-signature' ? '1 sig' : s.ceiling.kind === 'two-signatures' ? '½ sig' : 'argon2id'})`
      : '—';
    lines.push(
      `| ${s.title} | ${fixed(s.sesame.median.rps)} | ${fixed(s.sesame.median.p50, 1)} | ${fixed(s.sesame.median.p99, 1)} | ${s.sesame.errors} | ${s.sesame.median.rssMb ?? '—'} | ${s.peer.name} | ${fixed(s.peer.median.rps)} | ${fixed(s.peer.median.p50, 1)} | ${fixed(s.peer.median.p99, 1)} | ${s.peer.errors} | ${s.peer.median.rssMb ?? '—'} | ${fixed(s.timesPeer, 2)}× | ${ceilingLabel} | ${s.ceiling ? pct(s.ceiling.ratio) : '—'} | ${target || '—'} | ${s.met === null ? '' : s.met ? 'yes' : 'no'} |`,
    );
  }
  lines.push('');
  lines.push(
    '| CPU µs per request (per sign-in) | Sesame main thread | Sesame other threads | peer main thread | peer other threads | load generator (Sesame run) |',
  );
  lines.push('|---|--:|--:|--:|--:|--:|');
  for (const s of results.scenarios) {
    const a = s.sesame.median.cpu;
    const b = s.peer.median.cpu;
    lines.push(
      `| ${s.title} | ${fixed(a.mainUs)} | ${fixed(a.otherUs)} | ${fixed(b.mainUs)} | ${fixed(b.otherUs)} | ${fixed(a.loadGeneratorUs)} |`,
    );
  }
  if (results.ceilings) {
    const c = results.ceilings.median;
    lines.push('');
    lines.push(
      `Ceilings (one core, same run): RS256 ${fixed(c.rs256PerSecond)} signatures/s; argon2id (m=19456, t=2, p=1) ${fixed(c.argon2idPerSecond, 1)} verifications/s.`,
    );
  }
  if (results.writes) {
    const w = results.writes.counts;
    lines.push('');
    lines.push('| database writes per request | write statements | rows changed | commits |');
    lines.push('|---|--:|--:|--:|');
    for (const [kind, count] of Object.entries(w)) {
      lines.push(
        `| ${kind} (${count.requests} requests) | ${fixed(count.statementsPerRequest, 2)} | ${fixed(count.rowsPerRequest, 2)} | ${fixed(count.commitsPerRequest, 2)} |`,
      );
    }
    lines.push('');
    lines.push(
      `Writes per refresh: ${fixed(results.writes.perRefresh, 2)} (target ≤ ${results.writes.target}: ${results.writes.met ? 'met' : 'not met'}) — ${w['refresh_token']?.example.join('; ') ?? ''}`,
    );
  }
  if (results.sessionRss) {
    const { loaded, empty, targetMb, met } = results.sessionRss;
    lines.push('');
    lines.push(
      '| Sesame VmRSS, MB | at start | after first requests | peak | settled (after s in service) |',
    );
    lines.push('|---|--:|--:|--:|--:|');
    for (const t of [loaded, empty]) {
      lines.push(
        `| ${fixed(t.sessions)} live sessions + refresh tokens stored | ${t.atStartMb} | ${t.afterRequestsMb} | ${t.peakMb} | ${t.settledMb} (${t.settleSeconds} s) |`,
      );
    }
    lines.push('');
    lines.push(
      `RSS with ${fixed(loaded.sessions)} sessions stored, settled: ${loaded.settledMb} MB (target ≤ ${targetMb} MB: ${met ? 'met' : 'not met'}).`,
    );
  }
  if (results.profile) {
    for (const [label, summary] of [
      ['Sesame', results.profile.sesame],
      ['The SDK app', results.profile.sdkApp],
    ] as const) {
      if (!summary || summary.busyMs === 0) continue;
      lines.push('');
      lines.push(`${label} under load, CPU profile (${summary.busyMs} ms busy, all threads, idle left out):`);
      lines.push('');
      lines.push('| top functions by self time | location | self ms | % of busy |');
      lines.push('|---|---|--:|--:|');
      for (const e of summary.functions) {
        lines.push(
          `| ${e.function.replace(/\|/g, '\\|')} | ${e.location} | ${e.selfMs} | ${e.selfPercent} |`,
        );
      }
      lines.push('');
      lines.push('| self time by package / area | self ms | % of busy |');
      lines.push('|---|--:|--:|');
      for (const g of summary.groups) lines.push(`| ${g.name} | ${g.selfMs} | ${g.selfPercent} |`);
    }
  }
  return lines.join('\n');
}
