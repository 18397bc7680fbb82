import { defineConfig } from 'wxt';

// See docs/decisions.md for why each manifest entry is here.
export default defineConfig({
  srcDir: '.',
  entrypointsDir: 'entrypoints',
  outDir: '.output',
  modules: ['@wxt-dev/webextension-polyfill'],
  // Explicit imports everywhere: a reader can follow every name to its file.
  imports: false,
  manifest: ({ browser, manifestVersion }) => ({
    name: 'tabpool',
    description:
      'Runs ML models once for every page: a fault-tolerant pool of runtime hosts behind a page API.',
    // Chrome finds its pool tabs with runtime.getContexts (no permission); Firefox needs tabs.query.
    // storage: circuit-breaker state in storage.session survives a service-worker restart.
    // unlimitedStorage: model weights live in IndexedDB and run to gigabytes.
    permissions: [
      ...(browser === 'firefox' ? ['tabs'] : ['offscreen']),
      'storage',
      'unlimitedStorage',
    ],
    // Chrome ≥ 148 structured-clones runtime messages when asked to, so tensors cross
    // content script ↔ service worker as ArrayBuffers instead of JSON. Firefox always does.
    ...(browser === 'firefox' ? {} : { message_serialization: 'structured_clone' }),
    action: { default_title: 'tabpool' },
    // The bridge frame pages embed to open a session (Chrome). A dynamic URL, so a page cannot
    // probe for the extension by its fixed id.
    // language-model.js: the `LanguageModel` global the content script puts into pages.
    ...(browser === 'firefox'
      ? { web_accessible_resources: ['language-model.js'] }
      : {
          web_accessible_resources: [
            {
              resources: ['bridge.html', 'language-model.js'],
              matches: ['http://*/*', 'https://*/*'],
              use_dynamic_url: true,
            },
          ],
        }),
    // 'wasm-unsafe-eval': the CPU matmul compiles its WebAssembly SIMD kernel (built in code,
    // kernels/matmul/wasm-simd.ts); without it the JS kernels run, about 10× slower.
    content_security_policy:
      manifestVersion === 2
        ? "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'"
        : { extension_pages: "script-src 'self' 'wasm-unsafe-eval'; object-src 'self'" },
    // Structured-clone runtime messaging (the binary tensor path) arrived in Chrome 148.
    ...(browser === 'firefox' ? {} : { minimum_chrome_version: '148' }),
    browser_specific_settings:
      browser === 'firefox'
        ? {
            gecko: {
              id: 'tabpool@tabpool.dev',
              strict_min_version: '142.0',
              // tabpool sends nothing anywhere: models run locally.
              data_collection_permissions: { required: ['none'] },
            },
          }
        : undefined,
  }),
});
