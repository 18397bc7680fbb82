// Finds a Chrome/Chromium to drive, or installs Debian's `chromium` where that is possible.
// Used by `npm run demo`, `npm test` and the end-to-end tests, so each does its own set-up.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';

const CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/snap/bin/chromium',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** The browser named by TABPOOL_CHROMIUM (or CHROME_PATH), else the first installed candidate. */
export function findChromium() {
  const named = process.env.TABPOOL_CHROMIUM || process.env.CHROME_PATH;
  if (named) {
    if (!existsSync(named)) throw new Error(`TABPOOL_CHROMIUM=${named} does not exist`);
    return named;
  }
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

const isDebianLike = () => {
  try {
    const osRelease = readFileSync('/etc/os-release', 'utf8');
    return /^(ID|ID_LIKE)=.*(debian|ubuntu)/m.test(osRelease);
  } catch {
    return false;
  }
};

/**
 * Returns a browser path, installing Debian's chromium first when none is found and this is a
 * Debian/Ubuntu machine where we are root. Otherwise throws with the exact command to run.
 */
export function ensureChromium({ log = console.error } = {}) {
  const found = findChromium();
  if (found) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && isDebianLike() && spawnSync('which', ['apt-get']).status === 0) {
    log('tabpool: no Chromium found; installing Debian\'s "chromium" with apt-get…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'chromium'], { stdio: 'inherit', env });
    const installed = findChromium();
    if (installed) return installed;
  }
  throw new Error(
    [
      'tabpool needs Chrome or Chromium ≥ 148 and found none.',
      '  Debian/Ubuntu: sudo apt-get install -y chromium',
      '  Elsewhere:     install Chrome or Chromium, then set TABPOOL_CHROMIUM=/path/to/chrome',
    ].join('\n'),
  );
}

/** Chromium's version as a number (e.g. 156), or null when it cannot be read. */
export function chromiumMajorVersion(path) {
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8' });
    const m = out.match(/(\d+)\.\d+\.\d+/);
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}
