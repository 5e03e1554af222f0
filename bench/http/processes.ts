/**
 * The processes of the HTTP benchmarks: the server (`serve.ts`) and load generators each run in a process
 * of their own, so that each gets a core, as on real machines, and the server's CPU can be read apart.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { closeSync, openSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { root } from '../../src/cli/testing/processes.js';

const serverScript = fileURLToPath(new URL('./serve.ts', import.meta.url));

/** Starts a TypeScript script in a child node process; its stdout is read line by line. */
export const spawnScript = (
  script: string,
  args: string[],
): { child: ChildProcess; lines: AsyncIterator<string>; exited: Promise<unknown> } => {
  const child = spawn(process.execPath, ['--import', 'tsx', script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  return { child, lines: createInterface({ input: child.stdout! })[Symbol.asyncIterator](), exited };
};

/** Runs the server script in a child process until `work` is done with its URL (and process id). */
export const withServer = async <T>(args: string[], work: (url: string, pid: number) => Promise<T>): Promise<T> => {
  const { child, lines, exited } = spawnScript(serverScript, args);
  try {
    const url = await Promise.race([lines.next().then((line) => (line.done ? undefined : line.value)), exited.then(() => undefined)]);
    if (url === undefined) throw new Error(`the ${args[0]} server did not start`);
    return await work(url, child.pid!);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
};

export interface LoggedProcess {
  child: ChildProcess;
  /** The first line of the log that matched `ready`. */
  line: string;
  /** Sends SIGTERM and resolves once the process has exited. */
  stop(): Promise<void>;
}

/**
 * Starts `node --import tsx <args>` from the repository's root with stdout and stderr going to the file
 * `log`, not through a pipe to this process: a gateway logs each request, and reading those lines here
 * would take CPU from the processes under test. Resolves with the first log line matching `ready`; throws
 * with the log's tail if the process exits first or takes more than 60 s.
 */
export const startLogged = async (
  args: string[],
  options: { log: string; ready: RegExp; env?: NodeJS.ProcessEnv },
): Promise<LoggedProcess> => {
  const fd = openSync(options.log, 'a');
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    cwd: root,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', fd, fd],
  });
  closeSync(fd);
  const exited = once(child, 'exit');
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
  };
  const deadline = Date.now() + 60_000;
  for (;;) {
    const log = readFileSync(options.log, 'utf8');
    const line = log.split('\n').find((each) => options.ready.test(each));
    if (line !== undefined) return { child, line, stop };
    if (child.exitCode !== null || child.signalCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`${args.join(' ')} did not start; its log ends:\n${log.slice(-2000)}`);
    }
    await sleep(50);
  }
};

/** Clock ticks per second of `/proc/<pid>/stat`: 100 on every Linux that Node supports. */
const ticksPerSecond = 100;

/** CPU seconds (user + system) a process has used so far, from `/proc`; undefined where there is none. */
export const cpuSecondsOf = (pid: number): number | undefined => {
  try {
    // The command name, in parentheses, may hold spaces: the fields are counted from after it.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return undefined;
  }
};

/** CPU seconds a process and its descendants (a gateway's cluster workers) have used so far, from `/proc`. */
export const treeCpuSecondsOf = (pid: number): number => {
  let children: number[] = [];
  try {
    children = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').split(' ').filter(Boolean).map(Number);
  } catch {
    // Gone, or no /proc: counted as nothing.
  }
  return children.reduce((sum, child) => sum + treeCpuSecondsOf(child), cpuSecondsOf(pid) ?? 0);
};

/** Busy and total CPU seconds of the whole machine so far (every core), from `/proc/stat`. */
export const machineCpuSeconds = (): { busy: number; total: number } => {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.split(/\s+/).slice(1, 9).map(Number);
    const total = fields.reduce((sum, each) => sum + each, 0);
    // idle and iowait are the 4th and 5th fields.
    return { busy: (total - fields[3]! - fields[4]!) / ticksPerSecond, total: total / ticksPerSecond };
  } catch {
    return { busy: Number.NaN, total: Number.NaN };
  }
};
