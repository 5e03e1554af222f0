/** `annals groups ...`: look at and manage the consumer groups of a server (DESIGN.md section 7). */
import { Command, Option } from 'commander';
import Table from 'cli-table3';
import colors from 'picocolors';
import { strategies, type GroupInfo, type GroupSettingsInput, type GroupSource } from '../bus/groups/model.js';
import { groupInfoToJson, groupSettingsToJson, parkedEventToJson } from '../protocol/wire.js';
import { InvalidArgumentError } from '../store/errors.js';
import { clientCommand, countOf, printLine, printRows, withClient, type ConnectionOptions } from './options.js';

interface SettingsOptions extends ConnectionOptions {
  stream?: string;
  category?: string;
  types?: string;
  streams?: string;
  from?: string;
  strategy?: (typeof strategies)[number];
  ackTimeout?: string;
  maxRetries?: string;
  retryDelay?: string;
  maxInFlight?: string;
  maxPending?: string;
  consumerTimeout?: string;
  paused?: boolean;
}

const forPeople = (options: { json?: boolean }) => options.json !== true && process.stdout.isTTY === true;

/** A duration on the command line: milliseconds, or with a unit (`500ms`, `30s`, `5m`). */
const durationOf = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  const match = /^([0-9]{1,12})(ms|s|m|h)?$/.exec(value);
  if (match === null)
    throw new InvalidArgumentError(`${flag} is '${value}'; allowed: milliseconds, or a number with ms, s, m or h (e.g. 30s)`);
  const scale = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 }[(match[2] ?? 'ms') as 'ms' | 's' | 'm' | 'h'];
  return Number(match[1]) * scale;
};

/** A count that may be 0 (`--max-retries 0` parks at the first failure). */
const wholeOf = (flag: string, value: string | undefined): number | undefined => {
  if (value === undefined) return undefined;
  if (!/^[0-9]{1,15}$/.test(value)) throw new InvalidArgumentError(`${flag} is '${value}'; allowed: an integer >= 0`);
  return Number(value);
};

const list = (value: string) => value.split(',').map((item) => item.trim());

const sourceOf = (options: SettingsOptions): GroupSource | undefined => {
  const filter = options.types !== undefined || options.streams !== undefined;
  const given = [options.stream !== undefined, options.category !== undefined && !filter, filter].filter(Boolean).length;
  if (given > 1)
    throw new InvalidArgumentError('give one source: --stream, --category, or a filter (--types, --streams, and --category with them)');
  if (options.stream !== undefined) return { stream: options.stream };
  if (filter) {
    return {
      filter: {
        ...(options.types === undefined ? {} : { types: list(options.types) }),
        ...(options.streams === undefined ? {} : { streams: list(options.streams) }),
        ...(options.category === undefined ? {} : { category: options.category }),
      },
    };
  }
  if (options.category !== undefined) return { category: options.category };
  return undefined;
};

const mutableSettingsOf = (options: SettingsOptions): GroupSettingsInput => {
  const settings: GroupSettingsInput = {
    strategy: options.strategy,
    ackTimeoutMs: durationOf('--ack-timeout', options.ackTimeout),
    maxRetries: wholeOf('--max-retries', options.maxRetries),
    retryDelayMs: durationOf('--retry-delay', options.retryDelay),
    maxInFlight: countOf('--max-in-flight', options.maxInFlight),
    maxPending: countOf('--max-pending', options.maxPending),
    consumerTimeoutMs: durationOf('--consumer-timeout', options.consumerTimeout),
    paused: options.paused,
  };
  return Object.fromEntries(Object.entries(settings).filter(([, value]) => value !== undefined));
};

const withMutableOptions = (command: Command) =>
  command
    .addOption(new Option('--strategy <strategy>', 'how events are spread over consumers').choices([...strategies]))
    .option('--ack-timeout <duration>', 'a lease not acked within this goes to the next attempt (default 30s)')
    .option('--max-retries <n>', 'attempts after the first before an event is parked; 0 parks at the first failure (default 10)')
    .option('--retry-delay <duration>', 'wait before a retry, doubling each attempt up to 60s (default 1s)')
    .option('--max-in-flight <n>', 'leases one consumer holds at most (default 1000)')
    .option('--max-pending <n>', 'unsettled events the group reads ahead at most (default 10000)')
    .option('--consumer-timeout <duration>', 'a consumer silent this long leaves the list of consumers (default 60s)');

const sourceText = (source: GroupSource) =>
  'stream' in source
    ? `stream ${source.stream}`
    : 'category' in source
      ? `category ${source.category}`
      : 'filter' in source
        ? `filter ${JSON.stringify(source.filter)}`
        : 'all';

