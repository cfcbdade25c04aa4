// Generates the management API's TypeScript (packages/server/src/management/gen, git-ignored) from
// packages/server/proto with buf and the locally installed protoc-gen-es. Offline: buf.yaml has no
// `deps:`. With `--if-stale` it does nothing when the output is newer than every input; that is how
// scripts/ensure-install.mjs calls it before `npm start` and `npm test`. Plain Node.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const server = join(root, 'packages/server');
const out = join(server, 'src/management/gen');
/** Written after a successful run; its mtime is the output's age. */
const stamp = join(out, '.generated');

function newestMtime(path) {
  const stat = statSync(path);
  if (!stat.isDirectory()) return stat.mtimeMs;
  let newest = stat.mtimeMs;
  for (const entry of readdirSync(path)) newest = Math.max(newest, newestMtime(join(path, entry)));
  return newest;
}

function inputsMtime() {
  const inputs = [
    join(server, 'proto'),
    join(server, 'buf.yaml'),
    join(server, 'buf.gen.yaml'),
    join(root, 'node_modules/@bufbuild/protoc-gen-es/package.json'),
    join(root, 'node_modules/@bufbuild/buf/package.json'),
  ];
  return Math.max(...inputs.filter((path) => existsSync(path)).map(newestMtime));
}

if (process.argv.includes('--if-stale') && existsSync(stamp) && statSync(stamp).mtimeMs >= inputsMtime()) {
  process.exit(0);
}

console.log('Generating the management API code (buf generate)…');
const buf = join(root, 'node_modules/.bin/buf');
const result = spawnSync(buf, ['generate'], { cwd: server, stdio: 'inherit' });
if (result.error) {
  console.error(`buf generate could not run (${result.error.message}); is @bufbuild/buf installed?`);
  process.exit(1);
}
if (result.status !== 0) process.exit(result.status ?? 1);
writeFileSync(stamp, `${new Date().toISOString()}\n`);
