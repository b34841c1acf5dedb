import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

/**
 * The web console's build: Preact's JSX through Vite's own transform, served by Tessera at
 * /console/ (so every asset URL starts there), into dist/console with content-hashed names.
 * Nothing inline: the served policy allows only this origin's scripts and styles.
 */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/console/',
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    // The polyfill would be an inline script; every browser the console supports has modulepreload.
    modulePreload: { polyfill: false },
    // No asset becomes a data: URL inside a script or style.
    assetsInlineLimit: 0,
    target: 'es2022',
  },
});