const rowOf = (info: GroupInfo) => ({
  name: info.name,
  state: info.state,
  source: sourceText(info.settings.source),
  strategy: info.settings.strategy,
  checkpoint: String(info.checkpoint),
  lag: `${info.lag.events}${info.lag.estimated ? '+' : ''} (${info.lag.seconds.toFixed(1)}s)`,
  inFlight: info.inFlight,
  parked: info.parked,
  consumers: info.consumers.length,
  rate: `${info.rate.toFixed(1)}/s`,
});

const columns = ['name', 'state', 'source', 'strategy', 'checkpoint', 'lag', 'inFlight', 'parked', 'consumers', 'rate'];

/** One group for people: a table of its fields, then its consumers. */
const printInfo = (info: GroupInfo) => {
  const json = groupInfoToJson(info);
  const table = new Table({ style: { head: [], border: [] } });
  const { consumers, settings, ...rest } = json;
  const lag = `${info.lag.events}${info.lag.estimated ? '+' : ''} events, oldest unsettled ${info.lag.seconds.toFixed(1)} s`;
  for (const [key, value] of Object.entries({ ...rest, lag, ...settings }))
    table.push({ [colors.bold(key)]: typeof value === 'object' ? JSON.stringify(value) : String(value) });
  process.stdout.write(`${table.toString()}\n`);
  if (consumers.length > 0) {
    const people = new Table({
      head: ['consumer', 'inFlight', 'lastSeenAt'].map((head) => colors.bold(head)),
      style: { head: [], border: [] },
    });
    for (const consumer of consumers) people.push([consumer.name, String(consumer.inFlight), consumer.lastSeenAt]);
    process.stdout.write(`${people.toString()}\n`);
  }
};

const listCommand = () =>
  clientCommand('list', 'list the groups: state, source, checkpoint, lag, leases, parked events, consumers').action(
    async (options: ConnectionOptions) => {
      await withClient(options, async (store) => {
        const groups = await store.groups.list();
        if (forPeople(options)) printRows(options, columns, groups.map(rowOf));
        else for (const info of groups) printLine(groupInfoToJson(info));
      });
    },
  );

const infoCommand = () =>
  clientCommand('info', 'show one group: settings, checkpoint, lag, leases, consumers, a replay under way')
    .argument('<name>', 'the group')
    .action(async (name: string, options: ConnectionOptions) => {
      await withClient(options, async (store) => {
        const info = await store.groups.info(name);
        if (forPeople(options)) printInfo(info);
        else printLine(groupInfoToJson(info));
      });
    });

const createCommand = () =>
  withMutableOptions(
    clientCommand('create', 'create a group; the same group again changes nothing, other settings are refused (use update)')
      .argument('<name>', 'the group')
      .option('--stream <stream>', 'deliver the events of this stream')
      .option('--category <category>', 'deliver the events of the streams of this category (or, with a filter, narrow it)')
      .option('--types <types>', 'filter: only events of these types (comma-separated)')
      .option('--streams <prefixes>', 'filter: only streams starting with these prefixes (comma-separated)')
      .option('--from <position>', "start after this position, or 'start' (default) or 'end' (the head now)")
      .option('--paused', 'create it paused: pulls get nothing until it is resumed'),
  )
    .addHelpText(
      'after',
      `
Without --stream, --category or a filter, the group delivers the whole log.

Examples:
  annals groups create billing --category order --strategy pinned
  annals groups create audit --types Placed,Paid --from end --ack-timeout 10s --max-retries 3`,
    )
    .action(async (name: string, options: SettingsOptions) => {
      await withClient(options, async (store) => {
        const source = sourceOf(options);
        const from = options.from;
        if (from !== undefined && from !== 'start' && from !== 'end' && !/^[0-9]{1,19}$/.test(from)) {
          throw new InvalidArgumentError(`--from is '${from}'; allowed: start, end or a position`);
        }
        const { created, settings } = await store.groups.create(name, {
          ...(source === undefined ? {} : { source }),
          ...(from === undefined ? {} : { from }),
          ...mutableSettingsOf(options),
        });
        printLine({ created, settings: groupSettingsToJson(settings) });
      });
    });

const updateCommand = () =>
  withMutableOptions(
    clientCommand('update', "change some of a group's settings (its source and start are fixed)")
      .argument('<name>', 'the group')
      .option('--pause', 'pause it: pulls get nothing, settles still count')
      .option('--resume', 'resume a paused group'),
  )
    .addHelpText(
      'after',
      `
Examples:
  annals groups update billing --max-retries 5 --retry-delay 2s
  annals groups update billing --pause`,
    )
    .action(async (name: string, options: SettingsOptions & { pause?: boolean; resume?: boolean }) => {
      if (options.pause === true && options.resume === true) throw new InvalidArgumentError('give --pause or --resume, not both');
      await withClient(options, async (store) => {
        const patch = mutableSettingsOf({
          ...options,
          paused: options.pause === true ? true : options.resume === true ? false : undefined,
        });
        if (Object.keys(patch).length === 0) throw new InvalidArgumentError('nothing to change: give a setting (see --help)');
        printLine(groupSettingsToJson(await store.groups.update(name, patch)));
      });
    });

