// A throwaway PostgreSQL server for tests: Debian's `postgresql` (installed when missing), a fresh
// cluster in a temp dir on a free 127.0.0.1 port, torn down by `stop()` or when the process exits.
// `npm test` starts one around Vitest (SESAME_TEST_POSTGRES_URL); a test file run on its own
// starts its own. See ../docs/scaling.md and /work/shared/toolchain.md.
import { execFile, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);
const root = process.getuid?.() === 0;

/** Clusters this process started and has not stopped yet: removed on exit. */
const live = new Set();
let exitHooksInstalled = false;

/** The newest `/usr/lib/postgresql/<version>/bin`, or null. */
export function findPostgresBin() {
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return null;
  const versions = readdirSync(base)
    .filter((v) => existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number.parseFloat(a) - Number.parseFloat(b));
  const newest = versions.at(-1);
  return newest === undefined ? null : join(base, newest, 'bin');
}

/** Installs Debian's `postgresql` when no server binaries are present; returns their directory. */
export function ensurePostgresInstalled() {
  const found = findPostgresBin();
  if (found) return found;
  if (!root) {
    throw new Error('PostgreSQL is not installed: run `sudo apt-get install -y postgresql` once');
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    spawnSync('apt-get', ['install', '-y', '--no-install-recommends', 'postgresql'], {
      stdio: 'inherit',
      env,
    });
  let result = install();
  if (result.status !== 0) {
    spawnSync('apt-get', ['update'], { stdio: 'inherit', env });
    result = install();
  }
  const bin = findPostgresBin();
  if (result.status !== 0 || !bin) throw new Error('apt-get install postgresql failed');
  return bin;
}

/** A TCP port nothing listens on right now (on 127.0.0.1). */
export function freePort() {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Runs a PostgreSQL binary as the `postgres` user (initdb refuses root), or as ourselves. */
function asPostgres(bin, program, args) {
  const command = join(bin, program);
  return root ? run('runuser', ['-u', 'postgres', '--', command, ...args]) : run(command, args);
}

function asPostgresSync(bin, program, args) {
  const command = join(bin, program);
  return root
    ? spawnSync('runuser', ['-u', 'postgres', '--', command, ...args], { stdio: 'ignore' })
    : spawnSync(command, args, { stdio: 'ignore' });
}

function installExitHooks() {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  process.once('exit', () => {
    for (const cluster of live) cluster.removeSync();
  });
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, () => {
      for (const cluster of live) cluster.removeSync();
      process.exit(signal === 'SIGINT' ? 130 : 143);
    });
  }
}

/**
 * Starts a throwaway PostgreSQL cluster. Returns its URL (database `postgres`, user `postgres`,
 * trust authentication, loopback only) and `stop()`, which removes it; `pause()` and `resume()`
 * stop and start the server on the same data and port (an outage, for tests).
 * @param {{ log?: (line: string) => void }} [options]
 */
export async function startPostgres(options = {}) {
  const log = options.log ?? (() => {});
  const bin = ensurePostgresInstalled();
  const dataDir = mkdtempSync(join(tmpdir(), 'sesame-pg-'));
  const removeDir = () => rmSync(dataDir, { recursive: true, force: true });
  try {
    if (root) {
      const { uid, gid } = postgresUser();
      chownSync(dataDir, uid, gid);
    }
    await asPostgres(bin, 'initdb', [
      '-D',
      dataDir,
      '-U',
      'postgres',
      '-A',
      'trust',
      '-E',
      'UTF8',
      '--locale=C.UTF-8',
      '--no-sync',
    ]);
  } catch (err) {
    removeDir();
    throw new Error(`initdb failed: ${describe(err)}`, { cause: err });
  }

  let port = 0;
  const serverOptions = () =>
    [
      `-p ${port}`,
      `-k ${dataDir}`,
      '-c listen_addresses=127.0.0.1',
      // A test cluster: speed over durability, room for two servers' pools and the suites.
      '-c fsync=off',
      '-c synchronous_commit=off',
      '-c full_page_writes=off',
      '-c max_connections=300',
    ].join(' ');
  const pgCtl = (args) => asPostgres(bin, 'pg_ctl', ['-D', dataDir, ...args]);
  const startServer = () =>
    pgCtl(['-l', join(dataDir, 'log'), '-w', '-t', '30', '-o', serverOptions(), 'start']);

  // Another process may take the port between choosing and binding it: try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    try {
      await startServer();
      break;
    } catch (err) {
      if (attempt < 3) continue;
      const serverLog = existsSync(join(dataDir, 'log')) ? readFileSync(join(dataDir, 'log'), 'utf8') : '';
      removeDir();
      throw new Error(`pg_ctl start failed: ${describe(err)}\n${serverLog.slice(-2000)}`, { cause: err });
    }
  }
  log(`PostgreSQL on 127.0.0.1:${port} (data in ${dataDir})`);

  let stopped = false;
  const cluster = {
    url: `postgresql://postgres@127.0.0.1:${port}/postgres`,
    port,
    bin,
    dataDir,
    /** Stops the server (fast shutdown: open connections are terminated); the data stays. */
    pause: () => pgCtl(['-m', 'fast', '-w', 'stop']).then(() => undefined),
    /** Starts the server again on the same port and data. */
    resume: () => startServer().then(() => undefined),
    /** Stops the server and deletes its data. */
    async stop() {
      if (stopped) return;
      stopped = true;
      live.delete(cluster);
      await pgCtl(['-m', 'immediate', '-w', 'stop']).catch(() => {});
      removeDir();
    },
    removeSync() {
      if (stopped) return;
      stopped = true;
      live.delete(cluster);
      asPostgresSync(bin, 'pg_ctl', ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      removeDir();
    },
  };
  live.add(cluster);
  installExitHooks();
  return cluster;
}

function postgresUser() {
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line)
    throw new Error('the postgres system user does not exist (is the postgresql package installed?)');
  const [, , uid, gid] = line.split(':');
  return { uid: Number(uid), gid: Number(gid) };
}

function describe(err) {
  const stderr = err && typeof err === 'object' && 'stderr' in err ? String(err.stderr).trim() : '';
  return stderr || (err instanceof Error ? err.message : String(err));
}
