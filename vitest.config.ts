import { defineConfig } from 'vitest/config';
import { WxtVitest } from 'wxt/testing/vitest-plugin';

export default defineConfig({
  test: {
    projects: [
      {
        // Unit tests sit next to the code. WxtVitest swaps `wxt/browser` for WXT's fake browser.
        plugins: [WxtVitest()],
        test: {
          name: 'unit',
          include: ['{core,kernels,storage,ui}/**/*.test.{ts,tsx}'],
          environment: 'node',
          // WebGPU tests compile pipelines on SwiftShader (a CPU): seconds each on 2 busy cores.
          testTimeout: 30_000,
        },
      },
      {
        // End-to-end: a real Chromium with the built extension. One file at a time: each test
        // file launches its own browser and the machine has two cores.
        test: {
          name: 'e2e',
          include: ['tests/e2e/**/*.test.ts'],
          environment: 'node',
          globalSetup: ['tests/e2e/global-setup.ts'],
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
