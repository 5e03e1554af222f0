#!/usr/bin/env node
// The installed command runs the compiled CLI (dist/, made by `npm run build`, which packing runs). A
// checkout has no dist/ until it is built: say so instead of failing with a stack trace.
import { existsSync } from 'node:fs';

const cli = new URL('../dist/cli/main.js', import.meta.url);
if (!existsSync(cli)) {
  process.stderr.write(
    'annals: this copy of Annals is not built yet. Run `npm run build` in its folder,\n' +
      'or, in a checkout, run the command from the sources: npm run -s annals -- <command>\n',
  );
  process.exit(1);
}
await import(cli.href);
