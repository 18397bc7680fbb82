import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/**
 * Builds both extensions and the page SDK once before the end-to-end files run
 * (TABPOOL_SKIP_BUILD=1 skips, as `npm test` does after its own build).
 */
export default function setup(): void {
  if (process.env.TABPOOL_SKIP_BUILD === '1') return;
  for (const script of ['build:chrome', 'build:firefox', 'build:client']) {
    execFileSync('npm', ['run', '--silent', script], {
      cwd: resolve(import.meta.dirname, '../..'),
      stdio: ['ignore', 'ignore', 'inherit'],
    });
  }
}
