/**
 * Vite builds the admin UI into dist/ui, which the server serves at /ui/ (src/server/ui.ts) and the package
 * ships ("files": dist). Preact's JSX through Oxc's automatic runtime: no plugin needed.
 */
import { defineConfig } from 'vite';

export default defineConfig({
  base: '/ui/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: {
    outDir: '../dist/ui',
    emptyOutDir: true,
    // No inline assets: the Content-Security-Policy allows only this origin's files (and Pico's data: icons).
    assetsInlineLimit: 0,
    // The page talks to one server and nothing else; modulepreload's polyfill would be an inline script.
    modulePreload: { polyfill: false },
    reportCompressedSize: false,
  },
});
