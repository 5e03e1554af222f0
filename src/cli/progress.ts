/**
 * How a command shows work under way: a progress bar (cli-progress) on a terminal, plain lines otherwise,
 * one whenever what is shown changes, so a log of the command reads as its history.
 */
import cliProgress from 'cli-progress';

export interface Shown {
  /** What is happening, e.g. `replay of orders: running`. */
  label: string;
  /** Undefined while there is nothing to count yet (a request no runner has claimed). */
  progress?: { done: number; total: number; etaSeconds?: number | null };
}

export interface ProgressDisplay {
  show(shown: Shown): void;
  stop(): void;
}

const percentOf = ({ done, total }: { done: number; total: number }) =>
  total === 0 ? 100 : Math.floor((100 * Math.min(done, total)) / total);

const barDisplay = (stream: NodeJS.WriteStream): ProgressDisplay => {
  const bar = new cliProgress.SingleBar(
    { format: '{label} [{bar}] {percentage}% | {value}/{total}{remaining}', stream, hideCursor: true },
    cliProgress.Presets.shades_classic,
  );
  let started = false;
  return {
    // Nothing to count yet (a request not claimed): an empty bar.
    show({ label, progress = { done: 0, total: 1 } }) {
      // The worker's own estimate: the bar's would count the time the command spent waiting for a claim.
      const payload = { label, remaining: progress.etaSeconds == null ? '' : ` | ${Math.ceil(progress.etaSeconds)}s left` };
      if (!started) bar.start(progress.total, progress.done, payload);
      started = true;
      bar.setTotal(progress.total);
      bar.update(Math.min(progress.done, progress.total), payload);
    },
    stop: () => bar.stop(),
  };
};

const lineDisplay = (stream: NodeJS.WriteStream): ProgressDisplay => {
  let last = '';
  return {
    show({ label, progress }) {
      const line = progress === undefined ? label : `${label} ${progress.done}/${progress.total} (${percentOf(progress)}%)`;
      if (line !== last) stream.write(`${line}\n`);
      last = line;
    },
    stop: () => undefined,
  };
};

/** On `stream`: stdout, or stderr when stdout carries the command's data (`annals export` without `--out`). */
export const progressDisplay = (stream: NodeJS.WriteStream = process.stdout): ProgressDisplay =>
  stream.isTTY === true ? barDisplay(stream) : lineDisplay(stream);
