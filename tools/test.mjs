// `npm test`: everything CI runs, in order, failing fast on the cheap checks.
//   1. browsers (installs Debian's chromium and firefox-esr when it can), 2. typecheck, 3. lint + format,
//   4. Chrome and Firefox builds + web-ext lint, 5. unit and end-to-end tests (vitest).
// Ends with one summary line: "tests: N passed, N failed, N skipped".
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { ensureChromium } from './chromium.mjs';
import { ensureFirefox } from './firefox.mjs';

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
const firefox = ensureFirefox();
console.log(`browsers: ${browser}, ${firefox}`);

const checks = [
  ['typecheck', 'npm', ['run', '--silent', 'typecheck']],
  ['lint + format', 'npx', ['biome', 'ci', '.']],
  ['build (Chrome MV3 + Firefox MV2)', 'npm', ['run', '--silent', 'build']],
  ['web-ext lint (Firefox build)', 'npm', ['run', '--silent', 'lint:firefox']],
];
for (const [name, cmd, args] of checks) {
  if (!step(name, cmd, args)) process.exit(1);
}

// Unit tests first, then end-to-end: one after the other, so Chromium and the SwiftShader-backed
// kernel tests do not fight over the machine's two cores.
const env = {
  TABPOOL_SKIP_BUILD: '1',
  TABPOOL_CHROMIUM: browser,
  TABPOOL_FIREFOX: firefox,
  // Dawn (the kernels' WebGPU in Node) opens libvulkan.so.1; Debian's chromium ships one here and
  // its SwiftShader ICD beside it, so no system Vulkan loader is needed.
  ...(existsSync('/usr/lib/chromium/libvulkan.so.1')
    ? {
        LD_LIBRARY_PATH: ['/usr/lib/chromium', process.env.LD_LIBRARY_PATH]
          .filter(Boolean)
          .join(':'),
      }
    : {}),
};
const totals = { passed: 0, failed: 0, skipped: 0, ran: 0 };
let ok = true;
for (const project of ['unit', 'e2e']) {
  const report = resolve(artifacts, `vitest-${project}.json`);
  ok =
    step(
      `${project} tests`,
      'npx',
      [
        'vitest',
        'run',
        '--project',
        project,
        '--reporter=default',
        '--reporter=json',
        `--outputFile.json=${report}`,
      ],
      env,
    ) && ok;
  try {
    const r = JSON.parse(readFileSync(report, 'utf8'));
    totals.passed += r.numPassedTests;
    totals.failed += r.numFailedTests;
    totals.skipped += r.numPendingTests + r.numTodoTests;
    totals.ran += r.numTotalTests;
  } catch {
    totals.failed += 1; // no report: the runner itself failed
    ok = false;
  }
}
if (totals.ran === 0) {
  totals.failed += 1;
  ok = false;
}
console.log(`\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(ok && totals.failed === 0 ? 0 : 1);
