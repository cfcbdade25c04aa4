// Installs the npm dependencies when they are missing or older than the lock file, then generates
// the code built from other sources, so that `npm start` and `npm test` work from a fresh clone.
// Plain Node: it runs before anything is installed.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';

const lock = 'package-lock.json';
const marker = 'node_modules/.package-lock.json';
const stale = !existsSync(marker) || statSync(marker).mtimeMs < statSync(lock).mtimeMs;
if (stale) {
  console.log('Installing dependencies (npm ci)…');
  const result = spawnSync('npm', ['ci', '--no-audit', '--no-fund'], { stdio: 'inherit' });
  if (result.status !== 0) process.exit(result.status ?? 1);
}

// The management API's code is generated from packages/server/proto, not committed.
const generated = spawnSync(process.execPath, ['scripts/generate-proto.mjs', '--if-stale'], {
  stdio: 'inherit',
});
if (generated.status !== 0) process.exit(generated.status ?? 1);
