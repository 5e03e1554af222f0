/**
 * Every code block marked ```ts runnable or ```sh runnable in docs/*.md runs, as a user would run it: in
 * a fresh folder, with `annals` (the package, and the command) taken from these sources, and a server to
 * talk to (ANNALS_URL and ANNALS_TOKEN). A block that throws or exits non-zero fails its test, so no
 * example in the docs can rot.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { openEventStore } from '../src/engines/open.js';
import { createAuthenticator } from '../src/auth/tokens.js';
import { serveForTest } from '../src/server/testing/serve.js';

const docs = fileURLToPath(new URL('.', import.meta.url));
const sources = fileURLToPath(new URL('../src/', import.meta.url));
const token = 'docs-admin-token-0123456789';

/** The runnable blocks of a page, with the line each starts on. */
const examplesOf = (file: string) => {
  const examples: { line: number; language: 'ts' | 'sh'; code: string }[] = [];
  const lines = readFileSync(join(docs, file), 'utf8').split('\n');
  for (let index = 0; index < lines.length; index++) {
    const opening = /^```(ts|sh) runnable$/.exec(lines[index]!.trim());
    if (opening === null) continue;
    const end = lines.indexOf('```', index + 1);
    examples.push({ line: index + 1, language: opening[1] as 'ts' | 'sh', code: lines.slice(index + 1, end).join('\n') });
    index = end;
  }
  return examples;
};

const tsx = import.meta.resolve('tsx');

/** A TypeScript example as a module, or a shell example with `annals` standing for the command. */
const programOf = (language: 'ts' | 'sh', code: string): { file: string; source: string; command: string[] } =>
  language === 'ts'
    ? {
        file: 'example.mts',
        source: code
          .replaceAll("from 'annals/client'", `from '${join(sources, 'client/index.ts')}'`)
          .replaceAll("from 'annals'", `from '${join(sources, 'index.ts')}'`),
        command: [process.execPath, '--import', tsx, 'example.mts'],
      }
    : {
        file: 'example.sh',
        source: `set -eu\nannals() { "${process.execPath}" --import "${tsx}" "${join(sources, 'cli/main.ts')}" "$@"; }\n${code}\n`,
        command: ['sh', 'example.sh'],
      };

const run = (language: 'ts' | 'sh', code: string, env: Record<string, string>) => {
  const dir = mkdtempSync(join(tmpdir(), 'annals-example-'));
  const { file, source, command } = programOf(language, code);
  writeFileSync(join(dir, file), source);
  return new Promise<{ code: number | null; output: string }>((resolve) => {
    const child = spawn(command[0]!, command.slice(1), {
      cwd: dir,
      env: { ...process.env, ...env },
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('close', (exitCode) => {
      rmSync(dir, { recursive: true, force: true });
      resolve({ code: exitCode, output });
    });
  });
};

/** A fresh server for one example, so that examples never see each other's streams. */
const serveForExample = async () => {
  const store = await openEventStore({ engine: 'memory' });
  const served = await serveForTest(store, { authenticator: createAuthenticator([{ name: 'docs', role: 'admin', token }]), token });
  return { env: { ANNALS_URL: served.url, ANNALS_TOKEN: token }, close: () => served.client.close() };
};

describe('examples in the docs', () => {
  for (const file of readdirSync(docs)
    .filter((name) => name.endsWith('.md'))
    .sort()) {
    for (const { line, language, code } of examplesOf(file)) {
      it(`${file}:${line} runs`, async () => {
        const { env, close } = await serveForExample();
        const { code: exitCode, output } = await run(language, code, env).finally(close);
        if (exitCode !== 0) throw new Error(`the example at docs/${file}:${line} exited with ${exitCode}:\n${output}`);
      });
    }
  }
});
