// `npm test`: everything CI runs, in order, failing fast on the cheap checks.
//   1. a browser (installs Debian's chromium when it can), 2. typecheck, 3. lint + format,
//   4. Chrome and Firefox builds + web-ext lint, 5. unit and end-to-end tests (vitest).
// Ends with one summary line: "tests: N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureChromium } from './chromium.mjs';

const root = resolve(import.meta.dirname, '..');
const artifacts = resolve(root, 'test-artifacts');
mkdirSync(artifacts, { recursive: true });

function step(name, command, args, env = {}) {
  const started = Date.now();
  console.log(`\n▶ ${name}`);
  const r = spawnSync(command, args, {
    cwd: root,
    stdio: 'inherit',
    env: { ...process.env, ...env },
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  if (r.status !== 0) {
    console.error(`✖ ${name} failed (exit ${r.status ?? r.signal}) after ${seconds} s`);
    return false;
  }
  console.log(`✔ ${name} (${seconds} s)`);
  return true;
}

const browser = ensureChromium();
console.log(`browser: ${browser}`);

const checks = [
  ['typecheck', 'npx', ['tsc', '--noEmit']],
  ['lint + format', 'npx', ['biome', 'ci', '.']],
  ['build (Chrome MV3 + Firefox MV2)', 'npm', ['run', '--silent', 'build']],
  ['web-ext lint (Firefox build)', 'npm', ['run', '--silent', 'lint:firefox']],
];
for (const [name, cmd, args] of checks) {
  if (!step(name, cmd, args)) process.exit(1);
}

const report = resolve(artifacts, 'vitest.json');
const ok = step(
  'unit + end-to-end tests',
  'npx',
  ['vitest', 'run', '--reporter=default', '--reporter=json', `--outputFile.json=${report}`],
  { TABPOOL_SKIP_BUILD: '1', TABPOOL_CHROMIUM: browser },
);

let summary;
try {
  const r = JSON.parse(readFileSync(report, 'utf8'));
  const skipped = r.numPendingTests + r.numTodoTests;
  summary = `tests: ${r.numPassedTests} passed, ${r.numFailedTests} failed, ${skipped} skipped`;
  if (r.numTotalTests === 0) {
    summary = 'tests: 0 passed, 1 failed (no test ran)';
  }
} catch {
  summary = 'tests: 0 passed, 1 failed (no vitest report)';
}
console.log(`\n${summary}`);
process.exit(ok && !summary.includes('(no') ? 0 : 1);
