// Bundles the preload into one CommonJS file, dist/electron/preload.cjs: a
// sandboxed preload cannot load ES modules nor require anything but electron.

import { defineConfig } from 'vite';

export default defineConfig({
  build: {
    outDir: 'dist/electron',
    emptyOutDir: false,
    target: 'node20',
    minify: false,
    sourcemap: false,
    lib: { entry: 'electron/preload.ts', formats: ['cjs'], fileName: () => 'preload.cjs' },
    rollupOptions: { external: ['electron'] },
  },
});
