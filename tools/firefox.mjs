// Launches Firefox ESR with the built Firefox extension, over WebDriver BiDi (puppeteer-core 24,
// never a browser download). Finds Debian's firefox-esr, or installs it where that is possible.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import puppeteer from 'puppeteer-core';

export const FIREFOX_BUILD_DIR = resolve(import.meta.dirname, '../.output/firefox-mv2');
/** A fixed moz-extension UUID, so tests can open the extension's pages. */
export const FIREFOX_EXTENSION_UUID = '5f1c7c2e-3b8a-4f6d-9a51-7ab0c0de7a01';
const GECKO_ID = 'tabpool@tabpool.dev';

const CANDIDATES = ['/usr/bin/firefox-esr', '/usr/bin/firefox'];

export function findFirefox() {
  const named = process.env.TABPOOL_FIREFOX;
  if (named) return existsSync(named) ? named : null;
  return CANDIDATES.find((p) => existsSync(p)) ?? null;
}

/** Firefox ESR, installing Debian's firefox-esr when missing and we are root on Debian. */
export function ensureFirefox({ log = console.error } = {}) {
  const found = findFirefox();
  if (found) return found;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  const debian = existsSync('/etc/debian_version') && spawnSync('which', ['apt-get']).status === 0;
  if (root && debian) {
    log('tabpool: no Firefox found; installing Debian\'s "firefox-esr" with apt-get…');
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['update', '-qq'], { stdio: 'inherit', env });
    execFileSync('apt-get', ['install', '-y', '-qq', 'firefox-esr', 'mesa-vulkan-drivers'], {
      stdio: 'inherit',
      env,
    });
    const installed = findFirefox();
    if (installed) return installed;
  }
  throw new Error(
    'tabpool needs Firefox ESR ≥ 142 for the Firefox tests: sudo apt-get install -y firefox-esr ' +
      '(or set TABPOOL_FIREFOX=/path/to/firefox)',
  );
}

const MESA_ICD_DIR = '/usr/share/vulkan/icd.d';

/**
 * Firefox's WebGPU on a machine without a GPU runs on Mesa's software Vulkan driver (lavapipe):
 * installs Debian's mesa-vulkan-drivers when missing (root on Debian), or says what to install.
 */
function ensureMesaVulkan() {
  const has = () =>
    existsSync(MESA_ICD_DIR) && readdirSync(MESA_ICD_DIR).some((f) => f.startsWith('lvp_icd'));
  if (has()) return;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (root && existsSync('/etc/debian_version')) {
    const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
    execFileSync('apt-get', ['install', '-y', '-qq', 'mesa-vulkan-drivers'], {
      stdio: 'inherit',
      env,
    });
    if (has()) return;
  }
  throw new Error(
    "Firefox's WebGPU tests need Mesa's Vulkan driver: sudo apt-get install -y mesa-vulkan-drivers",
  );
}

/**
 * @param {{ extensionDir?: string, webgpu?: boolean }} [options]
 */
export async function launchFirefoxWithExtension(options = {}) {
  if (options.webgpu) ensureMesaVulkan();
  const extensionDir = options.extensionDir ?? FIREFOX_BUILD_DIR;
  const manifest = JSON.parse(readFileSync(join(extensionDir, 'manifest.json'), 'utf8'));
  const profile = mkdtempSync(join(tmpdir(), 'tabpool-firefox-'));
  const browser = await puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: ensureFirefox(),
    headless: true,
    userDataDir: profile,
    args: ['--remote-allow-system-access'],
    extraPrefsFirefox: {
      'extensions.webextensions.uuids': JSON.stringify({ [GECKO_ID]: FIREFOX_EXTENSION_UUID }),
      'dom.webgpu.enabled': options.webgpu === true,
      'gfx.webgpu.ignore-blocklist': options.webgpu === true,
      'browser.shell.checkDefaultBrowser': false,
      'datareporting.policy.dataSubmissionEnabled': false,
    },
  });
  await browser.installExtension(extensionDir);
  return {
    browser,
    manifest,
    extensionBase: `moz-extension://${FIREFOX_EXTENSION_UUID}`,
    async close() {
      await browser.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}
