// Builds the Svelte renderer into dist/renderer. The CSP <meta> tag is written
// from electron/security/csp.ts, the same source main's CSP header comes from.
// Nothing is inlined: no data: URLs, no inline scripts or styles, no
// modulepreload polyfill (all of which the CSP would refuse).

import { svelte } from '@sveltejs/vite-plugin-svelte';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import { CSP_META } from './electron/security/csp.js';

const cspMeta = (): Plugin => ({
  name: 'keyladder-csp-meta',
  transformIndexHtml: (html) => html.replace('%KEYLADDER_CSP%', CSP_META),
});

export default defineConfig({
  root: 'renderer',
  base: './',
  plugins: [svelte({ configFile: fileURLToPath(new URL('./svelte.config.js', import.meta.url)) }), cspMeta()],
  build: {
    outDir: '../dist/renderer',
    emptyOutDir: true,
    target: 'chrome130',
    assetsInlineLimit: 0,
    cssCodeSplit: false,
    modulePreload: { polyfill: false },
    sourcemap: false,
    reportCompressedSize: true,
  },
});
