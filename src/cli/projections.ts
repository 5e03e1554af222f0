/** `annals projections [info <name>]`: what the projection runners of a server report (DESIGN.md section 9). */
import { Command } from 'commander';
import Table from 'cli-table3';
import colors from 'picocolors';
import type { ProjectionInfo, ProjectionProgress } from '../projection/registry/model.js';
import { projectionInfoToJson, requestToJson } from '../protocol/wire.js';
import { clientCommand, printLine, printRows, withClient, type ConnectionOptions } from './options.js';

const forPeople = (options: { json?: boolean }) => options.json !== true && process.stdout.isTTY === true;

const progressText = ({ done, total, etaSeconds }: ProjectionProgress): string => {
  if (total === 0) return '-';
  const percent = Math.floor((100 * Math.min(done, total)) / total);
  return `${done}/${total} (${percent}%)${etaSeconds === null ? '' : `, ${Math.ceil(etaSeconds)}s left`}`;
};

const ago = (when: Date) => `${Math.max(0, Math.round((Date.now() - when.getTime()) / 1000))}s ago`;

const stateText = (state: ProjectionInfo['state']) =>
  state === 'running' ? colors.green(state) : state === 'paused' ? colors.yellow(state) : colors.red(state);

const rowOf = (info: ProjectionInfo) => ({
  name: info.name,
  version: info.version,
  'active version': info.activeVersion ?? '-',
  state: stateText(info.state),
  position: String(info.position),
  lag: info.lag,
  rate: `${info.rate.toFixed(1)}/s`,
  progress:
    info.rebuild === null ? progressText(info.progress) : `rebuild v${info.rebuild.version}: ${progressText(info.rebuild.progress)}`,
  host: info.host,
  heartbeat: ago(info.heartbeatAt),
});

const columns = ['name', 'version', 'active version', 'state', 'position', 'lag', 'rate', 'progress', 'host', 'heartbeat'];

/** One projection for people: a table of its fields, then its requests. */
const printInfo = (info: ProjectionInfo) => {
  const { requests, ...json } = projectionInfoToJson(info);
  const table = new Table({ style: { head: [], border: [] } });
  const shown = { ...json, state: stateText(info.state), heartbeatAt: `${json.heartbeatAt} (${ago(info.heartbeatAt)})` };
  for (const [key, value] of Object.entries(shown))
    table.push({ [colors.bold(key)]: typeof value === 'object' && value !== null ? JSON.stringify(value) : String(value) });
  process.stdout.write(`${table.toString()}\n`);
  if (requests.length === 0) return;
  const listed = new Table({
    head: ['request', 'kind', 'state', 'options', 'claimedBy', 'progress', 'updatedAt', 'error'].map((head) => colors.bold(head)),
    style: { head: [], border: [] },
  });
  for (const request of info.requests) {
    const { options } = requestToJson(request);
    listed.push([
      request.requestId,
      request.kind,
      request.state,
      JSON.stringify(options),
      request.claimedBy ?? '-',
      request.progress === null ? '-' : progressText(request.progress),
      request.updatedAt.toISOString(),
      request.error ?? '',
    ]);
  }
  process.stdout.write(`${listed.toString()}\n`);
};

const infoCommand = () =>
  clientCommand('info', 'show one projection: its report, and its open and recent requests')
    .argument('<name>', 'the projection')
    .action(async (name: string, options: ConnectionOptions) => {
      await withClient(options, async (store) => {
        const info = await store.projections.info(name);
        if (forPeople(options)) printInfo(info);
        else printLine(projectionInfoToJson(info));
      });
    });

const listCommand = () =>
  clientCommand('list', 'list the projections: version, state, position, lag, rate, progress, runner host, last heartbeat').action(
    async (options: ConnectionOptions) => {
      await withClient(options, async (store) => {
        const projections = await store.projections.list();
        if (forPeople(options)) printRows(options, columns, projections.map(rowOf));
        else for (const info of projections) printLine(projectionInfoToJson(info));
      });
    },
  );

export const projectionsCommand = () =>
  new Command('projections')
    .description('look at the projections runners report (list, the default, or info)')
    .addHelpText(
      'after',
      `
A projection shows as its runners last reported it; 'stale' when its runner has not reported for three
heartbeats. Steer one with 'annals replay --projection <name>'.

Examples:
  annals projections
  annals projections info orders`,
    )
    .addCommand(listCommand(), { isDefault: true })
    .addCommand(infoCommand());
