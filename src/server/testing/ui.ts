/** What the admin UI's browser tests and benchmark share: a fresh build of ui/, and Chromium to drive. */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const uiSourceDir = fileURLToPath(new URL('../../../ui/', import.meta.url));

/** Builds ui/ (as `npm run build:ui` does) into `outDir`, so that tests see the sources, not an old dist/ui. */
export const buildUi = async (outDir: string): Promise<void> => {
  await build({
    root: uiSourceDir,
    configFile: `${uiSourceDir}vite.config.ts`,
    logLevel: 'warn',
    build: { outDir, emptyOutDir: true },
  });
};

/** Debian's Chromium (apt-get install chromium), or CHROMIUM_PATH; `undefined` when neither is there. */
export const chromiumPath = (): string | undefined => {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  return existsSync(path) ? path : undefined;
};
