import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { repoRoot } from './processes.ts';

/** One function's share of a CPU profile. */
export interface ProfileEntry {
  function: string;
  /** `file:line`, relative to the repository when inside it. */
  location: string;
  selfMs: number;
  /** Share of the time the thread was busy (not idle) under load. */
  selfPercent: number;
}

/** Self time grouped by where the code lives (an npm package, a Node area, a source file). */
export interface ProfileGroup {
  name: string;
  selfMs: number;
  selfPercent: number;
}

export interface ProfileSummary {
  dir: string;
  busyMs: number;
  functions: ProfileEntry[];
  groups: ProfileGroup[];
}

interface CpuProfile {
  nodes: Array<{ id: number; callFrame: { functionName: string; url: string; lineNumber: number } }>;
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Now on the clock CPU profiles are stamped with (CLOCK_MONOTONIC, µs), shared by every process. */
export function monotonicMicros(): number {
  return Number(process.hrtime.bigint() / 1000n);
}

function groupOf(url: string, fn: string): string {
  const pkg = /node_modules\/((@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg) return pkg;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/').slice(0, 2).join('/')}`;
  if (url) return url;
  return fn || '(native)';
}

/**
 * The functions with the most self time in the `.cpuprofile` files of `dir` (one per thread), counting
 * only samples inside `windows` (the load phases, [start, end] in monotonic µs) and leaving out
 * idle time.
 */
export function summarizeProfile(dir: string, windows: Array<[number, number]>, limit = 20): ProfileSummary {
  const functions = new Map<string, { fn: string; location: string; us: number }>();
  const groups = new Map<string, number>();
  let busyUs = 0;
  const files = existsSync(dir) ? readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')) : [];
  for (const file of files) {
    const profile = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const byId = new Map(profile.nodes.map((node) => [node.id, node]));
    let at = profile.startTime;
    profile.samples.forEach((id, i) => {
      const us = profile.timeDeltas[i] ?? 0;
      at += us;
      if (!windows.some(([start, end]) => at >= start && at <= end)) return;
      const frame = byId.get(id)?.callFrame;
      if (!frame || frame.functionName === '(idle)') return;
      busyUs += us;
      const url = frame.url.startsWith('file://')
        ? relative(repoRoot, new URL(frame.url).pathname)
        : frame.url;
      const location = url ? `${url}:${frame.lineNumber + 1}` : '(native)';
      const key = `${frame.functionName}@${location}`;
      const entry = functions.get(key) ?? { fn: frame.functionName || '(anonymous)', location, us: 0 };
      entry.us += us;
      functions.set(key, entry);
      const group = groupOf(url, frame.functionName);
      groups.set(group, (groups.get(group) ?? 0) + us);
    });
  }
  const percent = (us: number) => (busyUs > 0 ? Math.round((us / busyUs) * 1000) / 10 : 0);
  return {
    dir,
    busyMs: Math.round(busyUs / 1000),
    functions: [...functions.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, limit)
      .map((e) => ({
        function: e.fn,
        location: e.location,
        selfMs: Math.round(e.us / 1000),
        selfPercent: percent(e.us),
      })),
    groups: [...groups.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, limit)
      .map(([name, us]) => ({ name, selfMs: Math.round(us / 1000), selfPercent: percent(us) })),
  };
}