const deleteCommand = () =>
  clientCommand('delete', 'delete a group with its leases and parked events (the events stay in the log)')
    .argument('<name>', 'the group')
    .action(async (name: string, options: ConnectionOptions) => {
      await withClient(options, async (store) => {
        await store.groups.delete(name);
        printLine({ deleted: name });
      });
    });

const parkedCommand = () =>
  clientCommand('parked', 'list the parked events of a group: position, stream, type, reason, attempts')
    .argument('<name>', 'the group')
    .option('--after <position>', 'start after this position (the `next` of the page before)')
    .option('--limit <n>', 'at most this many (1 to 1000)', '100')
    .action(async (name: string, options: ConnectionOptions & { after?: string; limit?: string }) => {
      await withClient(options, async (store) => {
        const page = await store.groups.parked(name, { after: options.after, limit: countOf('--limit', options.limit) });
        if (forPeople(options)) {
          printRows(
            options,
            ['position', 'stream', 'type', 'reason', 'attempts', 'parkedAt'],
            page.parked.map(({ event, reason, attempts, parkedAt }) => ({
              position: String(event.position),
              stream: event.stream,
              type: event.type,
              reason,
              attempts,
              parkedAt: parkedAt.toISOString(),
            })),
          );
          if (page.next !== undefined) process.stderr.write(colors.dim(`more: --after ${page.next}\n`));
        } else for (const parked of page.parked) printLine(parkedEventToJson(parked));
      });
    });

const positionsOf = (ids: string | undefined) => {
  if (ids === undefined) return undefined;
  const positions = list(ids);
  const bad = positions.find((id) => !/^[0-9]{1,19}$/.test(id));
  if (bad !== undefined) throw new InvalidArgumentError(`--ids has '${bad}'; allowed: positions of parked events (comma-separated)`);
  return positions;
};

/** `replay-parked` and `delete-parked`: the same selection of parked events, two actions. */
const parkedActionCommand = (command: string, description: string, act: 'replayParked' | 'deleteParked') =>
  clientCommand(command, description)
    .argument('<name>', 'the group')
    .option('--ids <positions>', 'only the parked events at these positions (comma-separated); default all of them')
    .option('--limit <n>', 'at most this many (oldest first)')
    .action(async (name: string, options: ConnectionOptions & { ids?: string; limit?: string }) => {
      await withClient(options, async (store) => {
        const ids = positionsOf(options.ids);
        printLine(await store.groups[act](name, ids === undefined ? { limit: countOf('--limit', options.limit) } : { ids }));
      });
    });

const replayParkedCommand = () =>
  parkedActionCommand('replay-parked', 'queue parked events again at attempt 1, in position order', 'replayParked');

const deleteParkedCommand = () =>
  parkedActionCommand('delete-parked', 'delete parked events for good (the events stay in the log)', 'deleteParked');

const replayCommand = () =>
  clientCommand('replay', 'deliver a past range of the log again, to this group only')
    .argument('<name>', 'the group')
    .requiredOption('--from <position>', 'first position (inclusive)')
    .option('--to <position>', "last position (inclusive); default the group's checkpoint")
    .option('--stream <stream>', 'only the events of this stream')
    .option('--category <category>', 'only the events of this category')
    .addHelpText(
      'after',
      `
Example:
  annals groups replay billing --from 1200 --to 1500 --category order`,
    )
    .action(async (name: string, options: ConnectionOptions & { from: string; to?: string; stream?: string; category?: string }) => {
      await withClient(options, async (store) => {
        const { from, to } = await store.groups.replay(name, {
          from: options.from,
          ...(options.to === undefined ? {} : { to: options.to }),
          ...(options.stream === undefined ? {} : { stream: options.stream }),
          ...(options.category === undefined ? {} : { category: options.category }),
        });
        printLine({ from: String(from), to: String(to) });
      });
    });

export const groupsCommand = () =>
  new Command('groups')
    .description('consumer groups: list, inspect, create, change, delete, parked events and replays')
    .addCommand(listCommand())
    .addCommand(infoCommand())
    .addCommand(createCommand())
    .addCommand(updateCommand())
    .addCommand(deleteCommand())
    .addCommand(parkedCommand())
    .addCommand(replayParkedCommand())
    .addCommand(deleteParkedCommand())
    .addCommand(replayCommand())
    .addHelpText(
      'after',
      `
Examples:
  annals groups create billing --category order --strategy pinned
  annals groups list
  annals groups info billing --json
  annals groups parked billing
  annals groups replay-parked billing --ids 1042,1077`,
    );
