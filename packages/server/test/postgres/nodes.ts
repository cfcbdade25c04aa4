// Real `sesame` processes for the PostgreSQL tests: the CLI (`apps create`, `keys rotate`, …) and
// `sesame start` nodes on loopback ports, all pointed at one DATABASE_URL.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestServer } from '../support/server.ts';

const run = promisify(execFile);
const bin = fileURLToPath(new URL('../../bin/sesame.js', import.meta.url));
const repo = fileURLToPath(new URL('../../../../', import.meta.url));

/** The server secret every node of one environment shares. */
export const sharedSecret = 'multi-node-secret-multi-node-secret-0123456789';

/** The environment of one Sesame deployment: what every node and CLI call gets. */
export function nodeEnv(over: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, SESAME_SECRET: sharedSecret, LOG_LEVEL: 'warn', ...over };
  // A test runner's own settings must not leak into the nodes.
  delete env['SESAME_CONFIG'];
  delete env['PORT'];
  return env;
}

/** Runs one `sesame` command and returns its standard output; a non-zero exit rejects with stderr. */
export async function sesame(args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  try {
    const { stdout } = await run(process.execPath, [bin, ...args], { env, cwd: repo, timeout: 60_000 });
    return stdout;
  } catch (err) {
    const { stderr, stdout } = err as { stderr?: string; stdout?: string };
    throw new Error(`sesame ${args.join(' ')} failed: ${stderr || stdout || String(err)}`);
  }
}

/** A running `sesame start` process. */
export interface SesameNode {
  /** Where this node listens (not the issuer, which every node shares). */
  url: string;
  port: number;
  /** Everything it printed, for failure messages. */
  output: string[];
  /** The node as the agent helpers take it (they read `url` only). */
  asServer: TestServer;
  stop(): Promise<void>;
}

const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

/** Starts `sesame start --port <port>` and resolves once it listens. */
export async function startNode(port: number, env: NodeJS.ProcessEnv): Promise<SesameNode> {
  const child = spawn(process.execPath, [bin, 'start', '--port', String(port), '--host', '127.0.0.1'], {
    env,
    cwd: repo,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const output: string[] = [];
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`node on ${port} did not start:\n${output.join('')}`)),
      45_000,
    );
    const onData = (chunk: Buffer) => {
      output.push(String(chunk));
      if (output.join('').includes(`listening on port ${port}`)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => output.push(String(chunk)));
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`node on ${port} exited with ${code}:\n${output.join('')}`));
    });
  });
  const url = `http://127.0.0.1:${port}`;
  return {
    url,
    port,
    output,
    asServer: { url } as TestServer,
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      running.delete(child);
    },
  };
}

/** Polls `check` until it returns a value (not undefined) or `timeoutMs` passes. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 10_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
