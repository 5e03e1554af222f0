/**
 * `annals replay --projection <name> | --group <name>`: asks for a replay, then follows it with a progress
 * bar until it ends. A projection's replay is a request its runner claims and carries out (DESIGN.md
 * section 9), followed through the request and the projection's report; a group's replay is done by the
 * server, followed through the group's `replay` cursor. Exits 0 when the replay is done, 1 otherwise.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { InvalidArgumentError } from '../store/errors.js';
import type { EventStore } from '../store/event-store.js';
import type { ProjectionReplayOptions, ProjectionRequest } from '../projection/registry/model.js';
import { clientCommand, countOf, withClient, type ConnectionOptions } from './options.js';
import { progressDisplay, type ProgressDisplay } from './progress.js';

interface ReplayOptions extends ConnectionOptions {
  projection?: string;
  group?: string;
  rebuild?: boolean;
  from?: string;
  to?: string;
  stream?: string;
  category?: string;
  fromTime?: string;
  toTime?: string;
  interval?: string;
}

const settledStates: ProjectionRequest['state'][] = ['done', 'failed', 'cancelled'];

/** A position flag, refused naming the flag when it is no position. */
const positionOf = (flag: string, value: string | undefined) => {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,19}$/.test(value)) throw new InvalidArgumentError(`${flag} is '${value}'; allowed: a position (digits)`);
  return BigInt(value);
};

const whatOf = (request: ProjectionRequest) => ((request.options as ProjectionReplayOptions).rebuild === true ? 'rebuild' : 'replay');

const followProjection = async (store: EventStore, name: string, requestId: string, display: ProgressDisplay, intervalMs: number) => {
  for (;;) {
    const request = await store.projections.request(name, requestId);
    if (settledStates.includes(request.state)) return request;
    const info = await store.projections.info(name);
    const stale = info.state === 'stale' ? ` (its runner is stale since ${info.heartbeatAt.toISOString()})` : '';
    const label = `${whatOf(request)} of ${name}: ${request.state}${stale}`;
    const progress = request.progress ?? (request.state === 'running' ? (info.rebuild?.progress ?? info.progress) : undefined);
    display.show({ label, ...(progress === undefined ? {} : { progress }) });
    await sleep(intervalMs);
  }
};

const replayProjection = async (store: EventStore, name: string, options: ReplayOptions, intervalMs: number) => {
  const from = positionOf('--from', options.from);
  const to = positionOf('--to', options.to);
  const asked: ProjectionReplayOptions = {
    ...(from === undefined ? {} : { from }),
    ...(to === undefined ? {} : { to }),
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    ...(options.category === undefined ? {} : { category: options.category }),
    ...(options.fromTime === undefined ? {} : { fromTime: options.fromTime }),
    ...(options.toTime === undefined ? {} : { toTime: options.toTime }),
    ...(options.rebuild === true ? { rebuild: true } : {}),
  };
  const { requestId } = await store.projections.replay(name, asked);
  process.stderr.write(`request ${requestId}\n`);
  const display = progressDisplay();
  let request: ProjectionRequest;
  try {
    request = await followProjection(store, name, requestId, display, intervalMs);
    if (request.progress !== null) display.show({ label: `${whatOf(request)} of ${name}: ${request.state}`, progress: request.progress });
  } finally {
    display.stop();
  }
  const what = `the ${whatOf(request)} of ${name}`;
  if (request.state !== 'done') throw new Error(`${what} ${request.state}${request.error === null ? '' : `: ${request.error}`}`);
  process.stdout.write(`${what} is done\n`);
};

const replayGroup = async (store: EventStore, name: string, options: ReplayOptions, intervalMs: number) => {
  const subsetOnly = (['rebuild', 'fromTime', 'toTime'] as const).find((key) => options[key] !== undefined);
  if (subsetOnly !== undefined) {
    const flag = { rebuild: '--rebuild', fromTime: '--from-time', toTime: '--to-time' }[subsetOnly];
    throw new InvalidArgumentError(
      `${flag} replays projections; a group replays a range of positions (--from, --to, --stream, --category)`,
    );
  }
  const to = positionOf('--to', options.to);
  const range = await store.groups.replay(name, {
    from: positionOf('--from', options.from) ?? 0n,
    ...(to === undefined ? {} : { to }),
    ...(options.stream === undefined ? {} : { stream: options.stream }),
    ...(options.category === undefined ? {} : { category: options.category }),
  });
  const total = Number(range.to - range.from + 1n);
  const display = progressDisplay();
  try {
    for (;;) {
      const { replay } = await store.groups.info(name);
      const done = replay === undefined ? total : Math.max(0, Math.min(total, Number(replay.next - range.from)));
      display.show({ label: `replay of group ${name} (${range.from} to ${range.to})`, progress: { done, total } });
      if (replay === undefined) break;
      await sleep(intervalMs);
    }
  } finally {
    display.stop();
  }
  process.stdout.write(`the replay of group ${name} is done\n`);
};

export const replayCommand = () =>
  clientCommand('replay', "replay a projection (through its runner) or a consumer group, and follow it until it's done")
    .option('--projection <name>', 'replay this projection')
    .option('--group <name>', 'replay this consumer group')
    .option('--rebuild', 'projection: rebuild it whole into a new build beside the serving one, then switch to it')
    .option('--from <position>', 'the first position to replay (inclusive)')
    .option('--to <position>', 'the last position to replay (inclusive)')
    .option('--stream <stream>', 'only the events of this stream')
    .option('--category <category>', 'only the events of the streams of this category')
    .option('--from-time <time>', 'projection: only events recorded at or after this RFC 3339 time')
    .option('--to-time <time>', 'projection: only events recorded at or before this RFC 3339 time')
    .option('--interval <ms>', 'how often to look at the progress, in milliseconds', '500')
    .addHelpText(
      'after',
      `
A projection's replay is carried out by its runner: the command waits while the request is pending (no
runner has claimed it), then shows the runner's progress. A progress bar on a terminal; plain lines when
the output is piped. Exits 0 when the replay is done, 1 when it failed or was cancelled.

Examples:
  annals replay --projection orders --rebuild
  annals replay --projection orders --category order --from-time 2026-01-01T00:00:00Z
  annals replay --group billing --from 1000 --to 2000`,
    )
    .action(async (options: ReplayOptions) => {
      if ((options.projection === undefined) === (options.group === undefined)) {
        throw new InvalidArgumentError('give one of --projection <name> or --group <name>');
      }
      const intervalMs = countOf('--interval', options.interval)!;
      await withClient(options, (store) =>
        options.projection !== undefined
          ? replayProjection(store, options.projection, options, intervalMs)
          : replayGroup(store, options.group!, options, intervalMs),
      );
    });
