/** Real `annals` processes for end-to-end tests: a free port, a server that resolves once it listens, a stop. */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

export const root = new URL('../../../', import.meta.url).pathname;
export const cli = ['--import', 'tsx', 'src/cli/main.ts'];

export const freePort = async (): Promise<number> => {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
};

export interface ServerProcess {
  child: ChildProcess;
  /** Everything the server printed so far. */
  output: { stdout: string; stderr: string };
  exited: Promise<unknown[]>;
}

/** Starts `annals serve` and resolves once it listens (or has exited). */
export const serve = (args: string[], env: NodeJS.ProcessEnv = process.env) => startListening(['serve', ...args], env);

/** Starts an `annals` command that says `listening on <url>`, and resolves once it has (or has exited). */
export const startListening = async (args: string[], env: NodeJS.ProcessEnv = process.env): Promise<ServerProcess> => {
  const child = spawn(process.execPath, [...cli, ...args], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (chunk) => (output.stdout += chunk));
  child.stderr!.on('data', (chunk) => (output.stderr += chunk));
  const exited = once(child, 'exit');
  await Promise.race([
    new Promise<void>((resolve) => child.stderr!.on('data', () => output.stderr.includes('listening on') && resolve())),
    exited.then(() => undefined),
  ]);
  return { child, output, exited };
};

/** Stops a process with `signal` and resolves with its exit code. */
export const stop = async ({ child, exited }: { child: ChildProcess; exited: Promise<unknown[]> }, signal: NodeJS.Signals = 'SIGTERM') => {
  if (child.exitCode === null && child.signalCode === null) child.kill(signal);
  const [code] = await exited;
  return code;
};
