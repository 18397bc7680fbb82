import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';

/** Builds the Chrome extension once before the end-to-end files run (TABPOOL_SKIP_BUILD=1 skips). */
export default function setup(): void {
  if (process.env.TABPOOL_SKIP_BUILD === '1') return;
  execFileSync('npx', ['wxt', 'build', '-b', 'chrome'], {
    cwd: resolve(import.meta.dirname, '../..'),
    stdio: ['ignore', 'ignore', 'inherit'],
  });
}
