/** Lint enforces the layering of DESIGN.md section 1: a contract that imports an engine, HTTP or a driver fails. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

// Only the import rules matter here: without type information (and the two rules that need it) the
// project's config lints a snippet in milliseconds instead of building a TypeScript program.
const eslint = new ESLint({
  overrideConfig: {
    files: ['**/*.ts'],
    languageOptions: { parserOptions: { projectService: false } },
    rules: { '@typescript-eslint/no-floating-promises': 'off', '@typescript-eslint/no-misused-promises': 'off' },
  },
});
const problemsOf = async (filePath: string, code: string) =>
  (await eslint.lintText(code, { filePath }))[0]!.messages
    .filter((message) => message.ruleId?.endsWith('no-restricted-imports'))
    .map((message) => message.message);

describe('layering', () => {
  it('refuses imports against the layers, and allows the ones that follow them', async () => {
    const refused: [string, string][] = [
      ['src/store/model.ts', "import { openEventStore } from '../engines/open.js';"],
      ['src/store/model.ts', "import pg from 'pg';"],
      ['src/store/model.ts', "import { ndjsonType } from '../protocol/wire.js';"],
      ['src/engines/open.ts', "import { createServer } from '../server/server.js';"],
      ['src/protocol/wire.ts', "import Fastify from 'fastify';"],
      ['src/client/connect.ts', "import { openEventStore } from '../engines/open.js';"],
      ['src/client/connect.ts', "import { createServer } from '../server/server.js';"],
      ['src/server/server.ts', "import Database from 'better-sqlite3';"],
      ['src/projection/cache/cache.ts', "import { Redis } from 'ioredis';"],
      ['src/gateway/gateway.ts', "import { openEventStore } from '../engines/open.js';"],
      ['src/gateway/gateway.ts', "import pg from 'pg';"],
      ['src/gateway/gateway.ts', "import { connect } from '../client/connect.js';"],
    ];
    for (const [file, code] of refused) assert.equal((await problemsOf(file, `${code}\nexport {};\n`)).length, 1, `${file}: ${code}`);
    const allowed: [string, string][] = [
      ['src/engines/open.ts', "import { createEventStore } from '../store/create-store.js';"],
      ['src/server/server.ts', "import { ndjsonType } from '../protocol/wire.js';"],
      ['src/client/connect.ts', "import { ndjsonType } from '../protocol/wire.js';"],
      ['src/cli/serve.ts', "import { openEventStore } from '../engines/open.js';"],
      ['src/engines/redis/cache-tier.ts', "import { Redis } from 'ioredis';"],
      ['src/gateway/gateway.ts', "import { createAuthenticator } from '../auth/tokens.js';"],
      ['src/gateway/gateway.ts', "import { problemType } from '../protocol/wire.js';"],
      ['src/gateway/gateway.ts', "import { UnauthenticatedError } from '../store/errors.js';"],
      ['src/gateway/limits/rate-limit.ts', "import { Redis } from 'ioredis';"],
      ['src/cli/gateway.ts', "import { createGateway } from '../gateway/gateway.js';"],
    ];
    for (const [file, code] of allowed) assert.deepEqual(await problemsOf(file, `${code}\nexport {};\n`), [], `${file}: ${code}`);
  });

  it('keeps the admin UI to the HTTP API: the types of its JSON, never code of src/', async () => {
    const file = 'ui/src/pages/streams.tsx';
    const refused = [
      "import { recordedToJsonText } from '../../../src/protocol/wire';",
      "import type { Stats } from '../../../src/server/schemas';",
      "import { openEventStore } from '../../../src/engines/open';",
    ];
    for (const code of refused) assert.ok((await problemsOf(file, `${code}\nexport {};\n`)).length > 0, code);
    const allowed = [
      "import type { RecordedEventJson } from '../../../src/protocol/wire';",
      "import type { ProjectionInfoJson } from '../../../src/projection/registry/json';",
    ];
    for (const code of allowed) assert.deepEqual(await problemsOf(file, `${code}\nexport {};\n`), [], code);
  });
});
