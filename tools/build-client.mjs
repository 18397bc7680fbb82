// Builds the page SDK (core/client) into dist/client: one ES module and its .d.ts files.
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { build } from 'vite';

const root = resolve(import.meta.dirname, '..');
await build({
  configFile: false,
  logLevel: 'warn',
  root,
  build: {
    lib: {
      entry: resolve(root, 'core/client/index.ts'),
      formats: ['es'],
      fileName: () => 'tabpool-client.js',
    },
    outDir: resolve(root, 'dist/client'),
    emptyOutDir: true,
    minify: false,
    sourcemap: true,
  },
});
execFileSync('npx', ['tsc', '-p', resolve(root, 'core/client/tsconfig.json')], {
  cwd: root,
  stdio: 'inherit',
});
console.log('dist/client: tabpool-client.js + types/');
