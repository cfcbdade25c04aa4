// `npm test`: everything CI checks, in one command that also installs what it needs.
// Type check, lint, then every Vitest suite (unit, feature, store, interop, browser).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { startPostgres } from './postgres.mjs';

function run(label, command, args, options = {}) {
  console.log(`\n▶ ${label}`);
  const started = Date.now();
  const result = spawnSync(command, args, { stdio: 'inherit', ...options });
  console.log(
    `  ${label}: ${result.status === 0 ? 'ok' : 'FAILED'} in ${((Date.now() - started) / 1000).toFixed(1)} s`,
  );
  return result.status === 0;
}

/**
 * A Debian package the suites need, installed once when missing: Chromium for the browser tests,
 * redis-server for the SDK's Redis stores (PostgreSQL is handled by scripts/postgres.mjs).
 */
function ensureDebianPackage(pkg, binary) {
  if (existsSync(binary)) return true;
  if (process.getuid?.() !== 0) {
    console.error(`The tests need ${binary}: run \`sudo apt-get install -y ${pkg}\` once.`);
    return false;
  }
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  const install = () =>
    run(`apt-get install ${pkg}`, 'apt-get', ['install', '-y', '--no-install-recommends', pkg], { env });
  return install() || (run('apt-get update', 'apt-get', ['update'], { env }) && install());
}

const results = [];
results.push({ label: 'install chromium', ok: ensureDebianPackage('chromium', '/usr/bin/chromium') });
results.push({
  label: 'install redis-server',
  ok: ensureDebianPackage('redis-server', '/usr/bin/redis-server'),
});
results.push({
  label: 'type check (tsc)',
  ok: run('type check (tsc)', 'npx', ['tsc', '-p', 'tsconfig.json']),
});
results.push({ label: 'lint (biome)', ok: run('lint (biome)', 'npx', ['biome', 'check', '.']) });

// A throwaway PostgreSQL server for the PostgreSQL store suite and the multi-node tests.
console.log('\n▶ PostgreSQL (throwaway cluster)');
let postgres = null;
try {
  postgres = await startPostgres({ log: (line) => console.log(`  ${line}`) });
} catch (err) {
  console.error(`  PostgreSQL could not be started: ${err instanceof Error ? err.message : err}`);
  results.push({ label: 'PostgreSQL', ok: false });
}

mkdirSync('artifacts', { recursive: true });
const report = 'artifacts/vitest.json';
const testsOk = run(
  'tests (vitest)',
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
  postgres ? { env: { ...process.env, SESAME_TEST_POSTGRES_URL: postgres.url } } : {},
);
results.push({ label: 'tests (vitest)', ok: testsOk });
await postgres?.stop();

let passed = 0;
let failed = 0;
let skipped = 0;
if (existsSync(report)) {
  const data = JSON.parse(readFileSync(report, 'utf8'));
  passed = data.numPassedTests ?? 0;
  failed = data.numFailedTests ?? 0;
  skipped = (data.numPendingTests ?? 0) + (data.numTodoTests ?? 0);
}
// A runner that crashed before reporting, or ran nothing, is a failure too.
if (!testsOk && failed === 0) failed = 1;
if (passed === 0) failed = Math.max(failed, 1);
const failedSteps = results.filter((step) => !step.ok).map((step) => step.label);
if (failedSteps.length > 0) console.log(`\nFailed steps: ${failedSteps.join(', ')}`);
// The closing line CI reads: tests only; the exit code also covers the other steps.
console.log(`\nvitest: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failedSteps.length === 0 && passed > 0 ? 0 : 1);
