import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

/** The repository root (bench/lib/ is two levels down). */
export const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** A child process the benchmark started, and what it said when it was ready. */
export interface Child {
  name: string;
  pid: number;
  /** The first stdout line that matched `ready` (a JSON object for our own children). */
  readyLine: string;
  /** Resident memory now, in MB, from /proc/<pid>/status (VmRSS); null once it has exited. */
  rssMb(): number | null;
  /** CPU time used so far, in ms: its main thread, and all its other threads together. */
  cpuMs(): ThreadCpu;
  /** SIGTERM, then SIGKILL after 5 s; resolves when it has exited. */
  stop(): Promise<void>;
  /** Everything it wrote to stderr (last 20 kB), for error messages. */
  stderr(): string;
}

/** CPU time of a process, split between its main (JavaScript) thread and the others. */
export interface ThreadCpu {
  mainMs: number;
  /** The thread pool (crypto, argon2), V8's GC helpers, and any worker. */
  otherMs: number;
}

/** Per-thread CPU time from /proc/<pid>/task/<tid>/stat (utime + stime, in 10 ms ticks). */
export function cpuOf(pid: number): ThreadCpu {
  const cpu = { mainMs: 0, otherMs: 0 };
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return cpu;
  }
  for (const tid of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = (Number(fields[11]) + Number(fields[12])) * 10;
      if (tid === String(pid)) cpu.mainMs += ms;
      else cpu.otherMs += ms;
    } catch {
      // The thread ended between the listing and the read.
    }
  }
  return cpu;
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough on a benchmark machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** VmRSS of a process in MB (Linux). */
export function rssOf(pid: number): number | null {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kb ? Math.round((Number(kb) / 1024) * 10) / 10 : null;
  } catch {
    return null;
  }
}

/**
 * Starts `node [nodeArgs] script [args]` from the repository root and waits until a stdout line
 * matches `ready` (or fails if the process exits or `timeoutMs` passes first).
 */
export function startChild(input: {
  name: string;
  script: string;
  args?: string[];
  nodeArgs?: string[];
  env?: Record<string, string>;
  ready: RegExp;
  timeoutMs?: number;
}): Promise<Child> {
  const child: ChildProcess = spawn(
    process.execPath,
    [...(input.nodeArgs ?? []), input.script, ...(input.args ?? [])],
    {
      cwd: repoRoot,
      env: { ...process.env, ...input.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr = (stderr + chunk.toString('utf8')).slice(-20_000);
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      resolve();
    });
  });
  const handle = (readyLine: string): Child => ({
    name: input.name,
    pid: child.pid as number,
    readyLine,
    rssMb: () => (exited ? null : rssOf(child.pid as number)),
    cpuMs: () => cpuOf(child.pid as number),
    stderr: () => stderr,
    stop: async () => {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exit;
      clearTimeout(timer);
    },
  });
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${input.name} did not start within ${input.timeoutMs ?? 60_000} ms\n${stderr}`));
    }, input.timeoutMs ?? 60_000);
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let newline = buffered.indexOf('\n');
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (input.ready.test(line)) {
          clearTimeout(timer);
          child.stdout?.off('data', onData);
          // Keep draining stdout so a chatty child never blocks on a full pipe.
          child.stdout?.resume();
          resolve(handle(line));
          return;
        }
        newline = buffered.indexOf('\n');
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`${input.name} exited (${signal ?? code}) before it was ready\n${stderr}`));
    });
  });
}

/** Runs a script to completion and returns its stdout (throws with stderr on a non-zero exit). */
export function runToEnd(input: {
  name: string;
  script: string;
  args?: string[];
  nodeArgs?: string[];
  env?: Record<string, string>;
}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(input.nodeArgs ?? []), input.script, ...(input.args ?? [])], {
      cwd: repoRoot,
      env: { ...process.env, ...input.env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      err = (err + chunk.toString('utf8')).slice(-20_000);
    });
    child.once('exit', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${input.name} failed (exit ${code})\n${err}`));
    });
  });
}
