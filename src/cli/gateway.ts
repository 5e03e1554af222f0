/**
 * `annals gateway --config gateway.json [--port N] [--workers N]`: runs the API gateway of DESIGN.md section
 * 10, logs JSON (pino), and shuts down cleanly on SIGINT or SIGTERM (a second signal exits at once). With
 * `--workers`, this process is the cluster's primary and each worker runs this same command.
 */
import cluster from 'node:cluster';
import { Command, InvalidArgumentError as CommanderError, Option } from 'commander';
import { pino } from 'pino';
import { loadGatewayConfig } from '../gateway/config/config.js';
import { createAsker } from '../gateway/cluster/ipc.js';
import { runGatewayPrimary } from '../gateway/cluster/primary.js';
import { createGateway } from '../gateway/gateway.js';
import { closeOnSignals } from './shutdown.js';

interface GatewayOptions {
  config: string;
  port?: string;
  workers?: number;
  logLevel: string;
}

const parsePort = (text: string): string => {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new CommanderError(`'${text}' is not a port: give 0 to 65535`);
  return text;
};

const parseWorkers = (text: string): number => {
  if (!/^\d{1,3}$/.test(text) || Number(text) < 1 || Number(text) > 256)
    throw new CommanderError(`'${text}' is not a worker count: give 1 to 256`);
  return Number(text);
};

const runGateway = async (options: GatewayOptions) => {
  const config = loadGatewayConfig(options.config);
  const listen = { ...config.listen, ...(options.port === undefined ? {} : { port: Number(options.port) }) };
  const log = pino(
    { level: options.logLevel, base: { service: 'annals-gateway', ...(cluster.isWorker ? { worker: cluster.worker!.id } : {}) } },
    process.stdout.isTTY ? pino.transport({ target: 'pino-pretty' }) : undefined,
  );
  const listening = (port: number, workers: string) => {
    const url = `http://${listen.host!.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;
    log.info({ url, routes: config.routes.map((route) => route.prefix) }, 'listening');
    process.stderr.write(
      `Annals gateway listening on ${url} (routes ${config.routes.map((route) => route.prefix).join(', ')}; ${workers})\n`,
    );
  };

  if (options.workers !== undefined && cluster.isPrimary) {
    const { address, stop } = await runGatewayPrimary({ workers: options.workers, log });
    closeOnSignals(stop, log, 'stopping the workers');
    listening(address.port, `${options.workers} worker${options.workers === 1 ? '' : 's'}`);
    return;
  }
  const { app } = await createGateway(config, { logger: log, ...(cluster.isWorker ? { primary: createAsker() } : {}) });
  if (cluster.isWorker) {
    // Ctrl-C reaches the whole process group; a worker waits for the primary's SIGTERM, so it is stopped once.
    process.on('SIGINT', () => {});
    closeOnSignals(() => app.close(), log, 'finishing requests in flight', ['SIGTERM']);
  } else closeOnSignals(() => app.close(), log, 'finishing requests in flight');
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  if (!cluster.isWorker) listening(typeof address === 'object' && address !== null ? address.port : listen.port, 'one process');
};

export const gatewayCommand = () =>
  new Command('gateway')
    .description('run the API gateway: routes, authentication, rate limits and health-checked upstreams (docs/gateway.md)')
    .requiredOption('--config <file>', 'the gateway configuration (JSON)')
    .addOption(new Option('--port <port>', 'port to listen on, over the config file (0: any free port)').argParser(parsePort))
    .addOption(
      new Option('--workers <n>', 'run N gateway processes sharing the port (node:cluster); a worker that dies is replaced').argParser(
        parseWorkers,
      ),
    )
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
        .env('ANNALS_LOG_LEVEL')
        .default('info'),
    )
    .action(runGateway);
