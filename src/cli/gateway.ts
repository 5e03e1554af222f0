/**
 * `annals gateway --config gateway.json [--port N]`: runs the API gateway of DESIGN.md section 10, logs JSON
 * (pino), and shuts down cleanly on SIGINT or SIGTERM (a second signal exits at once).
 */
import { Command, InvalidArgumentError as CommanderError, Option } from 'commander';
import { pino } from 'pino';
import { loadGatewayConfig } from '../gateway/config/config.js';
import { createGateway } from '../gateway/gateway.js';
import { closeOnSignals } from './shutdown.js';

interface GatewayOptions {
  config: string;
  port?: string;
  logLevel: string;
}

const parsePort = (text: string): string => {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) throw new CommanderError(`'${text}' is not a port: give 0 to 65535`);
  return text;
};

const runGateway = async (options: GatewayOptions) => {
  const config = loadGatewayConfig(options.config);
  const listen = { ...config.listen, ...(options.port === undefined ? {} : { port: Number(options.port) }) };
  const log = pino(
    { level: options.logLevel, base: { service: 'annals-gateway' } },
    process.stdout.isTTY ? pino.transport({ target: 'pino-pretty' }) : undefined,
  );
  const { app } = await createGateway(config, { logger: log });
  closeOnSignals(() => app.close(), log, 'finishing requests in flight');
  await app.listen({ host: listen.host, port: listen.port });
  const address = app.server.address();
  const port = typeof address === 'object' && address !== null ? address.port : listen.port;
  const url = `http://${listen.host!.includes(':') ? `[${listen.host}]` : listen.host}:${port}`;
  log.info({ url, routes: config.routes.map((route) => route.prefix) }, 'listening');
  process.stderr.write(`Annals gateway listening on ${url} (routes ${config.routes.map((route) => route.prefix).join(', ')})\n`);
};

export const gatewayCommand = () =>
  new Command('gateway')
    .description('run the API gateway: routes, authentication, rate limits and health-checked upstreams (docs/gateway.md)')
    .requiredOption('--config <file>', 'the gateway configuration (JSON)')
    .addOption(new Option('--port <port>', 'port to listen on, over the config file (0: any free port)').argParser(parsePort))
    .addOption(
      new Option('--log-level <level>', 'log level')
        .choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace'])
        .env('ANNALS_LOG_LEVEL')
        .default('info'),
    )
    .action(runGateway);
