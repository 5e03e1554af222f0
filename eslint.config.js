import js from '@eslint/js';
import tseslint from 'typescript-eslint';

/**
 * The layering of DESIGN.md section 1: contracts (store) know nothing of engines, HTTP or drivers; engines
 * implement the contracts; protocol and auth sit on the store; server, client and command line on top.
 * Tests and test support compose layers freely.
 */
const drivers = ['pg', 'better-sqlite3', 'ioredis'];
const http = ['fastify', '@fastify/*', 'undici', 'pino', 'prom-client'];
const layer = (folder, { folders = [], packages = [] }) => ({
  files: [`src/${folder}/**/*.ts`],
  ignores: ['**/*.test.ts', '**/testing/**', 'src/store/conformance/**'],
  rules: {
    'no-restricted-imports': [
      'error',
      {
        patterns: [
          ...folders.map((other) => ({
            group: [`**/${other}/**`, `**/${other}/*.js`],
            message: `src/${folder} may not import src/${other}: see the layering in DESIGN.md section 1.`,
          })),
          ...packages.map((name) => ({
            group: [name],
            message: `src/${folder} may not depend on ${name}: see the layering in DESIGN.md section 1.`,
          })),
        ],
      },
    ],
  },
});

export default tseslint.config(
  { ignores: ['**/dist/', 'node_modules/', 'data/', 'bench/results/'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  { files: ['**/*.js'], languageOptions: { globals: { process: 'readonly', URL: 'readonly' } } },
  {
    files: ['**/*.ts', '**/*.tsx'],
    languageOptions: { parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname } },
    rules: {
      '@typescript-eslint/no-floating-promises': [
        'error',
        { allowForKnownSafeCalls: [{ from: 'package', package: 'node:test', name: ['describe', 'it', 'test', 'suite'] }] },
      ],
      '@typescript-eslint/no-misused-promises': ['error', { checksVoidReturn: { arguments: false } }],
    },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      'no-control-regex': 'off',
    },
  },
  layer('store', { folders: ['engines', 'protocol', 'auth', 'server', 'client', 'cli'], packages: [...drivers, ...http, 'commander'] }),
  layer('bus', { folders: ['engines', 'protocol', 'auth', 'server', 'client', 'cli'], packages: [...drivers, ...http, 'commander'] }),
  layer('projection', {
    folders: ['engines', 'protocol', 'auth', 'server', 'client', 'cli'],
    packages: [...drivers, ...http, 'commander'],
  }),
  layer('command', { folders: ['engines', 'protocol', 'auth', 'server', 'client', 'cli'], packages: [...drivers, ...http, 'commander'] }),
  layer('engines', { folders: ['protocol', 'auth', 'server', 'client', 'cli'], packages: [...http, 'commander'] }),
  layer('protocol', { folders: ['engines', 'auth', 'server', 'client', 'cli'], packages: [...drivers, ...http, 'commander'] }),
  layer('auth', { folders: ['engines', 'server', 'client', 'cli'], packages: [...drivers, ...http, 'commander'] }),
  layer('server', { folders: ['engines', 'client', 'cli'], packages: [...drivers, 'undici', 'commander'] }),
  // The gateway sits beside the server: it uses auth, protocol, the store's errors and the server's problems,
  // talks HTTP to upstreams, and Redis for shared rate limits; never an engine or an SQL driver.
  layer('gateway', { folders: ['engines', 'client', 'cli'], packages: ['pg', 'better-sqlite3', 'commander'] }),
  // Examples are what users copy: they use the package's entry points, never its internals.
  {
    files: ['examples/**/*.ts'],
    ignores: ['**/*.test.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ group: ['**/src/**'], message: "Examples import 'annals' or 'annals/client', as a user of the package does." }] },
      ],
    },
  },
  // The admin UI runs in a browser and talks to the server over its public HTTP API only: it imports
  // nothing of src/ (DESIGN.md section 12) but the types of that API's JSON (src/protocol/wire.ts, and the
  // projection registry's in src/projection/registry/json.ts), which leave no code behind.
  {
    files: ['ui/**/*.ts', 'ui/**/*.tsx'],
    rules: {
      '@typescript-eslint/no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              group: ['**/src/**', '!**/src/protocol/wire', '!**/src/projection/registry/json'],
              message: 'The UI uses the public HTTP API only, never the server or store code.',
            },
            {
              group: ['**/src/protocol/wire', '**/src/projection/registry/json'],
              allowTypeImports: true,
              message: 'The UI takes only the types of the wire format (import type), never its code.',
            },
          ],
        },
      ],
    },
  },
  layer('client', {
    folders: ['engines', 'auth', 'server', 'cli'],
    packages: [...drivers, 'fastify', '@fastify/*', 'pino', 'prom-client', 'commander'],
  }),
);
